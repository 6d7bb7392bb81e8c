from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"

    def ready(self):
        from annotate import jobs, tasks

        tasks.send_shards_with(jobs.PREDICTIONS, tasks.run_prediction_shard)
