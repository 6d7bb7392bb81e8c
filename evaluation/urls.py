from django.urls import path

from evaluation import api, score_api, views

api_urlpatterns = [
    path("scores/", score_api.ScoreList.as_view(), name="api-evaluation-scores"),
    path("scores/drops/", score_api.ScoreDrops.as_view(), name="api-evaluation-score-drops"),
    path("results/", score_api.Results.as_view(), name="api-evaluation-results"),
    path("phases/", api.PhaseList.as_view(), name="api-evaluation-phases"),
    path("phases/<int:pk>/", api.PhaseDetail.as_view(), name="api-evaluation-phase"),
    path("phases/<int:pk>/open/", api.PhaseOpen.as_view(), name="api-evaluation-open"),
    path("phases/<int:pk>/close/", api.PhaseClose.as_view(), name="api-evaluation-close"),
    path("phases/<int:pk>/next/", api.PhaseNext.as_view(), name="api-evaluation-next"),
    path("phases/<int:pk>/answers/", api.PhaseAnswers.as_view(), name="api-evaluation-answers"),
    path(
        "phases/<int:pk>/participant-images/",
        api.PhaseParticipantImages.as_view(),
        name="api-evaluation-participant-images",
    ),
]

page_urlpatterns = [
    path("", views.phase_list, name="evaluation"),
    path("results/", views.results_page, name="results"),
    path("phases/<int:pk>/", views.phase_page, name="evaluation-phase"),
    path("phases/<int:pk>/open/", views.phase_open, name="evaluation-open"),
    path("phases/<int:pk>/close/", views.phase_close, name="evaluation-close"),
    path("phases/<int:pk>/label/", views.label_page, name="evaluation-label"),
    path("phases/<int:pk>/images/<str:token>.jpg", views.phase_image, name="evaluation-image"),
]
