"""Writes of the review loop: verdicts, problematic flags, suggestions and queue leases."""

import random
from datetime import timedelta
from http import HTTPStatus

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import taxonomy
from annotate.labelling import add_pending
from annotate.labels import LABEL_FIELDS, relabel_item
from annotate.models import (
    FlagChange,
    Image,
    LabelSource,
    Lease,
    ProblematicFlag,
    ProblemReason,
    ReviewerVerdict,
    ReviewItem,
    Suggestion,
    SuggestionKind,
    SuggestionResolution,
    Verdict,
    VerdictChange,
)
from annotate.policies import policy_of
from annotate.selectors import golden_images, pending_images, suggested_images
from config.exceptions import ConflictError, DomainError

LEASE_DURATION = timedelta(minutes=10)


class KeyReused(DomainError):
    """An idempotency key this reviewer already used on the item for another change."""

    # Not a conflict with the item's state: the request itself reuses a key spent on another one.
    status_code = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, key, earlier):
        super().__init__(
            f"Idempotency-Key {key!r} was already used on this item for another change ({earlier}); "
            "send a new key with a new change"
        )


class VerdictConflict(ConflictError):
    """A verdict based on an older state of the item than the one now stored; `item` is the item now and
    `seen` what the reviewer would see of it (their own verdict where they answer blind)."""

    def __init__(self, item, seen):
        super().__init__(f"review item {item.pk} is now {seen}, not the verdict this change was based on")
        self.item, self.seen = item, seen


def set_verdict(*, item_id, reviewer, value, at=None, based_on=None, request_key=""):
    """Record one reviewer's verdict on a review item and relabel the item; repeating one's verdict is a no-op.

    Where one reviewer decides, the item takes the verdict (and the change records the item's verdict it
    replaced); where several do, the item's label is their consensus (and the change records the reviewer's own
    verdict it replaced). Golden and adjudicated items keep their label.

    `based_on` is the verdict the reviewer saw before changing it: if the item has moved on since, the change
    is refused with VerdictConflict rather than silently overwriting. A `request_key` this reviewer already sent
    for this item means the request was a retry of one that was applied: nothing more is written (KeyReused where
    the earlier request asked for another change).
    """
    if value not in Verdict.values:
        raise ValueError(f"unknown verdict {value!r}; expected one of {', '.join(Verdict.values)}")
    at = at or timezone.now()
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("dataset__consensus_policy")
            .get(pk=item_id)
        )
        body = f"{value} based on {based_on}" if based_on is not None else value
        if request_key:
            earlier = VerdictChange.objects.filter(reviewer=reviewer, item=item, request_key=request_key).first()
            if earlier is not None:
                if earlier.request_body != body:
                    raise KeyReused(request_key, earlier.request_body)
                return item
        policy = policy_of(item.dataset)
        fixed = item.source in (LabelSource.GOLDEN, LabelSource.ADJUDICATION)
        old_label = item.verdict
        blind = policy.several_reviewers or fixed
        if blind:
            mine = ReviewerVerdict.objects.filter(item=item, reviewer=reviewer).first()
            replaced = mine.value if mine else Verdict.UNREVIEWED
        else:
            replaced = old_label
        if based_on is not None and based_on != replaced and value != replaced:
            raise VerdictConflict(item, replaced)
        if replaced == value and (blind or item.verdict_by_id == reviewer.pk or value == Verdict.UNREVIEWED):
            return item
        VerdictChange.objects.create(
            item=item,
            reviewer=reviewer,
            old=replaced,
            new=value,
            created_at=at,
            request_key=request_key,
            request_body=body if request_key else "",
        )
        _store_reviewer_verdict(item, reviewer, value, at)
        if not fixed and (policy.several_reviewers or value == Verdict.UNREVIEWED):
            relabel_item(item, policy, at)
            item.save(update_fields=LABEL_FIELDS)
        elif not fixed:
            item.verdict, item.verdict_by, item.verdict_at = value, reviewer, at
            item.save(update_fields=["verdict", "verdict_by", "verdict_at"])
        add_pending(item.image_id, (item.verdict == Verdict.UNREVIEWED) - (old_label == Verdict.UNREVIEWED))
    return item


