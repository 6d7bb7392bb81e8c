"""Prediction jobs: split a dataset into shards, run each shard on a worker, finish the job.

A shard writes all its rows in one transaction and ignores rows that already exist,
so a shard redone after a killed worker adds no duplicates and leaves no partial rows.
Without a broker (no REDIS_URL) one background thread of the web process takes the shards instead.
"""

import functools
import logging
import queue
import socket
import threading
import time

from django.db import connections, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

import taxonomy
from annotate import prediction_blocks
from annotate.checks import check_model_name
from annotate.errors import InferenceError
from annotate.models import (
    FINISHED_JOB_STATES,
    ClassifierModel,
    Image,
    JobState,
    Prediction,
    PredictionFailure,
    PredictionJob,
    PredictionShard,
)
from annotate.review_items import sync_review_items
from annotate.selectors import dataset_named

logger = logging.getLogger(__name__)

DEFAULT_SHARD_SIZE = 256
DEFAULT_BATCH_SIZE = 64


def model_name_for(spec):
    if spec.random:
        return f"{spec.architecture} (random weights)"
    if spec.checkpoint:
        return f"{spec.architecture} ({spec.label()})"
    return f"{spec.architecture} ({spec.validate().name})"


def start_prediction_job(
    *,
    architecture,
    dataset_name,
    weights="DEFAULT",
    batch_size=DEFAULT_BATCH_SIZE,
    shard_size=DEFAULT_SHARD_SIZE,
    name=None,
    user=None,
    enqueue=None,
):
    """Create a job over the dataset's images that this model has not predicted yet, and queue its shards (with
    `enqueue(job_id, shard_ids)` where given, else as send_shards_with registered)."""
    from annotate.inference import ModelSpec  # torch loads only where models are used, not in every web process

    spec = ModelSpec(architecture, weights)
    spec.validate()
    if not 1 <= batch_size <= 4096 or not 1 <= shard_size <= 100_000:
        raise InferenceError("batch size must be 1-4096 and shard size 1-100000")
    dataset = dataset_named(dataset_name)
    name = check_model_name(name or model_name_for(spec))
    with transaction.atomic():
        model, _ = ClassifierModel.objects.get_or_create(
            name=name,
            defaults={"architecture": architecture, "weights": weights, "random_weights": spec.random},
        )
        if (model.architecture, model.weights) != (architecture, weights):
            made_of = f"{model.architecture} {model.weights}" if model.architecture else "imported predictions"
            raise InferenceError(f"model {model.name!r} exists with {made_of}; choose another name")
        todo = list(
            Image.objects.filter(dataset=dataset)
            .exclude(file="")
            .exclude(predictions__model=model)
            .exclude(prediction_failures__model=model)
            .order_by("position")
            .values_list("pk", flat=True)
        )
        job = PredictionJob.objects.create(
            model=model,
            dataset=dataset,
            batch_size=batch_size,
            shard_size=shard_size,
            images_total=len(todo),
            created_by=user,
        )
        PredictionShard.objects.bulk_create(
            PredictionShard(job=job, index=i, image_ids=todo[start : start + shard_size])
            for i, start in enumerate(range(0, len(todo), shard_size))
        )
        shard_ids = list(job.shards.values_list("pk", flat=True))
        transaction.on_commit(functools.partial(_queue_shards, enqueue or _send_shards, job.pk, shard_ids))
    return job


def send_shards_with(enqueue):
    """Register `enqueue(job_id, shard_ids)`, which hands a new job's shards to whatever runs them: Celery workers
    or the web process's own thread (annotate.tasks, from AnnotateConfig.ready())."""
    global _send_shards
    _send_shards = enqueue


_send_shards = None


def _queue_shards(enqueue, job_id, shard_ids):
    # A job with nothing to predict is done at once: no shard will ever finish it.
    if not shard_ids:
        finish_job(job_id)
    else:
        enqueue(job_id, shard_ids)


@functools.cache
def _classifier(architecture, weights, batch_size):
    from annotate.inference import Classifier, ModelSpec

    return Classifier(ModelSpec(architecture, weights), batch_size=batch_size)


def run_shard(shard_id):
    """Predict the shard's images not yet done; called by a worker, possibly again after a crash."""
    shard = PredictionShard.objects.select_related("job", "job__model").get(pk=shard_id)
    job = shard.job
    if job.state in FINISHED_JOB_STATES or shard.state in FINISHED_JOB_STATES:
        return
    now = timezone.now()
    PredictionJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(state=JobState.RUNNING, started_at=now)
    PredictionShard.objects.filter(pk=shard.pk).update(
        state=JobState.RUNNING, attempts=F("attempts") + 1, started_at=now, worker=socket.gethostname()[:200]
    )
    try:
        classifier = _classifier(job.model.architecture, job.model.weights, job.batch_size)
    except InferenceError as exc:
        fail_job(job.pk, str(exc))
        return
    images = (
        Image.objects.filter(pk__in=shard.image_ids)
        .exclude(predictions__model=job.model)
        .order_by("position")
        .only("pk", "file")
    )
    cancelled = False

    def still_wanted():
        nonlocal cancelled
        cancelled = PredictionJob.objects.filter(pk=job.pk, state=JobState.CANCELLED).exists()
        return not cancelled

    wnids = taxonomy.class_wnids()
    predictions, failures = [], []
    for image_id, top, probabilities, error in classifier.predict(_read_files(images), on_batch=still_wanted):
        if error:
            failures.append(PredictionFailure(model=job.model, image_id=image_id, reason=error[:2000]))
            continue
        top_wnids = [wnids[i] for i in top]
        predictions.append(
            Prediction(
                model=job.model,
                image_id=image_id,
                top1_wnid=top_wnids[0],
                wnids=top_wnids,
                scores=[round(p, 6) for p in probabilities],
            )
        )
    if cancelled:
        return
    with transaction.atomic():
        prediction_blocks.forget(job.model_id)
        Prediction.objects.bulk_create(predictions, ignore_conflicts=True, batch_size=2000)
        PredictionFailure.objects.bulk_create(failures, ignore_conflicts=True)
        PredictionShard.objects.filter(pk=shard.pk).update(
            state=JobState.DONE, images_done=len(predictions), images_failed=len(failures), finished_at=timezone.now()
        )
    if not PredictionShard.objects.filter(job=job).exclude(state=JobState.DONE).exists():
        finish_job(job.pk)


