from django.urls import path

from testsets import api, views

api_urlpatterns = [
    path("testsets/<slug:name>/tasks/next/", api.NextTask.as_view(), name="api-testset-next-task"),
    path(
        "testsets/<slug:name>/tasks/<int:pk>/assignment/",
        api.TaskAssignment.as_view(),
        name="api-testset-task-assignment",
    ),
]

page_urlpatterns = [
    path("<slug:name>/annotate/", views.annotate_page, name="testset-annotate"),
    path("task-images/<str:token>.jpg", views.task_image, name="testset-task-image"),
]