def _store_reviewer_verdict(item, reviewer, value, at):
    if value == Verdict.UNREVIEWED:
        ReviewerVerdict.objects.filter(item=item, reviewer=reviewer).delete()
        return
    ReviewerVerdict.objects.bulk_create(
        [ReviewerVerdict(item=item, reviewer=reviewer, value=value, updated_at=at)],
        update_conflicts=True,
        unique_fields=["item", "reviewer"],
        update_fields=["value", "updated_at"],
    )


def check_problem_note(reason, note):
    if reason not in ProblemReason.values:
        raise DomainError(
            f"unknown problematic reason {reason!r}; expected one of {', '.join(ProblemReason.values)}", field="reason"
        )
    if reason == ProblemReason.OTHER and not note.strip():
        raise DomainError("reason 'other' needs a note that says what is wrong with the image", field="note")


class FlagConflict(ConflictError):
    """A flag change based on an older state of the image's flag than the one now stored; `flag` is the flag now
    (None where the image is not flagged)."""

    def __init__(self, flag):
        now = f"flagged {flag.reason} by {flag.reviewer.username}" if flag else "not flagged"
        super().__init__(f"the image is now {now}, not as this change expected")
        self.flag = flag


def _check_flag_base(flag, based_on, wanted):
    """`based_on`: the reason the reviewer saw ("" for no flag), None where the client did not say."""
    current = flag.reason if flag else ""
    if based_on is not None and based_on != current and current != wanted:
        raise FlagConflict(flag)


def set_problematic(*, image_id, reviewer, reason, note="", at=None, based_on=None):
    check_problem_note(reason, note)
    at = at or timezone.now()
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image_id)
        flag = ProblematicFlag.objects.filter(image=image).select_related("reviewer").first()
        _check_flag_base(flag, based_on, reason)
        if flag and (flag.reason, flag.note, flag.reviewer_id) == (reason, note, reviewer.pk):
            return flag
        FlagChange.objects.create(image=image, reviewer=reviewer, reason=reason, note=note, created_at=at)
        if flag is None:
            flag = ProblematicFlag(image=image, time_marked=at)
        flag.reason, flag.note, flag.reviewer, flag.time_reviewed = reason, note, reviewer, at
        flag.save()
    return flag


def clear_problematic(*, image_id, reviewer, at=None, based_on=None):
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image_id)
        flag = ProblematicFlag.objects.filter(image=image).select_related("reviewer").first()
        _check_flag_base(flag, based_on, "")
        if flag is not None:
            flag.delete()
            FlagChange.objects.create(image=image, reviewer=reviewer, reason="", created_at=at or timezone.now())


def suggest_label(*, image_id, wnid, user, note="", at=None):
    """Suggest that wnid is a correct label of the image; the image goes back to the reviewers' queue.

    The (image, wnid) review item is created if missing (unreviewed, so it is pending too). Suggesting
    what one already suggested and nobody has resolved yet returns that open suggestion.
    """
    if not taxonomy.is_class(wnid):
        raise ValueError(f"{wnid!r} is not an ImageNet class wnid")
    at = at or timezone.now()
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image_id)
        _, created = ReviewItem.objects.get_or_create(
            image=image, wnid=wnid, defaults={"dataset_id": image.dataset_id, "verdict": Verdict.UNREVIEWED}
        )
        suggestion, opened = _open_suggestion(image, SuggestionKind.LABEL_CORRECT, user, at, wnid=wnid, note=note)
        add_pending(image.pk, int(created) + int(opened))
    return suggestion


def suggest_problematic(*, image_id, reason, user, note="", at=None):
    """Suggest that the image is problematic (for the reason given); it goes back to the reviewers' queue."""
    check_problem_note(reason, note)
    at = at or timezone.now()
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image_id)
        suggestion, opened = _open_suggestion(image, SuggestionKind.PROBLEMATIC, user, at, reason=reason, note=note)
        add_pending(image.pk, int(opened))
    return suggestion


