from django.apps import AppConfig


class FinalReviewConfig(AppConfig):
    name = "finalreview"
    verbose_name = "Final review"
