"""Writes of quality control: adjudications and golden items."""

from django.db import transaction
from django.utils import timezone

import taxonomy
from annotate import labelling, labels
from annotate.labelling import ConsensusError, add_pending
from annotate.models import DecidedVerdict, Image, LabelSource, ReviewItem, Verdict
from annotate.policies import policy_for
from consensus.models import Adjudication, GoldenItem


def adjudicate(*, item_id, adjudicator, value, note="", at=None):
    """A senior reviewer decides an item: its label from now on, whatever its reviewers say; recorded as such."""
    if value not in DecidedVerdict.values:
        raise ConsensusError(f"unknown adjudication {value!r}; expected one of {', '.join(DecidedVerdict.values)}")
    at = at or timezone.now()
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item_id)
        Adjudication.objects.create(item=item, adjudicator=adjudicator, value=value, note=note, created_at=at)
        _fix_label(item, value, LabelSource.ADJUDICATION, adjudicator, at)
    return item


def mark_golden(*, item_id, answer, user):
    """Make an item golden with a known answer, which becomes its label."""
    if answer not in DecidedVerdict.values:
        raise ConsensusError(f"unknown golden answer {answer!r}; expected one of {', '.join(DecidedVerdict.values)}")
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item_id)
        GoldenItem.objects.update_or_create(item=item, defaults={"answer": answer, "created_by": user})
        _fix_label(item, answer, LabelSource.GOLDEN, user, timezone.now())
        labelling.labels_changed(item.dataset_id)
    return item


def mark_golden_pair(*, dataset, wnid, answer, user, image_id=None, file_name=None):
    """Make the dataset's (image, wnid) review item golden with a known answer; the image is named by id or by
    file name. The item is created where no model predicted the class. Returns the item."""
    if not taxonomy.is_class(wnid):
        raise ConsensusError(f"{wnid!r} is not an ImageNet class wnid")
    if answer not in DecidedVerdict.values:
        raise ConsensusError(f"unknown golden answer {answer!r}; expected one of {', '.join(DecidedVerdict.values)}")
    images = Image.objects.filter(dataset=dataset)
    image = (images.filter(pk=image_id) if image_id is not None else images.filter(file_name=file_name)).first()
    if image is None:
        named = f"id {image_id}" if image_id is not None else f"file name {file_name!r}"
        raise ConsensusError(f"dataset {dataset.name} has no image with {named}")
    with transaction.atomic():
        item = ReviewItem.objects.filter(image=image, wnid=wnid).first()
        if item is None:
            # Locking the image first, as suggest_label does, keeps two requests from creating the item twice. An
            # existing item is not locked after its image: set_verdict takes the two locks the other way round.
            Image.objects.select_for_update().filter(pk=image.pk).first()
            item, created = ReviewItem.objects.get_or_create(
                image=image, wnid=wnid, defaults={"dataset": dataset, "verdict": Verdict.UNREVIEWED}
            )
            # Pending until mark_golden gives it its label.
            add_pending(image.pk, int(created))
        return mark_golden(item_id=item.pk, answer=answer, user=user)


def unmark_golden(*, item_id):
    """The item is an ordinary one again: its label comes from its reviewers' verdicts."""
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item_id)
        if not GoldenItem.objects.filter(item=item).delete()[0]:
            raise ConsensusError(f"review item {item_id} is not golden")
        was_pending = item.verdict == Verdict.UNREVIEWED
        item.source = LabelSource.REVIEW
        labels.relabel_item(item, policy_for(item.dataset_id), timezone.now())
        item.save()
        add_pending(item.image_id, (item.verdict == Verdict.UNREVIEWED) - was_pending)
        labelling.labels_changed(item.dataset_id)
    return item


def _fix_label(item, value, source, user, at):
    was_pending = item.verdict == Verdict.UNREVIEWED
    item.verdict, item.source, item.verdict_by, item.verdict_at = value, source, user, at
    item.needs_adjudication = False
    item.save(update_fields=labels.LABEL_FIELDS)
    add_pending(item.image_id, -int(was_pending))
