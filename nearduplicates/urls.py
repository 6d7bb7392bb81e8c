from django.urls import path

from nearduplicates import api, views

api_urlpatterns = [
    path("searches/", api.Searches.as_view(), name="api-near-duplicate-searches"),
    path("searches/<int:pk>/", api.SearchDetail.as_view(), name="api-near-duplicate-search"),
    path("searches/<int:pk>/cancel/", api.SearchCancel.as_view(), name="api-near-duplicate-search-cancel"),
    path("thresholds/", api.Thresholds.as_view(), name="api-near-duplicate-thresholds"),
    path("thresholds/<str:metric>/", api.ThresholdDetail.as_view(), name="api-near-duplicate-threshold"),
    path("review/", api.ReviewQueueView.as_view(), name="api-near-duplicate-review"),
    path("candidates/<int:pk>/", api.CandidateDetail.as_view(), name="api-near-duplicate-candidate"),
    path("candidates/<int:pk>/verdict/", api.CandidateVerdict.as_view(), name="api-near-duplicate-verdict"),
    path("candidates/<int:pk>/override/", api.CandidateOverride.as_view(), name="api-near-duplicate-override"),
    path("groups/", api.DuplicateGroups.as_view(), name="api-near-duplicate-groups"),
    path("export/", api.NeighbourExport.as_view(), name="api-near-duplicate-export"),
]

page_urlpatterns = [
    path("", views.near_duplicates_page, name="testset-near-duplicates"),
    path("review/", views.review_page, name="testset-near-duplicate-review"),
]
