from django.urls import path

from annotate import api, batch_api, browse_api, prediction_api, views

api_urlpatterns = [
    path("datasets/", api.DatasetList.as_view(), name="api-datasets"),
    path("datasets/<slug:name>/", api.DatasetDetail.as_view(), name="api-dataset"),
    path("datasets/<slug:name>/progress/", api.DatasetProgress.as_view(), name="api-dataset-progress"),
    path("datasets/<slug:name>/manifest/", api.ManifestUpload.as_view(), name="api-dataset-manifest"),
    path("datasets/<slug:name>/imports/", batch_api.ImportBatchList.as_view(), name="api-dataset-imports"),
    path("datasets/<slug:name>/images/", browse_api.DatasetImages.as_view(), name="api-dataset-images"),
    path("imports/<int:pk>/undo/", batch_api.ImportBatchUndo.as_view(), name="api-import-undo"),
    path("models/", api.ModelList.as_view(), name="api-models"),
    path("models/<str:name>/predictions/", api.PredictionUpload.as_view(), name="api-model-predictions"),
    path("models/<str:name>/", prediction_api.ModelDetail.as_view(), name="api-model"),
    path("prediction-jobs/", prediction_api.PredictionJobList.as_view(), name="api-prediction-jobs"),
    path("prediction-jobs/<int:pk>/", prediction_api.PredictionJobDetail.as_view(), name="api-prediction-job"),
    path(
        "prediction-jobs/<int:pk>/cancel/",
        prediction_api.PredictionJobCancel.as_view(),
        name="api-prediction-job-cancel",
    ),
    path("review/next/", api.NextImage.as_view(), name="api-review-next"),
    path("images/<int:pk>/", api.ImageReview.as_view(), name="api-image"),
    path("images/<int:pk>/history/", api.ImageHistory.as_view(), name="api-image-history"),
    path("images/<int:pk>/lease/", api.ImageLease.as_view(), name="api-image-lease"),
    path("images/<int:pk>/problematic/", api.ImageProblematic.as_view(), name="api-image-problematic"),
    path("review-items/<int:pk>/verdict/", api.ItemVerdict.as_view(), name="api-item-verdict"),
    path("suggestions/<int:pk>/resolve/", api.SuggestionResolve.as_view(), name="api-suggestion-resolve"),
]

page_urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/", views.home, name="datasets"),
    path("datasets/<slug:name>/", views.dataset_page, name="dataset"),
    path("datasets/<slug:name>/review/", views.review_page, name="review"),
    path("datasets/<slug:name>/images/", views.images_page, name="dataset-images"),
    path("jobs/", views.jobs_page, name="jobs"),
    path("jobs/<int:pk>/", views.job_page, name="job"),
    path("models/", views.models_page, name="models"),
    path("models/<str:name>/", views.model_page, name="model"),
    path("images/<int:pk>/display", views.image_display, name="image-display"),
    path("images/<int:pk>/original", views.image_original, name="image-original"),
]
