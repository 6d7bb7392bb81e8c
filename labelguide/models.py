"""The labeling guide: Markdown pages about classes and confusable groups, their revisions and images.

A class page exists for each of the 1,000 classes (slug = wnid). Its `generated` part comes from
WordNet and the class hierarchy and is regenerated freely; `body` is what experts write and only
they change it. Revisions are append-only: restoring one appends a copy of it.
"""

from django.conf import settings
from django.db import models

from taxonomy.wnids import WNID_LENGTH

TITLE_MAX_LENGTH = 200
SLUG_MAX_LENGTH = 120


class PageKind(models.TextChoices):
    CLASS = "class", "Class page"
    COMPARISON = "comparison", "Comparison"
    GENERAL = "general", "General"


class GuidePage(models.Model):
    slug = models.SlugField(max_length=SLUG_MAX_LENGTH, unique=True)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    kind = models.CharField(max_length=12, choices=PageKind.choices)
    body = models.TextField(blank=True, help_text="Markdown written by experts; regenerating never touches it.")
    generated = models.TextField(
        blank=True, help_text="Markdown generated from WordNet and the class hierarchy; regenerated freely."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text="Last change by a person (not regeneration).")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["kind", "title"], name="guide_page_kind_title"),
            models.Index(fields=["-updated_at"], name="guide_page_updated"),
        ]

    def __str__(self):
        return self.title

    @property
    def has_expert_text(self):
        return bool(self.body.strip())


class PageClass(models.Model):
    """A class (wnid) a page is about; a class page has exactly one, its own."""

    page = models.ForeignKey(GuidePage, on_delete=models.CASCADE, related_name="classes")
    wnid = models.CharField(max_length=WNID_LENGTH)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in which the page lists its classes.")

    class Meta:
        ordering = ["page", "position"]
        constraints = [models.UniqueConstraint(fields=["page", "wnid"], name="page_class_unique")]
        indexes = [models.Index(fields=["wnid"], name="page_class_wnid")]

    def __str__(self):
        return f"{self.page_id}:{self.wnid}"


class Revision(models.Model):
    """Append-only: the title, text and classes of a page after one change by a person."""

    page = models.ForeignKey(GuidePage, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    body = models.TextField(blank=True)
    wnids = models.JSONField(default=list)
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Set by a restore."
    )

    class Meta:
        ordering = ["page", "-created_at", "-id"]
        indexes = [models.Index(fields=["page", "-created_at", "-id"], name="guide_revision_page")]

    def __str__(self):
        return f"{self.page_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """An image uploaded for a page (a sketch, a photo); referenced from Markdown by its URL."""

    page = models.ForeignKey(GuidePage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(max_length=300)
    name = models.CharField(max_length=200, help_text="Sanitised upload name, only for display and downloads.")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["page", "-created_at"]
        indexes = [models.Index(fields=["page", "-created_at"], name="guide_attachment_page")]

    def __str__(self):
        return f"{self.name} ({self.page_id})"
