"""Quality control: golden items and agreement between reviewers."""

api_urlpatterns = []

page_urlpatterns = []
