"""Writes of the interchange: an import file, checked whole into an ImportPlan before anything is written, stored in
one transaction; then every label of the dataset is recomputed under its consensus rule."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import transaction

from annotate import bulk, importers
from annotate.models import (
    Dataset,
    FlagChange,
    LabelSource,
    ProblematicFlag,
    ReviewerVerdict,
    ReviewItem,
    Slice,
    Verdict,
    VerdictChange,
)
from consensus import services as consensus


class Vote(NamedTuple):
    """A reviewer's verdict on the review item (image, wnid)."""

    image_id: int
    wnid: str
    reviewer: str
    verdict: str
    at: datetime


class Flag(NamedTuple):
    image_id: int
    reason: str
    note: str
    reviewer: str
    time_marked: datetime
    time_reviewed: datetime


class FixedLabel(NamedTuple):
    """An adjudication or a golden answer: the item's label, whatever its reviewers say."""

    image_id: int
    wnid: str
    source: str
    label: str
    decided_by: str


@dataclass
class ImportPlan:
    """What an import file asks for, checked, with image ids and usernames."""

    source: str
    images: int
    votes: list[Vote] = field(default_factory=list)
    items: set[tuple[int, str]] = field(default_factory=set)  # (image id, wnid) items to have even without votes
    flags: list[Flag] = field(default_factory=list)
    fixed_labels: list[FixedLabel] = field(default_factory=list)
    slices: dict[str, list[int]] = field(default_factory=dict)  # slice name: image ids to add
    labels: dict[tuple[int, str], tuple[str, str]] | None = None  # the (label, source) the file gives each item


def store(*, dataset, plan):
    """Write `plan` into the dataset, all or nothing: missing review items and reviewer accounts, the votes as their
    reviewers' current verdicts, flags, fixed labels and slices. Then every label of the dataset is recomputed from
    its reviewers' verdicts under the dataset's rule, and pending counts with them (consensus.services.aggregate).
    An import adds and updates; it never removes a verdict, flag or label. Returns a summary."""
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        accounts, created = importers.reviewer_accounts(
            {vote.reviewer for vote in plan.votes}
            | {flag.reviewer for flag in plan.flags}
            | {fixed.decided_by for fixed in plan.fixed_labels}
        )
        items = importers.review_item_ids(
            dataset,
            plan.items
            | {(vote.image_id, vote.wnid) for vote in plan.votes}
            | {(fixed.image_id, fixed.wnid) for fixed in plan.fixed_labels},
        )
        changed = _store_votes(dataset, plan.votes, accounts, items)
        _store_flags(dataset, plan.flags, accounts)
        _fix_labels(dataset, plan.fixed_labels, accounts, items, plan.source)
        for name, image_ids in plan.slices.items():
            Slice.objects.get_or_create(dataset=dataset, name=name)[0].images.add(*image_ids)
        bulk.analyze(ReviewItem, ReviewerVerdict, VerdictChange)
        summary = {
            "images": plan.images,
            "verdicts": len(plan.votes),
            "verdicts_changed": changed,
            "reviewers_created": created,
            "problematic_images": len(plan.flags),
            "fixed_labels": len(plan.fixed_labels),
            "slices": {name: len(image_ids) for name, image_ids in plan.slices.items()},
            "consensus": consensus.aggregate(dataset=dataset),
        }
        if plan.labels is not None:
            summary["labels_unlike_file"] = _labels_unlike(dataset, plan.labels, items)
    return summary


