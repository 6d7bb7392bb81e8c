from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"

    def ready(self):
        from annotate import jobs, tasks

        jobs.send_shards_with(tasks.enqueue_prediction_shards)
