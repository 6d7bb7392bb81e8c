from django.urls import path

from testsets import api, browse_api, views, workflow_api, workflow_views

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
    # The admins' class overview and candidate browser (testsets/browse_api.py).
    path("testsets/<slug:name>/classes/", browse_api.TestSetClassList.as_view(), name="api-testset-classes"),
    path(
        "testsets/<slug:name>/classes/<str:wnid>/candidates/",
        browse_api.ClassCandidates.as_view(),
        name="api-testset-class-candidates",
    ),
    path(
        "testsets/<slug:name>/classes/<str:wnid>/reference/",
        browse_api.ClassReference.as_view(),
        name="api-testset-class-reference",
    ),
    # The admins' sampling preview, revisions made datasets and exported, tasks and selections (workflow_api.py).
    path("testsets/<slug:name>/revisions/preview/", api.RevisionPreview.as_view(), name="api-testset-revision-preview"),
    path(
        "testsets/<slug:name>/revisions/<int:number>/dataset/",
        workflow_api.RevisionDataset.as_view(),
        name="api-testset-revision-dataset",
    ),
    path(
        "testsets/<slug:name>/revisions/<int:number>/export/",
        workflow_api.RevisionDownload.as_view(),
        name="api-testset-revision-export",
    ),
    path("testsets/<slug:name>/tasks/", workflow_api.FrequencyTasks.as_view(), name="api-testset-tasks"),
    path(
        "testsets/<slug:name>/tasks/export/",
        workflow_api.FrequencyTasksExport.as_view(),
        name="api-testset-tasks-export",
    ),
    path("testsets/<slug:name>/selections/", workflow_api.SelectionsImport.as_view(), name="api-testset-selections"),
    path("testsets/<slug:name>/frequencies/", workflow_api.FrequenciesExport.as_view(), name="api-testset-frequencies"),
    path("testsets/<slug:name>/tasks/next/", api.NextTask.as_view(), name="api-testset-next-task"),
    path(
        "testsets/<slug:name>/tasks/<int:pk>/assignment/",
        api.TaskAssignment.as_view(),
        name="api-testset-task-assignment",
    ),
]

page_urlpatterns = [
    # The admins' list, overview and class browser (and, for annotators, the list of grids).
    path("", views.testsets_page, name="testsets"),
    path("<slug:name>/", views.testset_page, name="testset"),
    path("<slug:name>/classes/<str:wnid>/", views.testset_class_page, name="testset-class"),
    path("<slug:name>/annotate/", views.annotate_page, name="testset-annotate"),
    # The admins' annotator quality, sampling form and revisions (workflow_views.py).
    path("<slug:name>/annotators/", workflow_views.annotators_page, name="testset-annotators"),
    path("<slug:name>/revisions/", workflow_views.revisions_page, name="testset-revisions"),
    path("<slug:name>/revisions/<int:number>/", workflow_views.revision_page, name="testset-revision"),
    path(
        "<slug:name>/revisions/<int:number>/compare/<int:other>/",
        workflow_views.compare_page,
        name="testset-revision-compare",
    ),
    path("task-images/<str:token>.jpg", views.task_image, name="testset-task-image"),
]
