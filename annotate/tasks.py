"""Celery tasks: thin wrappers around annotate.jobs, and the recovery of a broker that lost its messages."""

import logging

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from annotate import jobs, sharded_jobs

logger = logging.getLogger(__name__)
# Set in the broker's Redis by the first worker to connect; gone when Redis restarts without its data.
BROKER_MARKER = "relabel:broker-marker"


# Jobs keep their progress in the database: no result goes to Redis.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_prediction_shard(shard_id):
    jobs.run_shard(shard_id)


def runs_in_process():
    """No broker (no REDIS_URL, the demo): jobs run in a thread of the web process, not on workers."""
    return run_prediction_shard.app.conf.task_always_eager


def send_shards_with(kind, task, queue="gpu"):
    """Let the kind's shards go to `task` on the workers of `queue`, or without a broker to the web process's
    thread; called by each app that has a kind of sharded job, when it is ready."""

    def send(job_id, shard_ids):
        if runs_in_process():
            sharded_jobs.background_jobs.submit(kind, job_id, shard_ids)
        else:
            for shard_id in shard_ids:
                task.apply_async((shard_id,), queue=queue)

    kind.send = send


def requeue_if_broker_lost():
    """Called by each worker whenever it (re)connects to the broker (config.celery). A Redis restarted
    without persistence has lost every queued and unacknowledged shard; then the first worker back queues
    the unfinished shards again. A shard that was not lost runs twice at worst, and its second run finds it
    done (or adds nothing: predictions are unique per model and image)."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return 0
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    if not client.set(BROKER_MARKER, timezone.now().isoformat(), nx=True):
        return 0
    unfinished = sharded_jobs.unfinished_shards()
    for kind, shard_ids in unfinished:
        kind.send(None, shard_ids)
    count = sum(len(shard_ids) for _, shard_ids in unfinished)
    if count:
        logger.warning("the broker had lost its data: %d unfinished shards queued again", count)
    return count
