"""Writes of the review loop: verdicts, problematic flags and queue leases."""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotate.models import FlagChange, Image, Lease, ProblematicFlag, ProblemReason, ReviewItem, Verdict, VerdictChange
from annotate.selectors import pending_images

LEASE_DURATION = timedelta(minutes=10)


def set_verdict(*, item_id, reviewer, value, at=None):
    """Record one reviewer's verdict on a review item; a repeat of the current verdict is a no-op."""
    if value not in Verdict.values:
        raise ValueError(f"unknown verdict {value!r}; expected one of {', '.join(Verdict.values)}")
    at = at or timezone.now()
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item_id)
        old = item.verdict
        if old == value and (item.verdict_by_id == reviewer.pk or value == Verdict.UNREVIEWED):
            return item
        VerdictChange.objects.create(item=item, reviewer=reviewer, old=old, new=value, created_at=at)
        item.verdict, item.verdict_by, item.verdict_at = value, reviewer, at
        item.save(update_fields=["verdict", "verdict_by", "verdict_at"])
        pending_delta = (value == Verdict.UNREVIEWED) - (old == Verdict.UNREVIEWED)
        if pending_delta:
            Image.objects.filter(pk=item.image_id).update(pending_items=F("pending_items") + pending_delta)
    return item


def set_problematic(*, image_id, reviewer, reason, note="", at=None):
    if reason not in ProblemReason.values:
        raise ValueError(f"unknown problematic reason {reason!r}; expected one of {', '.join(ProblemReason.values)}")
    if reason == ProblemReason.OTHER and not note.strip():
        raise ValueError("reason 'other' needs a note that says what is wrong with the image")
    at = at or timezone.now()
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image_id)
        flag = ProblematicFlag.objects.filter(image=image).first()
        if flag and (flag.reason, flag.note, flag.reviewer_id) == (reason, note, reviewer.pk):
            return flag
        FlagChange.objects.create(image=image, reviewer=reviewer, reason=reason, note=note, created_at=at)
        if flag is None:
            flag = ProblematicFlag(image=image, time_marked=at)
        flag.reason, flag.note, flag.reviewer, flag.time_reviewed = reason, note, reviewer, at
        flag.save()
    return flag


def clear_problematic(*, image_id, reviewer, at=None):
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image_id)
        deleted, _ = ProblematicFlag.objects.filter(image=image).delete()
        if deleted:
            FlagChange.objects.create(image=image, reviewer=reviewer, reason="", created_at=at or timezone.now())


def lease_next_image(*, reviewer, dataset, wnids=None, after_position=None, keep=()):
    """Hand the reviewer the next image with unreviewed items that nobody else holds.

    Images after `after_position` come first, then the queue wraps around. The
    reviewer's other leases are released, except those on the images in `keep`
    (the image on screen while the next one is prefetched).
    """
    now = timezone.now()
    with transaction.atomic():
        candidates = pending_images(dataset=dataset, wnids=wnids, now=now, reviewer=reviewer, exclude=keep)
        image = None
        if after_position is not None:
            image = _first_unlocked(candidates.filter(position__gt=after_position))
        if image is None:
            image = _first_unlocked(candidates)
        Lease.objects.filter(reviewer=reviewer).exclude(image_id__in=keep).delete()
        if image is not None:
            Lease.objects.bulk_create(
                [Lease(image=image, reviewer=reviewer, expires_at=now + LEASE_DURATION)],
                update_conflicts=True,
                unique_fields=["image"],
                update_fields=["reviewer", "expires_at"],
            )
    return image


def _first_unlocked(queryset):
    return queryset.select_for_update(skip_locked=True, of=("self",)).first()


def release_leases(*, reviewer):
    Lease.objects.filter(reviewer=reviewer).delete()
