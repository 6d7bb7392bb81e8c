"""Datasets, images, classifier models and their predictions, review items and verdicts.

Histories (verdicts, problematic flags) are append-only tables; the current state
is kept beside them on the reviewed row so that pages and exports read one row.
"""

import struct
from functools import cache

from django.conf import settings
from django.db import models
from django.db.models import Q

import taxonomy
from taxonomy.wnids import WNID_LENGTH

TOP_K = 5
# Prediction.top5: the class index of each of the (at most 5) ranked wnids as little-endian int16, -1 where a wnid
# is no class and after the last rank; fixed-size rows that the score loader reads in place (evaluation.scores).
RANKED_FORMAT = f"<{TOP_K}h"
NO_CLASS = -1


class Verdict(models.TextChoices):
    CORRECT = "correct", "Correct"
    WRONG = "wrong", "Wrong"
    UNCLEAR = "unclear", "Unclear"
    DONT_KNOW = "dont_know", "Don't know"
    UNREVIEWED = "unreviewed", "Unreviewed"


DECIDED_VERDICTS = (Verdict.CORRECT, Verdict.WRONG, Verdict.UNCLEAR)


class ProblemReason(models.TextChoices):
    LABEL = "label_wrong_or_unclear", "Original label wrong or unclear"
    DRAWING = "drawing", "Drawing, painting, sketch, cartoon or render"
    EDITED = "excessively_edited", "Excessively edited"
    INAPPROPRIATE = "inappropriate", "Inappropriate"
    OTHER = "other", "Other"
    NO_VALID_LABEL = "no_valid_label", "No valid label"


class Dataset(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ImportKind(models.TextChoices):
    TFDS = "tfds", "TFDS multi-label JSON"
    REAL = "real", "ReaL JSON"
    JSONL = "jsonl", "JSON Lines"
    PREDICTIONS = "predictions", "Predictions"
    VOTES = "votes", "Reviewer votes"
    UNDO = "undo", "Undoing an import"


class ImportBatch(models.Model):
    """One import into a dataset, or the undoing of one: what it changed carries its batch (verdict and flag
    changes, review items it created, predictions it added), so that it can be undone in one step."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="import_batches")
    kind = models.CharField(max_length=12, choices=ImportKind.choices)
    source = models.CharField(max_length=255, help_text="The file's name, as it was given.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    overwrite = models.BooleanField(default=False, help_text="Whether it replaced reviewers' verdicts.")
    summary = models.JSONField(default=dict, help_text="What it changed, as the preview said.")
    undo_data = models.JSONField(default=dict, help_text="What undoing it needs besides the rows that carry it.")
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undone_by", help_text="(undo batches)"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dataset", "created_at"], name="import_batch_dataset")]

    def __str__(self):
        return f"{self.dataset_id}: {self.kind} {self.source} ({self.pk})"


class Image(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveIntegerField(help_text="Order of the image in its dataset (import order).")
    file_name = models.CharField(max_length=255)
    original_wnid = models.CharField(max_length=WNID_LENGTH)
    file = models.FileField(max_length=300, blank=True)
    source_uri = models.CharField(max_length=1000, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    labels_complete = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Its multi-label annotation lists every valid class (a ReaL file says so): a class without a "
        "verdict is not a valid label of it.",
    )
    pending_items = models.PositiveIntegerField(
        default=0,
        help_text="Unreviewed review items of this image plus its open suggestions; the image is in the "
        "reviewers' queue while this is above 0.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "file_name"], name="image_unique_file_name"),
            models.UniqueConstraint(fields=["dataset", "position"], name="image_unique_position"),
        ]
        indexes = [
            models.Index(fields=["dataset", "position"], condition=Q(pending_items__gt=0), name="image_pending_queue"),
            models.Index(fields=["dataset", "original_wnid"], name="image_original_wnid"),
            # The images that carry the same file as a closed one are closed too (annotate.access).
            models.Index(fields=["sha256"], condition=~Q(sha256=""), name="image_sha256"),
        ]

    def __str__(self):
        return f"{self.dataset.name}/{self.file_name}"

    @property
    def available(self):
        return bool(self.file)


class Slice(models.Model):
    """A named subset of a dataset's images (ImageNet-M, an evaluation sample)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="slices")
    name = models.SlugField(max_length=100)
    images = models.ManyToManyField(Image, related_name="slices", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="slice_unique_name")]

    def __str__(self):
        return f"{self.dataset.name}:{self.name}"


class PredictorKind(models.TextChoices):
    MODEL = "model", "Model"
    HUMAN = "human", "Human"


