"""Writes of near-duplicate search: starting a search (with the feature jobs it needs), thresholds, people's
verdicts on pairs and their overrides of the resolution."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotate.errors import InferenceError
from annotate.models import FINISHED_JOB_STATES, Image, JobState
from annotate.selectors import dataset_named
from config.exceptions import DomainError, NotFoundError
from nearduplicates.index_choice import DEFAULT_NPROBE, MAX_NPROBE
from nearduplicates.jobs import FEATURES, SEARCHES, finish_feature_job, plan_search_when_ready
from nearduplicates.models import (
    VECTOR_METRICS,
    DuplicateReview,
    FeatureJob,
    FeatureSet,
    FeatureShard,
    Metric,
    Neighbour,
    Override,
    PairVerdict,
    ResolutionOverride,
    SearchIndex,
    SearchJob,
    Threshold,
)
from testsets.models import Candidate
from testsets.selectors import testset_named

DEFAULT_K = 30
MAX_K = 100
DEFAULT_BATCH_SIZE = 64
DEFAULT_FEATURE_SHARD_SIZE = 1024
# Reference vectors per search shard: past this many a search is spread over several shards, and workers.
DEFAULT_SEARCH_SHARD_SIZE = 250_000
DEFAULT_ARCHITECTURE = "resnet50"


def find_near_duplicates(
    *,
    testset_name,
    against,
    metric,
    k=DEFAULT_K,
    architecture="",
    weights="",
    batch_size=DEFAULT_BATCH_SIZE,
    shard_size=DEFAULT_SEARCH_SHARD_SIZE,
    feature_shard_size=DEFAULT_FEATURE_SHARD_SIZE,
    index=SearchIndex.AUTO,
    nprobe=DEFAULT_NPROBE,
    user=None,
):
    """Start a search for each candidate's k nearest neighbours under `metric` among the images of the datasets
    `against` (names) and the other candidates. Pixel, CNN and pHash searches first start feature jobs for the
    images that have no vectors yet, and search exactly or through IVF indexes (`index`: auto picks by the
    reference's size once the vectors are there; `nprobe` IVF lists visited per query); a DSSIM search re-ranks the
    neighbours found before. Returns the job."""
    testset = testset_named(testset_name)
    metric, architecture, weights = _checked_metric(metric, architecture, weights)
    _check_index(metric, index, nprobe)
    if not 1 <= k <= MAX_K:
        raise DomainError(f"k must be 1-{MAX_K}, not {k}", field="k")
    if not 1 <= shard_size <= 10_000_000:
        raise DomainError(f"shard size must be 1-10000000, not {shard_size}", field="shard_size")
    if not 1 <= feature_shard_size <= 100_000:
        raise DomainError(f"feature shard size must be 1-100000, not {feature_shard_size}", field="feature_shard_size")
    if not 1 <= batch_size <= 4096:
        raise DomainError(f"batch size must be 1-4096, not {batch_size}", field="batch_size")
    datasets = _against(testset, against)
    if not Candidate.objects.filter(testset=testset).exclude(image__file="").exists():
        raise DomainError(
            f"test set {testset.name!r} has no candidates with their files yet: import candidates first",
            field="testset",
        )
    if metric == Metric.SSIM and not Neighbour.objects.filter(testset=testset, metric__in=VECTOR_METRICS).exists():
        raise DomainError(
            f"test set {testset.name!r} has no pixel, CNN or pHash neighbours yet: DSSIM re-ranks those, so search "
            "with --metric pixel, cnn or phash first",
            field="metric",
        )
    with transaction.atomic():
        job = SearchJob.objects.create(
            testset=testset,
            metric=metric,
            k=k,
            architecture=architecture,
            weights=weights,
            index=index,
            nprobe=nprobe,
            shard_size=shard_size,
            created_by=user,
        )
        job.against.set(datasets)
        if metric != Metric.SSIM:
            job.feature_jobs.set(
                _feature_jobs(
                    [testset.pool, *datasets], metric, architecture, weights, batch_size, feature_shard_size, user
                )
            )
        transaction.on_commit(lambda: plan_search_when_ready(job.pk))
    return job


def _checked_metric(metric, architecture, weights):
    if metric not in Metric.values:
        raise DomainError(f"metric must be one of {', '.join(Metric.values)}, not {metric!r}", field="metric")
    if metric != Metric.CNN:
        if architecture or weights:
            raise DomainError(f"the {metric} metric takes no model; only cnn does", field="architecture")
        return metric, "", ""
    from annotate.inference import ModelSpec  # torch loads only where models are used

    spec = ModelSpec(architecture or DEFAULT_ARCHITECTURE, weights or "DEFAULT")
    try:
        spec.validate()
    except InferenceError as exc:
        raise DomainError(str(exc), field="architecture") from exc
    return metric, spec.architecture, spec.weights


def _check_index(metric, index, nprobe):
    if index not in SearchIndex.values:
        raise DomainError(f"index must be one of {', '.join(SearchIndex.values)}, not {index!r}", field="index")
    if metric == Metric.SSIM and index == SearchIndex.IVF:
        raise DomainError(
            "DSSIM re-ranks the neighbours found before and builds no index: leave index auto", field="index"
        )
    if not 1 <= nprobe <= MAX_NPROBE:
        raise DomainError(f"nprobe must be 1-{MAX_NPROBE}, not {nprobe}", field="nprobe")


def _against(testset, names):
    if not names:
        raise DomainError("name at least one dataset to search against (e.g. the reference)", field="against")
    datasets = [dataset_named(name) for name in dict.fromkeys(names)]
    if any(dataset.pk == testset.pool_id for dataset in datasets):
        raise DomainError(
            f"{testset.pool.name!r} holds the candidates themselves, which are always searched: leave it out",
            field="against",
        )
    return datasets


def _feature_jobs(datasets, metric, architecture, weights, batch_size, shard_size, user):
    """The feature jobs that give every image of these datasets a vector: running ones that cover images already,
    and a new job per dataset for the rest. Images whose vectors failed once are not tried again."""
    needed = []
    for dataset in datasets:
        feature_set, _ = FeatureSet.objects.get_or_create(
            dataset=dataset, metric=metric, architecture=architecture, weights=weights
        )
        covered = set()
        for job_id, state, image_ids in FeatureShard.objects.filter(job__feature_set=feature_set).values_list(
            "job_id", "job__state", "image_ids"
        ):
            if state not in (JobState.FAILED, JobState.CANCELLED):
                covered.update(image_ids)
                if state not in FINISHED_JOB_STATES:
                    needed.append(job_id)
        todo = list(
            Image.objects.filter(dataset=dataset)
            .exclude(file="")
            .exclude(pk__in=covered)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if todo:
            job = FeatureJob.objects.create(
                feature_set=feature_set,
                batch_size=batch_size,
                shard_size=shard_size,
                images_total=len(todo),
                created_by=user,
            )
            FEATURES.queue_on_commit(job, FEATURES.create_shards(job, todo), finish_feature_job)
            needed.append(job.pk)
    return sorted(set(needed))


def cancel_search(job_id):
    """Cancel a search and the feature jobs that only it waits for."""
    with transaction.atomic():
        cancelled = SEARCHES.cancel(job_id)
        for feature_job in FeatureJob.objects.filter(searches=job_id).exclude(
            searches__in=SearchJob.objects.exclude(pk=job_id).exclude(state__in=FINISHED_JOB_STATES)
        ):
            FEATURES.cancel(feature_job.pk)
    return cancelled


def set_threshold(*, testset_name, metric, value=None, user=None):
    """Set the metric's threshold to `value`, or without one back to the value proposed from the nearest distances
    of the last search."""
    testset = testset_named(testset_name)
    if metric not in Metric.values:
        raise DomainError(f"metric must be one of {', '.join(Metric.values)}, not {metric!r}", field="metric")
    if value is not None and not 0 <= value < float("inf"):
        raise DomainError(f"a threshold is a distance of 0 or more, not {value}", field="value")
    with transaction.atomic():
        threshold = Threshold.objects.select_for_update().filter(testset=testset, metric=metric).first()
        if threshold is None:
            raise DomainError(f"test set {testset.name!r} has no {metric} neighbours yet: search first", field="metric")
        threshold.value = threshold.proposed if value is None else value
        threshold.set_by, threshold.set_at = user, timezone.now()
        threshold.save(update_fields=["value", "set_by", "set_at"])
    return threshold


def review_pair(*, testset_name, candidate_id, image_id, verdict, user):
    """Record a person's verdict on a candidate and one of its neighbours ("" takes the verdict back)."""
    testset = testset_named(testset_name)
    if verdict not in ("", *PairVerdict.values):
        raise DomainError(
            f"verdict must be one of {', '.join(PairVerdict.values)} or '' to take it back, not {verdict!r}",
            field="verdict",
        )
    if not Neighbour.objects.filter(testset=testset, candidate_id=candidate_id, image_id=image_id).exists():
        raise NotFoundError(f"image {image_id} is not a neighbour of candidate {candidate_id} in {testset.name!r}")
    pair = Q(candidate_id=candidate_id, image_id=image_id)
    if not verdict:
        DuplicateReview.objects.filter(pair).delete()
        return None
    review, _ = DuplicateReview.objects.update_or_create(
        candidate_id=candidate_id,
        image_id=image_id,
        defaults={"verdict": verdict, "reviewed_by": user, "reviewed_at": timezone.now()},
    )
    return review


def override_resolution(*, testset_name, candidate_id, decision, note="", user):
    """Keep or reject a candidate whatever the resolution of duplicates says ("" takes the override back)."""
    testset = testset_named(testset_name)
    if decision not in ("", *Override.values):
        raise DomainError(
            f"decision must be one of {', '.join(Override.values)} or '' to take it back, not {decision!r}",
            field="decision",
        )
    if not Candidate.objects.filter(testset=testset, pk=candidate_id).exists():
        raise NotFoundError(f"test set {testset.name!r} has no candidate {candidate_id}")
    if not decision:
        ResolutionOverride.objects.filter(candidate_id=candidate_id).delete()
        return None
    override, _ = ResolutionOverride.objects.update_or_create(
        candidate_id=candidate_id,
        defaults={"decision": decision, "note": note, "decided_by": user, "decided_at": timezone.now()},
    )
    return override
