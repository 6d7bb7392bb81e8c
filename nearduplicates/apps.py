from django.apps import AppConfig


class NearDuplicatesConfig(AppConfig):
    name = "nearduplicates"
    verbose_name = "Near-duplicate search"

    def ready(self):
        from annotate.tasks import send_shards_with
        from nearduplicates import jobs, selectors, tasks
        from testsets.holds import hold_back_with

        send_shards_with(jobs.FEATURES, tasks.run_feature_shard)
        send_shards_with(jobs.SEARCHES, tasks.run_search_shard)
        hold_back_with(selectors.held_back_candidates)
