from django.urls import path

from interchange import api

api_urlpatterns = [
    path("datasets/<slug:name>/export/", api.MultilabelExport.as_view(), name="api-dataset-export"),
    path("datasets/<slug:name>/multilabel/", api.MultilabelImport.as_view(), name="api-dataset-multilabel"),
]
