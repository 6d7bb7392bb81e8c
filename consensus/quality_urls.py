"""Quality control: golden items and agreement between reviewers."""

from django.urls import path

from consensus import quality_api, quality_views

api_urlpatterns = [
    path("datasets/<slug:name>/agreement/", quality_api.DatasetAgreement.as_view(), name="api-dataset-agreement"),
    path("datasets/<slug:name>/golden/", quality_api.GoldenList.as_view(), name="api-dataset-golden"),
    path(
        "datasets/<slug:name>/golden/accuracy/",
        quality_api.GoldenAccuracy.as_view(),
        name="api-dataset-golden-accuracy",
    ),
    path("golden-items/<int:pk>/", quality_api.GoldenDetail.as_view(), name="api-golden-item"),
]

page_urlpatterns = [
    path("datasets/<slug:name>/agreement/", quality_views.agreement_page, name="dataset-agreement"),
    path("datasets/<slug:name>/golden/", quality_views.golden_page, name="dataset-golden"),
]
