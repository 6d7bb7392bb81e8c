"""Reads of quality control: the adjudication queue, golden items, agreement between reviewers."""

from django.db.models import Q

import taxonomy
from annotate.models import ReviewerVerdict, ReviewItem
from consensus.models import Adjudication


def adjudication_queue(dataset, after=None, limit=50):
    """Items of the dataset waiting for adjudication, by image then item, after the item id `after` in that
    order; each with its image, posterior and `votes` (every reviewer's current verdict), in four queries."""
    items = (
        ReviewItem.objects.filter(dataset=dataset, needs_adjudication=True)
        .select_related("image", "posterior", "verdict_by")
        .order_by("image__position", "pk")
    )
    if after is not None:
        anchor = ReviewItem.objects.filter(pk=after).values_list("image__position", flat=True).first()
        if anchor is not None:
            items = items.filter(Q(image__position__gt=anchor) | Q(image__position=anchor, pk__gt=after))
    items = list(items[:limit])
    votes = {}
    for vote in ReviewerVerdict.objects.filter(item__in=items).select_related("reviewer").order_by("updated_at", "pk"):
        votes.setdefault(vote.item_id, []).append(vote)
    for item in items:
        item.votes = votes.get(item.pk, [])
    return items


def adjudication_count(dataset):
    return ReviewItem.objects.filter(dataset=dataset, needs_adjudication=True).count()


def image_adjudications(image, hidden):
    """The adjudications of the image's items as entries of its history (annotate.selectors.image_history), but
    those `hidden(item, adjudicator_id)`."""
    return [
        {
            "kind": "adjudication",
            "wnid": decision.item.wnid,
            "class_name": taxonomy.label(decision.item.wnid),
            "new": decision.value,
            "note": decision.note,
            "reviewer": decision.adjudicator.username,
            "at": decision.created_at,
        }
        for decision in Adjudication.objects.filter(item__image=image).select_related("item", "adjudicator")
        if not hidden(decision.item, decision.adjudicator_id)
    ]
