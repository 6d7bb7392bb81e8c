"""Near-duplicate search for new test sets: image features, the jobs that compute them and search them, each
candidate's nearest neighbours per metric, thresholds, people's verdicts on pairs, and overrides of the resolution.

Vectors are files, not rows: one block per feature shard (`FeatureBlock`), read block by block by the search."""

from django.conf import settings
from django.db import models

from annotate.models import Dataset, Image, JobShard, ShardedJob
from nearduplicates.index_choice import DEFAULT_NPROBE
from testsets.models import Candidate, TestSet


class Metric(models.TextChoices):
    PIXEL = "pixel", "Pixel L2"
    CNN = "cnn", "CNN features L2"
    SSIM = "ssim", "DSSIM"
    # 64 bits as 0/1 vectors: their squared L2 distance is the Hamming distance, exactly (centred on any mean in
    # float32, a difference of two bits still rounds to 0 or ±1).
    PHASH = "phash", "pHash Hamming"


# Metrics measured on vectors of each image; DSSIM re-ranks the neighbours these found.
VECTOR_METRICS = (Metric.PIXEL, Metric.CNN, Metric.PHASH)


class SearchIndex(models.TextChoices):
    """How a search finds the nearest vectors; AUTO becomes EXACT or IVF when the search is planned."""

    AUTO = "auto", "By the reference's size"
    EXACT = "exact", "Exact"
    IVF = "ivf", "IVF (approximate)"


class ShardPhase(models.TextChoices):
    BUILDING = "building", "Building its IVF index"
    SEARCHING = "searching", "Searching"


class FeatureSet(models.Model):
    """One kind of vector for the images of a dataset: pixel vectors, perceptual hashes as bits, or the
    penultimate layer of a CNN (its architecture and weights)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=10, choices=[(m.value, m.label) for m in VECTOR_METRICS])
    architecture = models.CharField(max_length=100, blank=True)
    weights = models.CharField(max_length=500, blank=True)
    dimension = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "metric", "architecture", "weights"], name="feature_set_once")
        ]

    def __str__(self):
        made_by = f" {self.architecture} ({self.weights})" if self.architecture else ""
        return f"{self.metric}{made_by} of {self.dataset_id}"


class FeatureJob(ShardedJob):
    """Computing a feature set's vectors for the dataset's images that have none yet."""

    feature_set = models.ForeignKey(FeatureSet, on_delete=models.CASCADE, related_name="jobs")
    batch_size = models.PositiveIntegerField(default=64)

    class Meta:
        ordering = ["-created_at"]


class FeatureShard(JobShard):
    job = models.ForeignKey(FeatureJob, on_delete=models.CASCADE, related_name="shards")

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="feature_shard_unique")]
        indexes = [models.Index(fields=["job", "state"], name="feature_shard_state")]


class FeatureBlock(models.Model):
    """The vectors one feature shard made: a .npz file in storage with `ids` (image ids) and `vectors`."""

    feature_set = models.ForeignKey(FeatureSet, on_delete=models.CASCADE, related_name="blocks")
    shard = models.OneToOneField(FeatureShard, on_delete=models.CASCADE, related_name="block")
    path = models.CharField(max_length=300)
    count = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.count} vectors of {self.feature_set_id} in {self.path}"


class SearchJob(ShardedJob):
    """Finding each candidate's k nearest neighbours under one metric among the images of reference datasets and
    the other candidates. Each shard searches part of the reference (blocks of vectors, or candidates for
    DSSIM); the job's end merges the shards' lists and writes the neighbours once. `index` is the one asked for
    until the search is planned, then the one used; `nprobe` the IVF lists each query visits."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=10, choices=Metric.choices)
    k = models.PositiveSmallIntegerField(default=30)
    against = models.ManyToManyField(Dataset, related_name="+")
    feature_jobs = models.ManyToManyField(FeatureJob, related_name="searches", blank=True)
    architecture = models.CharField(max_length=100, blank=True)
    weights = models.CharField(max_length=500, blank=True)
    index = models.CharField(max_length=5, choices=SearchIndex.choices, default=SearchIndex.AUTO)
    nprobe = models.PositiveSmallIntegerField(default=DEFAULT_NPROBE)
    neighbours_written = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["testset", "metric"], name="search_job_metric")]


class SearchShard(JobShard):
    """A part of a search: `blocks` are the reference feature blocks it reads (vector metrics); `image_ids` the
    candidates it re-ranks (DSSIM). Its k nearest per candidate wait in a .npz file at `path` for the merge. An
    IVF search's shard first indexes its blocks: `phase` and `vectors_indexed` show how far it is."""

    job = models.ForeignKey(SearchJob, on_delete=models.CASCADE, related_name="shards")
    blocks = models.JSONField(default=list)
    path = models.CharField(max_length=300, blank=True)
    phase = models.CharField(max_length=10, choices=ShardPhase.choices, blank=True)
    vectors_indexed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="search_shard_unique")]
        indexes = [models.Index(fields=["job", "state"], name="search_shard_state")]


class Neighbour(models.Model):
    """One of a candidate's nearest images under a metric, by rank (1 the nearest), from the latest search."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="neighbours")
    metric = models.CharField(max_length=10, choices=Metric.choices)
    rank = models.PositiveSmallIntegerField()
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    distance = models.FloatField()
    search = models.ForeignKey(SearchJob, on_delete=models.CASCADE, related_name="neighbours")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "metric", "rank"], name="neighbour_rank_once"),
            models.UniqueConstraint(fields=["candidate", "metric", "image"], name="neighbour_image_once"),
        ]
        indexes = [models.Index(fields=["testset", "metric", "distance"], name="neighbour_distance")]

    def __str__(self):
        return f"{self.candidate_id} ~ {self.image_id} ({self.metric} #{self.rank}: {self.distance:g})"


class Threshold(models.Model):
    """Under this distance a neighbour may be a duplicate and wants a person's verdict: proposed from the nearest
    distances, adjustable."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=10, choices=Metric.choices)
    value = models.FloatField()
    proposed = models.FloatField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["testset", "metric"], name="threshold_once")]

    def __str__(self):
        return f"{self.metric} threshold {self.value:g} of {self.testset_id}"


class PairVerdict(models.TextChoices):
    DUPLICATE = "duplicate", "Duplicate"
    DISTINCT = "distinct", "Not a duplicate"


class DuplicateReview(models.Model):
    """A person's verdict on whether a candidate and one of its neighbours show the same picture, whatever the
    metric that found the pair; the latest verdict, with who gave it and when."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="duplicate_reviews")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=10, choices=PairVerdict.choices)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "image"], name="duplicate_review_once")]
        indexes = [models.Index(fields=["image"], name="duplicate_review_image")]

    def __str__(self):
        return f"{self.candidate_id} ~ {self.image_id}: {self.verdict}"


class Override(models.TextChoices):
    KEEP = "keep", "Keep"
    REJECT = "reject", "Reject"


class ResolutionOverride(models.Model):
    """A person's decision that overrules the resolution of duplicates for one candidate."""

    candidate = models.OneToOneField(Candidate, on_delete=models.CASCADE, related_name="resolution_override")
    decision = models.CharField(max_length=10, choices=Override.choices)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    def __str__(self):
        return f"{self.decision} {self.candidate_id}"
