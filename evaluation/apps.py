from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation phases and scoring"

    def ready(self):
        from annotate import access
        from evaluation.selectors import phase_images_closed_to

        access.close_images_with(phase_images_closed_to)
