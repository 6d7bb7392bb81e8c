"""The two kinds of sharded job of near-duplicate search (annotate.sharded_jobs), run by the same workers as
prediction jobs:

- a feature job computes one feature set's vectors for the images that have none, a block file per shard;
- a search job finds each candidate's k nearest neighbours under a metric. For pixel, CNN and pHash vectors each
  shard searches some of the reference blocks (so the reference is spread over workers), exactly or through an IVF
  index of those blocks, and keeps its own k nearest per candidate; DSSIM shards re-rank the vector metrics'
  neighbours of some candidates. The job's end merges the shards'
  lists and replaces the test set's neighbours under that metric in one transaction.

A search that needs vectors not computed yet starts the feature jobs first and plans its shards when the last of
them is done. A shard redone after a killed worker rewrites its own file; the merge runs once, under a lock."""

import functools

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotate.errors import InferenceError
from annotate.models import FINISHED_JOB_STATES, Image, JobState
from annotate.sharded_jobs import JobKind, read_image_files
from nearduplicates.models import FeatureBlock, FeatureJob, FeatureSet, FeatureShard, Metric, SearchJob, SearchShard
from nearduplicates.searching import plan_shards, search_part, write_neighbours
from nearduplicates.storage import load_arrays, save_arrays


@functools.cache
def _extractor(metric, architecture, weights, batch_size):
    from annotate.inference import ModelSpec  # torch loads only where features are computed
    from nearduplicates import features

    if metric == Metric.PIXEL:
        return features.DecodedVectors(features.pixel_vectors, features.PIXEL_DIMENSION)
    if metric == Metric.PHASH:
        return features.DecodedVectors(features.hash_vectors, features.HASH_BITS)
    return features.FeatureExtractor(ModelSpec(architecture, weights), batch_size=batch_size)


def run_feature_shard(shard_id):
    """Compute the vectors of the shard's images; called by a worker, possibly again after a crash."""
    shard = FEATURES.start_shard(shard_id)
    if shard is None:
        return
    job = FeatureJob.objects.select_related("feature_set").get(pk=shard.job_id)
    feature_set = job.feature_set
    try:
        extractor = _extractor(feature_set.metric, feature_set.architecture, feature_set.weights, job.batch_size)
    except InferenceError as exc:
        FEATURES.fail(job.pk, str(exc))
        return
    images = Image.objects.filter(pk__in=shard.image_ids).order_by("pk").only("pk", "file")
    still_wanted = FEATURES.still_wanted(job.pk)
    ids, vectors, failed = [], [], 0
    for image_id, vector, error in extractor.extract(read_image_files(images), on_batch=still_wanted):
        if error:
            failed += 1
            continue
        ids.append(image_id)
        vectors.append(vector)
    if still_wanted.cancelled:
        return
    dimension = extractor.dimension
    matrix = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dimension), np.float32)
    path = save_arrays(f"features/{feature_set.pk}/shard-{shard.pk}.npz", ids=np.asarray(ids, np.int64), vectors=matrix)
    with transaction.atomic():
        FeatureBlock.objects.update_or_create(
            shard=shard, defaults={"feature_set": feature_set, "path": path, "count": len(ids)}
        )
        FeatureSet.objects.filter(pk=feature_set.pk, dimension=None).update(dimension=dimension)
        FEATURES.mark_shard_done(shard, len(ids), failed)
    if FEATURES.all_shards_done(job.pk):
        finish_feature_job(job.pk)


def finish_feature_job(job_id):
    """Mark the job done and plan the searches that waited for it; safe to call more than once."""
    with transaction.atomic():
        job = FeatureJob.objects.select_for_update().get(pk=job_id)
        if job.state in FINISHED_JOB_STATES:
            return
        job.state, job.finished_at = JobState.DONE, timezone.now()
        job.save(update_fields=["state", "finished_at"])
    _plan_waiting_searches(job_id)


def _plan_waiting_searches(feature_job_id):
    for search_id in SearchJob.objects.filter(
        feature_jobs=feature_job_id, state=JobState.QUEUED, shards=None
    ).values_list("pk", flat=True):
        plan_search_when_ready(search_id)


class FeatureJobs(JobKind):
    def fail(self, job_id, error):
        """A failed feature job fails the searches that wait for it: none would ever be planned."""
        super().fail(job_id, error)
        _plan_waiting_searches(job_id)


FEATURES = FeatureJobs("feature", FeatureJob, FeatureShard, run_feature_shard)


def plan_search_when_ready(search_id):
    """Once every feature job the search waits for is done, create its shards and send them; a failed feature
    job fails the search."""
    with transaction.atomic():
        job = SearchJob.objects.select_for_update().get(pk=search_id)
        if job.state in FINISHED_JOB_STATES or job.shards.exists():
            return
        states = dict(job.feature_jobs.values_list("state", "error"))
        if states.keys() & {JobState.FAILED, JobState.CANCELLED}:
            why = states.get(JobState.FAILED) or ""
            SEARCHES.fail(job.pk, "a feature job it needs failed or was cancelled" + (f": {why}" if why else ""))
            return
        if states.keys() - {JobState.DONE}:
            return
        SEARCHES.queue_on_commit(job, plan_shards(job), finish_search)


def run_search_shard(shard_id):
    """Search the shard's part; called by a worker, possibly again after a crash."""
    shard = SEARCHES.start_shard(shard_id)
    if shard is None:
        return
    job = SearchJob.objects.select_related("testset").get(pk=shard.job_id)
    part = search_part(job, shard)
    path = save_arrays(f"searches/{job.pk}/shard-{shard.pk}.npz", **part.arrays)
    with transaction.atomic():
        SearchShard.objects.filter(pk=shard.pk).update(path=path)
        SEARCHES.mark_shard_done(shard, part.searched)
    if SEARCHES.all_shards_done(job.pk):
        finish_search(job.pk)


def finish_search(job_id):
    """Merge the shards' nearest neighbours and replace the test set's neighbours under the job's metric; safe to
    call more than once: the job is locked and done after the first."""
    with transaction.atomic():
        job = SearchJob.objects.select_for_update().get(pk=job_id)
        if job.state in FINISHED_JOB_STATES:
            return job
        parts = [load_arrays(path) for path in job.shards.order_by("index").values_list("path", flat=True)]
        job.neighbours_written = write_neighbours(job, parts)
        job.state, job.finished_at = JobState.DONE, timezone.now()
        job.save(update_fields=["neighbours_written", "state", "finished_at"])
    return job


SEARCHES = JobKind("near-duplicate search", SearchJob, SearchShard, run_search_shard)