class ClassifierModel(models.Model):
    """A predictor whose top-k answers are Predictions: a model of the testbed or a human participant."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=PredictorKind.choices, default=PredictorKind.MODEL)
    description = models.TextField(blank=True)
    simulated = models.BooleanField(
        default=False, help_text="Predictions were simulated (demo), not produced by a real model."
    )
    architecture = models.CharField(max_length=100, blank=True, help_text="torchvision model name, if computed here.")
    weights = models.CharField(
        max_length=500, blank=True, help_text="torchvision weights enum, 'none' (random init) or a checkpoint path."
    )
    random_weights = models.BooleanField(default=False, help_text="Randomly initialised: for tests and benchmarks.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


@cache
def _class_indices():
    return {wnid: index for index, wnid in enumerate(taxonomy.class_wnids())}


def ranked_classes(wnids):
    """Prediction.top5 of a prediction's ranked wnids: 10 bytes (RANKED_FORMAT)."""
    indices = _class_indices()
    ranked = [indices.get(wnid, NO_CLASS) for wnid in wnids[:TOP_K]]
    return struct.pack(RANKED_FORMAT, *ranked, *[NO_CLASS] * (TOP_K - len(ranked)))


class RankedClassesField(models.BinaryField):
    """Prediction.top5, derived from the row's `wnids` whenever the ORM writes the row (save, create, bulk_create
    call pre_save), so that none of those writers can leave it out or let it disagree with `wnids`. Writers that
    insert with SQL (annotate.bulk.insert_rows) pass ranked_classes(wnids); the column has no default, so a row
    without it is refused."""

    def pre_save(self, model_instance, add):
        value = ranked_classes(model_instance.wnids)
        setattr(model_instance, self.attname, value)
        return value


class Prediction(models.Model):
    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="predictions")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="predictions")
    top1_wnid = models.CharField(max_length=WNID_LENGTH)
    wnids = models.JSONField(help_text="Ranked top-k wnids (k <= 5), best first.")
    scores = models.JSONField(null=True, blank=True, help_text="Scores of `wnids`, where known.")
    top5 = RankedClassesField(help_text="The class indices of `wnids` (RANKED_FORMAT), for scoring.")
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The import that stored it (none: a prediction job).",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "image"], name="prediction_unique")]
        indexes = [models.Index(fields=["image", "top1_wnid"], name="prediction_image_top1")]

    def __str__(self):
        return f"{self.model_id}:{self.image_id}:{self.top1_wnid}"


