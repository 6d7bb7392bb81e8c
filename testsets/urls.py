from django.urls import path

from testsets import api, views

api_urlpatterns = [
    path("testsets/", api.TestSets.as_view(), name="api-testsets"),
    path("testsets/<slug:name>/", api.TestSetDetail.as_view(), name="api-testset"),
    path(
        "testsets/<slug:name>/candidates/<int:pk>/blacklist/",
        api.CandidateBlacklist.as_view(),
        name="api-testset-candidate-blacklist",
    ),
    path("testsets/<slug:name>/revisions/", api.TestSetRevisions.as_view(), name="api-testset-revisions"),
    path(
        "testsets/<slug:name>/revisions/<int:number>/compare/<int:other>/",
        api.RevisionCompare.as_view(),
        name="api-testset-revision-compare",
    ),
    path("testsets/<slug:name>/annotators/", api.TestSetAnnotators.as_view(), name="api-testset-annotators"),
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
