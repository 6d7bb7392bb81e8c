"""Prediction jobs: split a dataset into shards, run each shard on a worker, finish the job (a kind of
annotate.sharded_jobs).

A shard writes all its rows in one transaction and ignores rows that already exist,
so a shard redone after a killed worker adds no duplicates and leaves no partial rows.
"""

import functools

from django.db import transaction
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
from annotate.sharded_jobs import JobKind, read_image_files

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
    `enqueue(job_id, shard_ids)` where given, else as the kind sends them)."""
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
        PREDICTIONS.queue_on_commit(job, PREDICTIONS.create_shards(job, todo), finish_job, enqueue)
    return job


@functools.cache
def _classifier(architecture, weights, batch_size):
    from annotate.inference import Classifier, ModelSpec

    return Classifier(ModelSpec(architecture, weights), batch_size=batch_size)


def run_shard(shard_id):
    """Predict the shard's images not yet done; called by a worker, possibly again after a crash."""
    shard = PREDICTIONS.start_shard(shard_id)
    if shard is None:
        return
    job = PredictionJob.objects.select_related("model").get(pk=shard.job_id)
    try:
        classifier = _classifier(job.model.architecture, job.model.weights, job.batch_size)
    except InferenceError as exc:
        PREDICTIONS.fail(job.pk, str(exc))
        return
    images = (
        Image.objects.filter(pk__in=shard.image_ids)
        .exclude(predictions__model=job.model)
        .order_by("position")
        .only("pk", "file")
    )
    still_wanted = PREDICTIONS.still_wanted(job.pk)
    wnids = taxonomy.class_wnids()
    predictions, failures = [], []
    for image_id, top, probabilities, error in classifier.predict(read_image_files(images), on_batch=still_wanted):
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
    if still_wanted.cancelled:
        return
    with transaction.atomic():
        prediction_blocks.forget(job.model_id)
        Prediction.objects.bulk_create(predictions, ignore_conflicts=True, batch_size=2000)
        PredictionFailure.objects.bulk_create(failures, ignore_conflicts=True)
        PREDICTIONS.mark_shard_done(shard, len(predictions), len(failures))
    if PREDICTIONS.all_shards_done(job.pk):
        finish_job(job.pk)


PREDICTIONS = JobKind("prediction", PredictionJob, PredictionShard, run_shard)


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
    PREDICTIONS.fail(job_id, error)


def cancel_job(job_id):
    return PREDICTIONS.cancel(job_id)


def job_progress(job):
    """Shards done / total, images done, images/s and the ETA of a job, with its model and dataset."""
    return {
        **PREDICTIONS.progress(job),
        "model": job.model.name,
        "architecture": job.model.architecture,
        "weights": job.model.weights,
        "random_weights": job.model.random_weights,
        "batch_size": job.batch_size,
        "dataset": job.dataset.name,
        "new_review_items": job.new_review_items,
    }


def wait_for_job(job_id, on_progress=None, poll_seconds=1.0, timeout=None):
    """Block until the job is finished, reporting progress; returns the final progress."""

    def describe(job_id):
        return job_progress(PredictionJob.objects.select_related("model", "dataset").get(pk=job_id))

    return PREDICTIONS.wait(job_id, describe, on_progress, poll_seconds, timeout)
