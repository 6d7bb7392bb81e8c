"""How a dataset's review items get their label when several reviewers vote, golden items, adjudications."""

from django.conf import settings
from django.db import models

from annotate.models import Dataset, ReviewItem


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

    def __str__(self):
        return f"{self.item_id}: {self.p_correct:.3f} / {self.p_wrong:.3f} / {self.p_unclear:.3f}"


class GoldenItem(models.Model):
    """A review item with a known answer; reviewers meet it unannounced and are scored on it."""

    item = models.OneToOneField(ReviewItem, on_delete=models.CASCADE, related_name="golden")
    answer = models.CharField(max_length=12, choices=DecidedVerdict.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.item}: {self.answer}"


class Adjudication(models.Model):
    """Append-only: a senior reviewer's decision on an item whose reviewers reached no consensus."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="adjudications")
    adjudicator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    value = models.CharField(max_length=12, choices=DecidedVerdict.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["item", "created_at"], name="adjudication_item")]

    def __str__(self):
        return f"{self.item_id}: {self.value} by {self.adjudicator_id}"
