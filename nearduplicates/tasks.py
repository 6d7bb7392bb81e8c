"""Celery tasks of near-duplicate search: thin wrappers around nearduplicates.jobs."""

from celery import shared_task

from nearduplicates import jobs


# Jobs keep their progress in the database: no result goes to Redis.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_feature_shard(shard_id):
    jobs.run_feature_shard(shard_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_search_shard(shard_id):
    jobs.run_search_shard(shard_id)
