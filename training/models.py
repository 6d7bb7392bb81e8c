"""Training tasks: images of the platform cut into parts of 10 that trainees label, with feedback.

A task's images are fixed when it is created (image_ids, in labeling order); its parts are
consecutive chunks of PART_SIZE of them, derived and never stored. Answers are appended, one per
trainee and image of a task, with the correctness and the expected label as they were when
answered, so that later reviews do not rewrite a trainee's history. An answer on an image that had no valid label
then (every reviewed label wrong or unclear) is not scored: its correctness is None and it has no expected label.
"""

from django.conf import settings
from django.db import models

import taxonomy
from annotate.models import Dataset, Image
from taxonomy.wnids import WNID_LENGTH

PART_SIZE = 10
RESULT_WORDS = {True: "correct", False: "wrong", None: "no valid label"}

DEFAULT_INSTRUCTIONS = (
    "Please select the most specific class for the image to the right. Small differences between classes matter! "
    "You can browse the list of available classes below, either via the class hierarchy or by searching for "
    "keywords. If there are multiple objects of similar size in the image, select the most appropriate class for "
    "any of the objects."
)


def default_instructions():
    return DEFAULT_INSTRUCTIONS


class TaskSource(models.TextChoices):
    SLICE = "slice", "Dataset slice (offset range)"
    CLASSES = "classes", "Classes under a hierarchy node"
    CONFUSION_GROUP = "confusion_group", "Confusion group (a list of classes)"


class TrainingTask(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    instructions = models.TextField(default=default_instructions)
    source = models.CharField(max_length=20, choices=TaskSource.choices)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="training_tasks")
    offset_start = models.PositiveIntegerField(null=True, blank=True, help_text="Slice: first offset (inclusive).")
    offset_end = models.PositiveIntegerField(null=True, blank=True, help_text="Slice: last offset (exclusive).")
    node_wnid = models.CharField(max_length=WNID_LENGTH, blank=True, help_text="Classes: the hierarchy node.")
    wnids = models.JSONField(default=list, blank=True, help_text="Confusion group: its class wnids.")
    shuffled = models.BooleanField(default=False, help_text="Images in a fixed random order, not dataset order.")
    image_ids = models.JSONField(help_text="The task's images in labeling order, fixed at creation.")
    image_count = models.PositiveIntegerField(help_text="len(image_ids), for lists that do not load the ids.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def part_count(self):
        return -(-self.image_count // PART_SIZE)

    @property
    def source_text(self):
        """Where the images come from, in words: "offsets 400 to 800", "classes under dog"..."""
        if self.source == TaskSource.SLICE:
            return f"offsets {self.offset_start} to {self.offset_end}"
        if self.source == TaskSource.CLASSES:
            return f"classes under {taxonomy.label(self.node_wnid)}"
        return "confusion group: " + ", ".join(taxonomy.label(wnid) for wnid in self.wnids)


class TrainingAnswer(models.Model):
    """One trainee's label for one image of a task; append-only."""

    task = models.ForeignKey(TrainingTask, on_delete=models.CASCADE, related_name="answers")
    trainee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_answers")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="training_answers")
    position = models.PositiveIntegerField(help_text="Index of the image in the task; its part is position // 10.")
    wnid = models.CharField(max_length=WNID_LENGTH)
    correct = models.BooleanField(null=True, help_text="None: the image had no valid label, the answer is not scored.")
    expected_wnid = models.CharField(
        max_length=WNID_LENGTH,
        blank=True,
        help_text="The image's main correct label when answered: the true side of a confusion (blank: no valid label).",
    )
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["task", "trainee", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "trainee", "image"], name="training_answer_once"),
        ]
        indexes = [
            models.Index(fields=["trainee", "task", "position"], name="training_answer_trainee"),
            models.Index(fields=["task", "answered_at"], name="training_answer_task_time"),
        ]

    def __str__(self):
        return f"{self.trainee_id}@{self.task_id}:{self.image_id} {self.wnid} ({RESULT_WORDS[self.correct]})"

    @property
    def part(self):
        return self.position // PART_SIZE
