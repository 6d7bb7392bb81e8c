from django.urls import path

from training import api, views

api_urlpatterns = [
    path("tasks/", api.TaskList.as_view(), name="api-training-tasks"),
    path("tasks/<int:pk>/", api.TaskDetail.as_view(), name="api-training-task"),
    path("tasks/<int:pk>/next/", api.TaskNext.as_view(), name="api-training-next"),
    path("tasks/<int:pk>/answers/", api.TaskAnswers.as_view(), name="api-training-answers"),
    path("answers/<int:pk>/suggestions/", api.AnswerSuggestions.as_view(), name="api-training-suggestions"),
    path("stats/", api.TraineeStats.as_view(), name="api-training-stats"),
    path("hierarchy/", api.Hierarchy.as_view(), name="api-training-hierarchy"),
]

page_urlpatterns = [
    path("", views.task_list, name="training"),
    path("tasks/new/", views.task_new, name="training-task-new"),
    path("tasks/<int:pk>/label/", views.label_page, name="training-label"),
    path("stats/", views.stats_page, name="training-stats"),
]
