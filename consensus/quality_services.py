"""Writes of quality control: golden items named by their image and class."""

from django.db import transaction

from annotate import taxonomy
from annotate.models import Image, ReviewItem, Verdict
from annotate.services import add_pending
from consensus.models import DecidedVerdict
from consensus.services import ConsensusError, mark_golden


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
