"""Reads of consensus: policies, the adjudication queue, golden items, agreement between reviewers."""

from django.db.models import Q

from annotate.models import ReviewerVerdict, ReviewItem
from consensus.models import ConsensusPolicy


def policy_of(dataset):
    """The dataset's policy (no query where it was selected with the dataset); an unsaved single-reviewer one
    where it has none."""
    try:
        return dataset.consensus_policy
    except ConsensusPolicy.DoesNotExist:
        return ConsensusPolicy(dataset=dataset)


def policy_for(dataset_id):
    """The dataset's policy; an unsaved single-reviewer one where it has none."""
    return ConsensusPolicy.objects.filter(dataset_id=dataset_id).first() or ConsensusPolicy(dataset_id=dataset_id)


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
