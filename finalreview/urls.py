from django.urls import path

from finalreview import api, views

api_urlpatterns = [
    path("classes/", api.ReviewClassList.as_view(), name="api-final-review-classes"),
    path("classes/<str:wnid>/", api.ReviewClassDetail.as_view(), name="api-final-review-class"),
    path("classes/<str:wnid>/marks/", api.ReviewClassMarks.as_view(), name="api-final-review-marks"),
]

page_urlpatterns = [
    path("", views.review_page, name="testset-final-review"),
]
