from django.apps import AppConfig


class LabelguideConfig(AppConfig):
    name = "labelguide"
    verbose_name = "Labeling guide"
