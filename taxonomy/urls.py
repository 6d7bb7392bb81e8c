from django.urls import path

from taxonomy import api

api_urlpatterns = [
    path("synsets/", api.SynsetSearch.as_view(), name="api-synsets"),
    path("synsets/<str:wnid>/", api.SynsetDetail.as_view(), name="api-synset"),
]