class BackgroundJobs:
    """In-process mode (no broker): jobs queue up for one daemon thread of this process, which runs their shards
    one after another as a single worker would, so that starting a job returns at once and its page follows it.
    A daemon thread: stopping the server does not wait for a job, which then stays unfinished until cancelled."""

    def __init__(self):
        self._jobs = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def submit(self, job_id, shard_ids):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="prediction-jobs", daemon=True)
                self._thread.start()
        self._jobs.put((job_id, shard_ids))

    def wait(self):
        """Block until every job submitted so far is finished (tests; a shutdown that should let jobs end)."""
        self._jobs.join()

    def _work(self):
        while True:
            job_id, shard_ids = self._jobs.get()
            try:
                for shard_id in shard_ids:
                    run_shard(shard_id)  # a cancelled job's remaining shards return at once
            except Exception as exc:
                logger.exception("prediction job %s failed in the background", job_id)
                connections.close_all()  # the error may have been the connection's: fail the job on a new one
                fail_job(job_id, f"{type(exc).__name__}: {exc}")
            finally:
                # Between jobs the thread holds no database connection.
                connections.close_all()
                self._jobs.task_done()


background_jobs = BackgroundJobs()


def _read_files(images):
    for image in images.iterator(chunk_size=500):
        try:
            with image.file.open("rb") as handle:
                yield image.pk, handle.read()
        except OSError as exc:
            yield image.pk, f"unreadable file: {exc}".encode()


def finish_job(job_id):
    """Add the model's new unique pairs to the review queue; safe to call more than once."""
    with transaction.atomic():
        job = PredictionJob.objects.select_for_update().select_related("model", "dataset").get(pk=job_id)
        if job.state in FINISHED_JOB_STATES:
            return job
        job.new_review_items = sync_review_items(dataset=job.dataset, model=job.model)
        prediction_blocks.rebuild(job.model_id)
        job.state, job.finished_at = JobState.DONE, timezone.now()
        job.save(update_fields=["new_review_items", "state", "finished_at"])
    return job


def fail_job(job_id, error):
    with transaction.atomic():
        PredictionJob.objects.filter(pk=job_id).exclude(state__in=FINISHED_JOB_STATES).update(
            state=JobState.FAILED, error=error, finished_at=timezone.now()
        )
        PredictionShard.objects.filter(job_id=job_id).exclude(state=JobState.DONE).update(state=JobState.CANCELLED)


def cancel_job(job_id):
    """Stop a job: queued shards are skipped, a running shard stops at its next batch and writes nothing."""
    with transaction.atomic():
        updated = (
            PredictionJob.objects.filter(pk=job_id)
            .exclude(state__in=FINISHED_JOB_STATES)
            .update(state=JobState.CANCELLED, finished_at=timezone.now())
        )
        PredictionShard.objects.filter(job_id=job_id).exclude(state=JobState.DONE).update(state=JobState.CANCELLED)
    return bool(updated)


def unfinished_shard_ids():
    """The shards still to do of the jobs still going: what a broker that lost its messages must be given again."""
    return list(
        PredictionShard.objects.filter(job__state__in=[JobState.QUEUED, JobState.RUNNING])
        .exclude(state__in=FINISHED_JOB_STATES)
        .order_by("job_id", "index")
        .values_list("pk", flat=True)
    )


def job_progress(job):
    """Shards done / total, images done, images/s and the ETA of a job."""
    shards = job.shards.aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(state=JobState.DONE)),
        images=Sum("images_done", filter=Q(state=JobState.DONE), default=0),
        failed=Sum("images_failed", filter=Q(state=JobState.DONE), default=0),
    )
    processed = shards["images"] + shards["failed"]
    end = job.finished_at or timezone.now()
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    rate = processed / elapsed if elapsed > 0 else None
    remaining = job.images_total - processed
    return {
        "id": job.pk,
        "model": job.model.name,
        "architecture": job.model.architecture,
        "weights": job.model.weights,
        "random_weights": job.model.random_weights,
        "batch_size": job.batch_size,
        "shard_size": job.shard_size,
        "dataset": job.dataset.name,
        "state": job.state,
        "error": job.error,
        "shards_total": shards["total"],
        "shards_done": shards["done"],
        "images_total": job.images_total,
        "images_done": shards["images"],
        "images_failed": shards["failed"],
        "images_per_second": round(rate, 2) if rate else None,
        "eta_seconds": round(remaining / rate) if rate and job.state not in FINISHED_JOB_STATES else None,
        "new_review_items": job.new_review_items,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def wait_for_job(job_id, on_progress=None, poll_seconds=1.0, timeout=None):
    """Block until the job is finished, reporting progress; returns the final progress."""
    start = time.monotonic()
    while True:
        job = PredictionJob.objects.select_related("model", "dataset").get(pk=job_id)
        progress = job_progress(job)
        if on_progress:
            on_progress(progress)
        if job.state in FINISHED_JOB_STATES:
            return progress
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"job {job_id} is still {job.state} after {timeout} s")
        time.sleep(poll_seconds)
