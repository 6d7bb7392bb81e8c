"""Evaluation phases: a blind sample of images that participants label without feedback, timed.

A phase's sample (PhaseImage) is drawn when the phase is created or edited in draft: N images per
stratum (a dataset, or a dataset and a class split), with a fixed seed. Each participant gets their
own list (ParticipantImage) in their own fixed order, flagged `seen` where they already reviewed or
trained on the image, and left out of it when the phase excludes seen images. Answers are kept on
the participant's rows while the phase is open; closing it turns them into human predictions
(annotate Predictions of one ClassifierModel of kind "human" per participant) and sends the new
(image, wnid) pairs to the reviewers' queue.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotate.models import ClassifierModel, Dataset, Image
from taxonomy.wnids import WNID_LENGTH

DEFAULT_INSTRUCTIONS = (
    "Please select the most specific class for the image. Small differences between classes matter! "
    "Browse the class hierarchy or search by keywords. If there are multiple objects of similar size in the image, "
    "select the most appropriate class for any of them. There is no feedback: take your time, answers are final."
)


def default_instructions():
    return DEFAULT_INSTRUCTIONS


class PhaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Phase(models.Model):
    name = models.CharField(max_length=200, unique=True)
    instructions = models.TextField(default=default_instructions)
    state = models.CharField(max_length=10, choices=PhaseState.choices, default=PhaseState.DRAFT)
    strata = models.JSONField(help_text='[{"dataset": name, "split": split or "", "count": N}], in drawing order.')
    seed = models.BigIntegerField(default=0)
    exclude_seen = models.BooleanField(
        default=False, help_text="Leave out of a participant's list the images they reviewed or trained on."
    )
    image_count = models.PositiveIntegerField(default=0, help_text="Images in the sample.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.state})"


class PhaseImage(models.Model):
    """One image of a phase's sample; participants see it only through its opaque token."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="images")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="phase_images")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    split = models.CharField(max_length=40, blank=True, help_text="The class split of its stratum, if any.")
    position = models.PositiveIntegerField(help_text="Order of drawing within the phase.")
    token = models.CharField(max_length=32, unique=True)

    class Meta:
        ordering = ["phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "image"], name="phase_image_unique"),
            models.UniqueConstraint(fields=["phase", "position"], name="phase_image_position"),
        ]

    def __str__(self):
        return f"{self.phase_id}:{self.image_id}"


class Participant(models.Model):
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phase_participations")
    model = models.ForeignKey(
        ClassifierModel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The participant's human predictor; made when the phase closes.",
    )
    image_count = models.PositiveIntegerField(default=0, help_text="Images in the participant's list.")
    answered = models.PositiveIntegerField(default=0, help_text="Images of the list answered so far.")

    class Meta:
        ordering = ["phase", "user__username"]
        constraints = [models.UniqueConstraint(fields=["phase", "user"], name="participant_unique")]
        indexes = [models.Index(fields=["user", "phase"], name="participant_user")]

    def __str__(self):
        return f"{self.user_id}@{self.phase_id}"


class ParticipantImage(models.Model):
    """One image of a participant's list, with their answer and its start and end time once answered."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="images")
    phase_image = models.ForeignKey(PhaseImage, on_delete=models.CASCADE, related_name="participant_images")
    position = models.PositiveIntegerField(help_text="Order of the image in the participant's list.")
    seen = models.BooleanField(
        default=False, help_text="The participant reviewed this image or met it in training before the phase."
    )
    wnid = models.CharField(max_length=WNID_LENGTH, blank=True, help_text="The answer; blank until answered.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the image was last put on screen.")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "position"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "phase_image"], name="participant_image_unique"),
            models.UniqueConstraint(fields=["participant", "position"], name="participant_image_position"),
        ]
        indexes = [
            models.Index(
                fields=["participant", "position"],
                condition=Q(answered_at__isnull=True),
                name="participant_image_todo",
            ),
        ]

    def __str__(self):
        return f"{self.participant_id}:{self.phase_image_id} {self.wnid or '-'}"

    @property
    def seconds_taken(self):
        if self.started_at is None or self.answered_at is None:
            return None
        return (self.answered_at - self.started_at).total_seconds()
