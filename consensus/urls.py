from consensus import quality_urls

api_urlpatterns = [*quality_urls.api_urlpatterns]

page_urlpatterns = [*quality_urls.page_urlpatterns]
