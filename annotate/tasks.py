"""Celery tasks: thin wrappers around annotate.jobs."""

from celery import shared_task

from annotate import jobs


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_prediction_shard(shard_id):
    jobs.run_shard(shard_id)


def enqueue_prediction_shards(job_id, shard_ids):
    if not shard_ids:
        jobs.finish_job(job_id)
    for shard_id in shard_ids:
        run_prediction_shard.apply_async((shard_id,), queue="gpu")