def _open_suggestion(image, kind, user, at, wnid="", reason="", note=""):
    """(suggestion, whether it is new). The caller holds the image's row lock, so that two clicks cannot
    open two suggestions."""
    existing = Suggestion.objects.filter(
        image=image, kind=kind, wnid=wnid, suggested_by=user, resolved_at__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    suggestion = Suggestion.objects.create(
        image=image, kind=kind, wnid=wnid, reason=reason, note=note, suggested_by=user, created_at=at
    )
    return suggestion, True


def resolve_suggestion(*, suggestion_id, reviewer, resolution, at=None):
    """Accept (the label becomes correct / the image is flagged, by this reviewer) or dismiss a suggestion.

    Either way it stops counting as pending. A suggestion is resolved once: resolving it again is an error.
    """
    if resolution not in SuggestionResolution.values:
        expected = ", ".join(SuggestionResolution.values)
        raise DomainError(f"unknown resolution {resolution!r}; expected one of {expected}")
    at = at or timezone.now()
    with transaction.atomic():
        suggestion = Suggestion.objects.select_for_update().get(pk=suggestion_id)
        if suggestion.resolved_at is not None:
            who = suggestion.resolved_by.username if suggestion.resolved_by else "someone"
            raise DomainError(f"suggestion {suggestion.pk} was already {suggestion.resolution} by {who}")
        if resolution == SuggestionResolution.ACCEPTED:
            _accept(suggestion, reviewer, at)
        suggestion.resolved_by, suggestion.resolved_at, suggestion.resolution = reviewer, at, resolution
        suggestion.save(update_fields=["resolved_by", "resolved_at", "resolution"])
        add_pending(suggestion.image_id, -1)
    return suggestion


def _accept(suggestion, reviewer, at):
    if suggestion.kind == SuggestionKind.PROBLEMATIC:
        set_problematic(
            image_id=suggestion.image_id, reviewer=reviewer, reason=suggestion.reason, note=suggestion.note, at=at
        )
        return
    # suggest_label made the item. Locking the image before set_verdict locks the item would take the two
    # locks in the opposite order to set_verdict (item, then image) and deadlock with a concurrent verdict.
    item = ReviewItem.objects.filter(image_id=suggestion.image_id, wnid=suggestion.wnid).first()
    if item is None:
        image = Image.objects.select_for_update().get(pk=suggestion.image_id)
        item, created = ReviewItem.objects.get_or_create(
            image=image, wnid=suggestion.wnid, defaults={"dataset_id": image.dataset_id, "verdict": Verdict.UNREVIEWED}
        )
        if created:
            add_pending(image.pk, 1)
    set_verdict(item_id=item.pk, reviewer=reviewer, value=Verdict.CORRECT, at=at)


def lease_next_image(*, reviewer, dataset, wnids=None, after_position=None, keep=(), withheld=None):
    """Hand the reviewer the next image with unreviewed items that nobody else holds.

    Images after `after_position` come first, then the queue wraps around. Now and then (the dataset's golden
    rate) it is an image with a golden item the reviewer has not answered, unannounced. The reviewer's other
    leases are released, except those on the images in `keep` (the image on screen while the next one is
    prefetched), of which the reviewer keeps the most recently renewed ones up to MAX_LEASES_PER_REVIEWER in all.
    Images whose ids are in `withheld` (a queryset of ids) are never handed out.
    """
    now = timezone.now()
    policy = policy_of(dataset)
    narrowing = {"dataset": dataset, "reviewer": reviewer, "now": now, "wnids": wnids, "exclude": keep}
    with transaction.atomic():
        queues = []
        if policy.golden_rate and random.random() < policy.golden_rate:
            queues.append(golden_images(**narrowing))
        candidates = pending_images(**narrowing, several_reviewers=policy.several_reviewers)
        if after_position is not None:
            queues.append(candidates.filter(position__gt=after_position))
        queues.append(candidates)
        if policy.several_reviewers:
            queues.append(suggested_images(**narrowing))
        if withheld is not None:
            queues = [queue.exclude(pk__in=withheld) for queue in queues]
        image = next(filter(None, map(_first_unlocked, queues)), None)
        kept = Lease.objects.filter(reviewer=reviewer, image_id__in=keep).order_by("-expires_at", "image_id")
        kept = kept.values("pk")[: settings.MAX_LEASES_PER_REVIEWER - 1]
        Lease.objects.filter(reviewer=reviewer).exclude(pk__in=kept).delete()
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


def renew_lease(*, reviewer, image_id):
    """Keep an image the queue handed to the reviewer theirs for another LEASE_DURATION, even where the lease ran
    out, as long as nobody else was handed it since. Returns the new expiry, or None where the reviewer holds no
    lease on it: only the queue hands leases out, so that no reviewer can hold more than a few images."""
    expires_at = timezone.now() + LEASE_DURATION
    renewed = Lease.objects.filter(image_id=image_id, reviewer=reviewer).update(expires_at=expires_at)
    return expires_at if renewed else None


def release_leases(*, reviewer):
    Lease.objects.filter(reviewer=reviewer).delete()
