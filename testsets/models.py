"""A new test set built as ImageNetV2 was: candidate images per class, crowd tasks that measure each image's
selection frequency beside hidden controls from the reference (original) test set, and revisions of a sample whose
frequencies match the reference's. docs/glossary.md names the ideas."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from annotate.models import Dataset, Image
from taxonomy.wnids import WNID_LENGTH

# Five frequency bins with these inner edges (ImageNetV2's MatchedFrequency).
BIN_EDGES = (0.2, 0.4, 0.6, 0.8)
NAME_MAX_LENGTH = 100


class TestSet(models.Model):
    """A test set under construction: its candidates live in their own pool dataset, its controls and the
    frequencies to match come from the reference dataset."""

    name = models.SlugField(max_length=NAME_MAX_LENGTH, unique=True)
    reference = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    pool = models.OneToOneField(Dataset, on_delete=models.PROTECT, related_name="testset_pool")
    per_class = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Images per class in a sample.",
    )
    min_annotations = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="Annotations an image needs before its frequency counts for sampling.",
    )
    quality_threshold = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Assignments scoring below this on their controls are left out of frequencies.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class BlacklistReason(models.TextChoices):
    TOO_BIG = "too_big", "Too big"
    WRONG_CLASS = "wrong_class", "Wrong class"
    UNCLEAR = "unclear", "Unclear"
    COMPOSITE = "composite", "Composite"
    DRAWING = "drawing", "Drawing, painting or render"
    NEAR_DUPLICATE = "near_duplicate", "Near-duplicate"
    OTHER = "other", "Other"


class Candidate(models.Model):
    """An image of the pool found for a class (its image's original label), with where it came from; blacklisted
    while `blacklist_reason` is set (BlacklistChange keeps the history)."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="candidates")
    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="candidate")
    wnid = models.CharField(max_length=WNID_LENGTH)
    source_id = models.CharField(max_length=200, blank=True)
    search_key = models.CharField(max_length=200, blank=True)
    date_taken = models.DateTimeField(null=True, blank=True)
    date_uploaded = models.DateTimeField(null=True, blank=True)
    blacklist_reason = models.CharField(max_length=20, choices=BlacklistReason.choices, blank=True)
    blacklist_note = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["testset", "wnid"], name="candidate_class")]

    def __str__(self):
        return f"{self.testset_id}: {self.wnid} {self.image_id}"


class BlacklistChange(models.Model):
    """Append-only: a candidate put on the blacklist (with a reason) or taken off it (blank reason)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="blacklist_changes")
    reason = models.CharField(max_length=20, choices=BlacklistReason.choices, blank=True)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.candidate_id}: {self.reason or 'off the blacklist'}"


class ImageRole(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    POSITIVE = "positive", "Positive control"
    NEGATIVE = "negative", "Negative control"


class FrequencyTask(models.Model):
    """One grid of images shown with one class: "which of these contain at least one object of this class?"."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveIntegerField()
    wnid = models.CharField(max_length=WNID_LENGTH)
    assignments_wanted = models.PositiveSmallIntegerField(default=10)
    # Its assignments, counted as they are written (frequency_tasks.submit_assignment, import_selections): the grid
    # finds an annotator's next task among the open ones without counting the test set's assignments each time.
    answered = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["testset", "number"], name="frequency_task_number")]
        # The tasks still wanting answers: what the grid reads for each next task and each progress.
        indexes = [
            models.Index(
                fields=["testset", "answered"],
                condition=models.Q(answered__lt=models.F("assignments_wanted")),
                name="frequency_task_open",
            )
        ]

    def __str__(self):
        return f"{self.testset_id} #{self.number}: {self.wnid}"


class TaskImage(models.Model):
    """An image at its place in a task's grid, served under an opaque token so that controls look like the rest."""

    task = models.ForeignKey(FrequencyTask, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=10, choices=ImageRole.choices)
    token = models.CharField(max_length=32, unique=True)

    class Meta:
        ordering = ["task", "position"]
        constraints = [models.UniqueConstraint(fields=["task", "position"], name="task_image_position")]
        indexes = [models.Index(fields=["image"], name="task_image_image")]

    def __str__(self):
        return f"{self.task_id}[{self.position}]: {self.role} {self.image_id}"


class AssignmentSource(models.TextChoices):
    WEB = "web", "This site's grid page"
    IMPORT = "import", "Imported from a crowd platform"


class Assignment(models.Model):
    """One annotator's answer to one task: which positions they selected (a bit per position, position 0 first),
    and how they did on the task's controls."""

    task = models.ForeignKey(FrequencyTask, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    selected = models.BinaryField()
    controls = models.PositiveSmallIntegerField(default=0)
    controls_right = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=10, choices=AssignmentSource.choices, default=AssignmentSource.WEB)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "annotator"], name="assignment_once_per_annotator")]
        indexes = [models.Index(fields=["annotator", "submitted_at"], name="assignment_annotator")]

    def __str__(self):
        return f"{self.task_id} by {self.annotator_id}"

    @property
    def control_accuracy(self):
        return self.controls_right / self.controls if self.controls else None


class SelectionFrequency(models.Model):
    """How often an image was selected when shown with a class, over the assignments that count (those at or above
    the test set's quality threshold): candidates and reference images alike. Recounted whole from the
    assignments, and moved by each assignment submitted on the grid page."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="frequencies")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    wnid = models.CharField(max_length=WNID_LENGTH)
    annotations = models.PositiveIntegerField(default=0)
    selected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["testset", "image", "wnid"], name="selection_frequency_once")]
        indexes = [models.Index(fields=["testset", "wnid"], name="selection_frequency_class")]

    def __str__(self):
        return f"{self.image_id} as {self.wnid}: {self.selected}/{self.annotations}"

    @property
    def frequency(self):
        return self.selected / self.annotations if self.annotations else None


class SamplingStrategy(models.TextChoices):
    MATCHED_FREQUENCY = "matched-frequency", "MatchedFrequency"
    THRESHOLD = "threshold", "Threshold"
    TOP = "top", "TopImages"


class Revision(models.Model):
    """One run of sampling: its strategy, parameters and seed, the revision it started from, and the (image, class)
    list it chose; `dataset` is that list made a dataset that review, evaluation and scoring take."""

    testset = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    strategy = models.CharField(max_length=20, choices=SamplingStrategy.choices)
    parameters = models.JSONField(default=dict)
    seed = models.BigIntegerField(default=0)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    valid = models.BooleanField(default=True)
    upward = models.PositiveIntegerField(default=0, help_text="Images taken from a higher bin than their own.")
    short_classes = models.JSONField(
        default=dict, help_text="The classes that got fewer images than wanted: {wnid: {wanted, sampled, reason}}."
    )
    dataset = models.OneToOneField(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="testset_revision"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["testset", "number"], name="revision_number")]

    def __str__(self):
        return f"{self.testset_id} r{self.number}"


class RevisionImage(models.Model):
    """A candidate sampled for its class in a revision, with the frequency and bin it was sampled at."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="images")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    wnid = models.CharField(max_length=WNID_LENGTH)
    frequency = models.FloatField()
    annotations = models.PositiveIntegerField()
    bin = models.PositiveSmallIntegerField()
    upward = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["revision", "candidate"], name="revision_image_once")]
        # One class of a revision: its page, its final review and the carrying of its marks.
        indexes = [models.Index(fields=["revision", "wnid"], name="revision_image_class")]

    def __str__(self):
        return f"{self.revision_id}: {self.wnid} {self.candidate_id}"
