"""The final review of a test set's revision: per class, whether a person looked at its sampled images beside the
reference images and found them fine (reviewed) or not (problematic). A revision without a row of its own for a
class takes its parent's marks while the class's images are the same (finalreview.selectors)."""

from django.conf import settings
from django.db import models

from taxonomy.wnids import WNID_LENGTH
from testsets.models import Revision

MAX_NOTE_LENGTH = 2000


class ClassReview(models.Model):
    """One class's marks in one revision, with who set them last and when."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="class_reviews")
    wnid = models.CharField(max_length=WNID_LENGTH)
    reviewed = models.BooleanField(default=False)
    problematic = models.BooleanField(default=False)
    note = models.TextField(blank=True, max_length=MAX_NOTE_LENGTH)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        # Also the index of the page's reads: a revision chain's rows (revision), one class's row (revision, wnid).
        constraints = [models.UniqueConstraint(fields=["revision", "wnid"], name="class_review_once")]

    def __str__(self):
        return f"{self.revision_id}: {self.wnid}"
