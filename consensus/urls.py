from django.urls import path

from consensus import api, quality_urls, views

api_urlpatterns = [
    path("datasets/<slug:name>/consensus/", api.DatasetConsensus.as_view(), name="api-dataset-consensus"),
    path("datasets/<slug:name>/aggregate/", api.DatasetAggregate.as_view(), name="api-dataset-aggregate"),
    path("datasets/<slug:name>/adjudication/", api.AdjudicationQueue.as_view(), name="api-adjudication-queue"),
    path("review-items/<int:pk>/adjudication/", api.ItemAdjudication.as_view(), name="api-item-adjudication"),
    *quality_urls.api_urlpatterns,
]

page_urlpatterns = [
    path("datasets/<slug:name>/consensus/", views.consensus_page, name="consensus"),
    path("datasets/<slug:name>/adjudication/", views.adjudication_page, name="adjudication"),
    *quality_urls.page_urlpatterns,
]
