"""Quality control of the review: golden items with known answers, and senior reviewers' adjudications."""

from django.conf import settings
from django.db import models

from annotate.models import DecidedVerdict, ReviewItem


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