class PredictionBlock(models.Model):
    """A model's predictions on one dataset packed into two arrays, for scoring: reading a hundred of them is a few
    times faster than reading their millions of Prediction rows (annotate.prediction_blocks keeps them)."""

    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    image_ids = models.BinaryField(
        help_text="The ids of the predicted images, ascending, as runs of consecutive ids: the first id and the "
        "length of each run, little-endian int64."
    )
    top5 = models.BinaryField(help_text="Their Prediction.top5, one after another, in the same order.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "model"], name="prediction_block_unique")]

    def __str__(self):
        return f"{self.model_id}:{self.dataset_id}"


class ReplacedPrediction(models.Model):
    """A prediction that a predictions import replaced, kept so that undoing the import brings it back."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="replaced_predictions")
    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    top1_wnid = models.CharField(max_length=WNID_LENGTH)
    wnids = models.JSONField()
    scores = models.JSONField(null=True, blank=True)
    prediction_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"{self.batch_id}: {self.model_id}:{self.image_id}:{self.top1_wnid}"


class LabelSource(models.TextChoices):
    REVIEW = "review", "A reviewer's verdict"
    CONSENSUS = "consensus", "Consensus of several reviewers"
    ADJUDICATION = "adjudication", "A senior reviewer's adjudication"
    GOLDEN = "golden", "The known answer of a golden item"


class ReviewItem(models.Model):
    """One (image, wnid) pair that needs a verdict.

    `verdict` is the item's label: the verdict of its reviewer where one reviewer decides, else the consensus of
    its reviewers' verdicts (ReviewerVerdict) under the dataset's rule, an adjudication, or a golden answer.
    It stays "unreviewed" (and the item pending) until enough reviewers have decided.
    """

    # No index of their own: review_item_unique and the dataset's indexes start with them (see VerdictChange).
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="review_items", db_index=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="review_items", db_index=False)
    wnid = models.CharField(max_length=WNID_LENGTH)
    is_original = models.BooleanField(default=False)
    model_count = models.PositiveIntegerField(default=0, help_text="Models whose top-1 prediction this is.")
    verdict = models.CharField(max_length=12, choices=Verdict.choices, default=Verdict.UNREVIEWED)
    verdict_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verdict_at = models.DateTimeField(null=True, blank=True)
    # Database defaults too: the importers insert review items with SQL.
    source = models.CharField(
        max_length=12, choices=LabelSource.choices, default=LabelSource.REVIEW, db_default=LabelSource.REVIEW
    )
    needs_adjudication = models.BooleanField(
        default=False, db_default=False, help_text="Enough reviewers decided but they reached no consensus."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The import that created it.",
    )

    class Meta:
        ordering = ["image", "-is_original", "-model_count", "wnid"]
        constraints = [models.UniqueConstraint(fields=["image", "wnid"], name="review_item_unique")]
        indexes = [
            models.Index(
                fields=["dataset", "image"], condition=Q(needs_adjudication=True), name="review_item_adjudication"
            ),
            models.Index(fields=["dataset", "verdict"], name="review_item_dataset_verdict"),
            models.Index(fields=["dataset", "wnid"], name="review_item_dataset_wnid"),
            # A dataset's golden images, which the image browser shows as each reviewer's own (annotate.access).
            models.Index(
                fields=["dataset", "image"], condition=Q(source=LabelSource.GOLDEN), name="review_item_golden"
            ),
        ]

    def __str__(self):
        return f"{self.image_id}:{self.wnid}"


class VerdictChange(models.Model):
    """Append-only history: every verdict a reviewer gave, with the one it replaced."""

    # No index of their own: verdict_change_item and verdict_change_reviewer start with them. A million votes
    # imported at once build each index anew (annotate.bulk.indexes_built_at_end), so every index costs there.
    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="changes", db_index=False)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    old = models.CharField(max_length=12, choices=Verdict.choices)
    new = models.CharField(max_length=12, choices=Verdict.choices)
    created_at = models.DateTimeField()
    request_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text="The client's idempotency key, unique per reviewer and item: a retried request with it is not "
        "stored twice.",
    )
    request_body = models.CharField(
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text="What the request with the idempotency key asked (verdict and the verdict it was based on): the "
        "same key with another body is refused.",
    )
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The import (or undo) that made this change.",
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reviewer", "item", "request_key"],
                condition=~Q(request_key=""),
                name="verdict_change_request_key",
            )
        ]
        indexes = [
            models.Index(fields=["item", "created_at"], name="verdict_change_item"),
            models.Index(fields=["reviewer", "item"], name="verdict_change_reviewer"),
        ]

    def __str__(self):
        return f"{self.item_id}: {self.old} -> {self.new}"


class ReviewerVerdict(models.Model):
    """One reviewer's current verdict on a review item: their latest VerdictChange of it."""

    # No index of their own: reviewer_verdict_unique and reviewer_verdict_reviewer start with them (as for
    # VerdictChange).
    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="reviewer_verdicts", db_index=False)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    value = models.CharField(max_length=12, choices=Verdict.choices)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "reviewer"], name="reviewer_verdict_unique")]
        indexes = [models.Index(fields=["reviewer", "updated_at"], name="reviewer_verdict_reviewer")]

    def __str__(self):
        return f"{self.item_id} by {self.reviewer_id}: {self.value}"


class ProblematicFlag(models.Model):
    """The current problematic flag of an image; its changes are in FlagChange."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="problematic")
    reason = models.CharField(max_length=40, choices=ProblemReason.choices)
    note = models.TextField(blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    time_marked = models.DateTimeField()
    time_reviewed = models.DateTimeField()

    def __str__(self):
        return f"{self.image_id}: {self.reason}"


class FlagChange(models.Model):
    """Append-only history of problematic flags: set (with a reason) or cleared (empty reason)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="flag_changes")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=40, choices=ProblemReason.choices, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The import (or undo) that made this change.",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["image", "created_at"], name="flag_change_image")]

    def __str__(self):
        return f"{self.image_id}: {self.reason or 'cleared'}"


class Lease(models.Model):
    """An image handed to a reviewer; nobody else is given it until the lease expires."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="lease")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leases")
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["reviewer"], name="lease_reviewer")]

    def __str__(self):
        return f"{self.image_id} -> {self.reviewer_id} until {self.expires_at}"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_JOB_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class ShardedJob(models.Model):
    """A job split into shards of image ids that workers take one at a time (annotate.sharded_jobs): predictions
    here, features and near-duplicate searches in higher apps."""

    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    shard_size = models.PositiveIntegerField(default=256)
    images_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class JobShard(models.Model):
    """One shard of a sharded job: its image ids, state, attempts and counts; a kind adds the `job` key."""

    index = models.PositiveIntegerField()
    image_ids = models.JSONField()
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    images_done = models.PositiveIntegerField(default=0)
    images_failed = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"shard {self.index} of job {self.job_id} ({self.state})"


class PredictionJob(ShardedJob):
    """Computing one classifier model's predictions on a dataset, split into shards for the workers."""

    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="jobs")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="prediction_jobs")
    batch_size = models.PositiveIntegerField(default=64)
    new_review_items = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["model", "dataset"], name="prediction_job_model_dataset")]

    def __str__(self):
        return f"{self.model.name} on {self.dataset.name} ({self.state})"