def _store_votes(dataset, votes, accounts, items):
    """Make each vote its reviewer's current verdict (ReviewerVerdict) and append it to the history (VerdictChange,
    whose `old` is that reviewer's verdict it replaced), in bulk; a vote equal to the current verdict is skipped.
    Returns how many verdicts changed."""
    # By reviewer alone, with the dataset's items checked here: joined to the items, the planner's row estimates
    # for a dataset loaded a moment ago can be so far off that the join takes minutes.
    dataset_items = set(items.values())
    current = {
        (item_id, reviewer_id): (pk, value)
        for pk, item_id, reviewer_id, value in ReviewerVerdict.objects.filter(reviewer_id__in=set(accounts.values()))
        .values_list("pk", "item_id", "reviewer_id", "value")
        .iterator(chunk_size=20_000)
        if item_id in dataset_items
    }
    added, updated, changes = [], [], []
    for vote in votes:
        item_id, reviewer_id = items[(vote.image_id, vote.wnid)], accounts[vote.reviewer]
        pk, old = current.get((item_id, reviewer_id), (None, Verdict.UNREVIEWED.value))
        if old == vote.verdict:
            continue
        changes.append((item_id, reviewer_id, old, vote.verdict, vote.at))
        if pk is None:
            added.append((item_id, reviewer_id, vote.verdict, vote.at))
        else:
            updated.append((pk, vote.verdict, vote.at))
    bulk.insert_rows(ReviewerVerdict, ["item", "reviewer", "value", "updated_at"], added)
    bulk.update_rows(ReviewerVerdict, ["value", "updated_at"], updated)
    bulk.insert_rows(VerdictChange, ["item", "reviewer", "old", "new", "created_at"], changes)
    return len(changes)


def _store_flags(dataset, flags, accounts):
    """Set each image's problematic flag, with a FlagChange where it changes."""
    current = {
        image_id: flag
        for image_id, *flag in ProblematicFlag.objects.filter(image__dataset=dataset)
        .values_list("image_id", "reason", "note", "reviewer_id", "time_marked", "time_reviewed")
        .iterator(chunk_size=20_000)
    }
    changed = [
        ProblematicFlag(
            image_id=flag.image_id,
            reason=flag.reason,
            note=flag.note,
            reviewer_id=accounts[flag.reviewer],
            time_marked=flag.time_marked,
            time_reviewed=flag.time_reviewed,
        )
        for flag in flags
        if current.get(flag.image_id)
        != [flag.reason, flag.note, accounts[flag.reviewer], flag.time_marked, flag.time_reviewed]
    ]
    FlagChange.objects.bulk_create(
        [
            FlagChange(
                image_id=flag.image_id,
                reviewer_id=flag.reviewer_id,
                reason=flag.reason,
                note=flag.note,
                created_at=flag.time_reviewed,
            )
            for flag in changed
        ],
        batch_size=5000,
    )
    ProblematicFlag.objects.bulk_create(
        changed,
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["image"],
        update_fields=["reason", "note", "reviewer", "time_marked", "time_reviewed"],
    )


def _fix_labels(dataset, fixed_labels, accounts, items, source):
    """Record each adjudication or golden answer that the item does not have yet, through the consensus services
    (one item each: there are few)."""
    item_ids = [items[(fixed.image_id, fixed.wnid)] for fixed in fixed_labels]
    current = {
        pk: (item_source, label, decided_by)
        for pk, item_source, label, decided_by in ReviewItem.objects.filter(
            dataset=dataset, source__in=consensus.FIXED_SOURCES
        ).values_list("pk", "source", "verdict", "verdict_by")
    }
    users = get_user_model().objects.in_bulk([accounts[fixed.decided_by] for fixed in fixed_labels])
    for item_id, fixed in zip(item_ids, fixed_labels, strict=True):
        user = users[accounts[fixed.decided_by]]
        if current.get(item_id) == (fixed.source, fixed.label, user.pk):
            continue
        if fixed.source == LabelSource.GOLDEN:
            consensus.mark_golden(item_id=item_id, answer=fixed.label, user=user)
        else:
            consensus.adjudicate(item_id=item_id, adjudicator=user, value=fixed.label, note=f"imported from {source}")


def _labels_unlike(dataset, labels, items):
    """How many items now have another (label, source) than the file gave them."""
    current = {
        pk: (label, source)
        for pk, label, source in ReviewItem.objects.filter(dataset=dataset)
        .values_list("pk", "verdict", "source")
        .iterator(chunk_size=20_000)
    }
    return sum(current[items[pair]] != expected for pair, expected in labels.items())