class PredictionShard(JobShard):
    job = models.ForeignKey(PredictionJob, on_delete=models.CASCADE, related_name="shards")

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="prediction_shard_unique")]
        indexes = [models.Index(fields=["job", "state"], name="prediction_shard_state")]


class PredictionFailure(models.Model):
    """An image a model could not be run on (corrupt file...), with the reason."""

    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="failures")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="prediction_failures")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "image"], name="prediction_failure_unique")]

    def __str__(self):
        return f"{self.model_id}:{self.image_id}: {self.reason[:40]}"


class Rule(models.TextChoices):
    SINGLE = "single", "Single reviewer"
    UNANIMITY = "unanimity", "Unanimity"
    MAJORITY = "majority", "Majority"
    DAWID_SKENE = "dawid_skene", "Dawid-Skene"


class DecidedVerdict(models.TextChoices):
    CORRECT = "correct", "Correct"
    WRONG = "wrong", "Wrong"
    UNCLEAR = "unclear", "Unclear"


class ConsensusPolicy(models.Model):
    """A dataset's overlap and consensus rule; a dataset without one has a single reviewer per item."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="consensus_policy")
    overlap = models.PositiveSmallIntegerField(
        default=1, help_text="How many reviewers must decide each item before it has a label."
    )
    rule = models.CharField(max_length=12, choices=Rule.choices, default=Rule.SINGLE)
    golden_rate = models.FloatField(
        default=0.1, help_text="Share of the images handed to a reviewer that are golden ones they have not answered."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table keeps the name of the app it was first made in.
        db_table = "consensus_consensuspolicy"
        verbose_name_plural = "consensus policies"

    def __str__(self):
        return f"{self.dataset.name}: {self.rule} x{self.overlap}"

    @property
    def several_reviewers(self):
        return self.rule != Rule.SINGLE


class ConsensusPosterior(models.Model):
    """The posterior over correct / wrong / unclear behind an item's consensus label (vote shares under
    unanimity and majority, Dawid-Skene's estimate), kept apart from the item so that recomputing it rewrites
    this narrow table rather than every review item."""

    item = models.OneToOneField(ReviewItem, on_delete=models.CASCADE, primary_key=True, related_name="posterior")
    p_correct = models.FloatField()
    p_wrong = models.FloatField()
    p_unclear = models.FloatField()

    class Meta:
        db_table = "consensus_consensusposterior"

    def __str__(self):
        return f"{self.item_id}: {self.p_correct:.3f} / {self.p_wrong:.3f} / {self.p_unclear:.3f}"


class SuggestionKind(models.TextChoices):
    LABEL_CORRECT = "label_correct", "Label is correct"
    PROBLEMATIC = "problematic", "Image is problematic"


class SuggestionResolution(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class Suggestion(models.Model):
    """A hint from outside the review loop (a trainee's feedback) that puts its image back in the reviewers' queue.

    While open it counts as one of the image's pending_items, so that even a fully reviewed image
    is handed out again until a reviewer accepts or dismisses it.
    """

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="suggestions")
    kind = models.CharField(max_length=20, choices=SuggestionKind.choices)
    wnid = models.CharField(max_length=WNID_LENGTH, blank=True, help_text="The suggested label; blank for problematic.")
    reason = models.CharField(max_length=40, choices=ProblemReason.choices, blank=True)
    note = models.TextField(blank=True)
    # PROTECT: deleting the person would leave the image's pending count one too high.
    suggested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="suggestions")
    created_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=10, choices=SuggestionResolution.choices, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One open suggestion per person, image and suggested label: a second click is the same suggestion.
            # Its index also finds an image's open suggestions.
            models.UniqueConstraint(
                fields=["image", "kind", "wnid", "suggested_by"],
                condition=Q(resolved_at__isnull=True),
                name="suggestion_unique_open",
            ),
            models.CheckConstraint(
                condition=(Q(kind="label_correct", reason="") & ~Q(wnid=""))
                | (Q(kind="problematic", wnid="") & ~Q(reason="")),
                name="suggestion_kind_fields",
            ),
        ]

    def __str__(self):
        return f"{self.image_id}: {self.kind} {self.wnid or self.reason} by {self.suggested_by_id}"
