"""Writes of the interchange: an import file, checked whole into an ImportPlan before anything is written, stored in
one transaction as one import batch (annotate.batches); then every label of the dataset is recomputed under its
consensus rule."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.services import reviewer_accounts
from annotate import batches, bulk, labelling, review_items
from annotate.models import (
    Dataset,
    FlagChange,
    Image,
    LabelSource,
    ProblematicFlag,
    ReviewerVerdict,
    ReviewItem,
    Slice,
    Verdict,
    VerdictChange,
)
from annotate.policies import policy_for
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
    complete_images: set[int] = field(default_factory=set)  # images whose every valid class the file lists
    warnings: list[str] = field(default_factory=list)  # what the reader ignored or read loosely, for the summary


def store(*, dataset, plan, batch):
    """Write `plan` into the dataset as the import `batch`, all or nothing: missing review items and reviewer
    accounts, the votes as their reviewers' current verdicts, flags, fixed labels, slices and complete images. Then
    every label of the dataset is recomputed from its reviewers' verdicts under the dataset's rule, and pending
    counts with them (consensus.services.aggregate).

    An import adds and updates; it never removes a verdict, flag or label, and without `batch.overwrite` it
    replaces no verdict or flag that is already there (those are kept and counted). Returns a summary."""
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        accounts, created = reviewer_accounts(
            {vote.reviewer for vote in plan.votes}
            | {flag.reviewer for flag in plan.flags}
            | {fixed.decided_by for fixed in plan.fixed_labels}
        )
        items = review_items.review_item_ids(
            dataset,
            plan.items
            | {(vote.image_id, vote.wnid) for vote in plan.votes}
            | {(fixed.image_id, fixed.wnid) for fixed in plan.fixed_labels},
            batch=batch,
        )
        changed, kept = _store_votes(dataset, plan.votes, accounts, items, batch)
        flagged, flags_kept = _store_flags(dataset, plan.flags, accounts, batch)
        _fix_labels(dataset, plan.fixed_labels, accounts, items, plan.source)
        batch.undo_data["slices"] = _add_to_slices(dataset, plan.slices)
        batch.undo_data["completed_images"] = _mark_complete(dataset, plan.complete_images)
        bulk.analyze(ReviewItem, ReviewerVerdict, VerdictChange)
        summary = {
            "images": plan.images,
            "items_created": ReviewItem.objects.filter(batch=batch).count(),
            "verdicts": len(plan.votes),
            "verdicts_changed": sum(changed.values()),
            "changes": batches.transitions(changed),
            "verdicts_kept": sum(kept.values()),
            "kept": batches.transitions(kept),
            "reviewers_created": created,
            "problematic_images": len(plan.flags),
            "images_flagged": flagged,
            "images_unflagged": 0,
            "flags_kept": flags_kept,
            "fixed_labels": len(plan.fixed_labels),
            "slices": {name: len(image_ids) for name, image_ids in plan.slices.items()},
            "complete_images": len(batch.undo_data["completed_images"]),
            "consensus": labelling.aggregate(dataset=dataset),
            "warnings": plan.warnings,
        }
        if plan.labels is not None:
            summary["labels_unlike_file"] = _labels_unlike(dataset, plan.labels, items)
    return summary


def _store_votes(dataset, votes, accounts, items, batch):
    """Make each vote its reviewer's current verdict (ReviewerVerdict) and append it to the history (VerdictChange,
    whose `old` is that reviewer's verdict it replaced), in bulk; a vote equal to the current verdict is skipped.

    A vote that would replace a verdict already given (the item's label where one reviewer decides, else the same
    reviewer's verdict) is kept out unless `batch.overwrite`. Returns ({(old, new): votes applied}, {(old, new):
    votes kept out}), `old` being the verdict the vote replaces (or would have)."""
    several = policy_for(dataset.pk).several_reviewers
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
    item_labels = {} if several else dict(ReviewItem.objects.filter(dataset=dataset).values_list("pk", "verdict"))
    unreviewed = Verdict.UNREVIEWED.value
    added, updated, changes = [], [], []
    applied, kept = Counter(), Counter()
    for vote in votes:
        item_id, reviewer_id = items[(vote.image_id, vote.wnid)], accounts[vote.reviewer]
        pk, old = current.get((item_id, reviewer_id), (None, unreviewed))
        given = old if several else item_labels[item_id]
        if given not in (unreviewed, vote.verdict) and not batch.overwrite:
            kept[(given, vote.verdict)] += 1
            continue
        if old == vote.verdict:
            continue
        applied[(given if given != vote.verdict else old, vote.verdict)] += 1
        changes.append((item_id, reviewer_id, old, vote.verdict, vote.at, batch.pk))
        if pk is None:
            added.append((item_id, reviewer_id, vote.verdict, vote.at))
        else:
            updated.append((pk, vote.verdict, vote.at))
    bulk.insert_rows(ReviewerVerdict, ["item", "reviewer", "value", "updated_at"], added)
    bulk.update_rows(ReviewerVerdict, ["value", "updated_at"], updated)
    bulk.insert_rows(VerdictChange, ["item", "reviewer", "old", "new", "created_at", "batch"], changes)
    return applied, kept


def _store_flags(dataset, flags, accounts, batch):
    """Set each image's problematic flag, with a FlagChange where it changes; a flag that differs from one already
    there is kept out unless `batch.overwrite`. Returns (images flagged or reflagged, flags kept out)."""
    current = {
        image_id: flag
        for image_id, *flag in ProblematicFlag.objects.filter(image__dataset=dataset)
        .values_list("image_id", "reason", "note", "reviewer_id", "time_marked", "time_reviewed")
        .iterator(chunk_size=20_000)
    }
    changed, kept = [], 0
    for flag in flags:
        now = current.get(flag.image_id)
        wanted = [flag.reason, flag.note, accounts[flag.reviewer], flag.time_marked, flag.time_reviewed]
        if now == wanted:
            continue
        if now is not None and now[:2] != wanted[:2] and not batch.overwrite:
            kept += 1
            continue
        changed.append(
            ProblematicFlag(
                image_id=flag.image_id,
                reason=flag.reason,
                note=flag.note,
                reviewer_id=accounts[flag.reviewer],
                time_marked=flag.time_marked,
                time_reviewed=flag.time_reviewed,
            )
        )
    FlagChange.objects.bulk_create(
        [
            FlagChange(
                image_id=flag.image_id,
                reviewer_id=flag.reviewer_id,
                reason=flag.reason,
                note=flag.note,
                created_at=flag.time_reviewed,
                batch=batch,
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
    return len(changed), kept


def _add_to_slices(dataset, slices):
    """Add the images to the named slices; returns {slice name: ids of the images this added}."""
    added = {}
    for name, image_ids in slices.items():
        named, _ = Slice.objects.get_or_create(dataset=dataset, name=name)
        new = sorted(set(image_ids) - set(named.images.values_list("pk", flat=True)))
        named.images.add(*new)
        added[name] = new
    return added


def _mark_complete(dataset, image_ids):
    """Mark the images' label lists complete; returns the ids of those that were not."""
    newly = sorted(
        Image.objects.filter(dataset=dataset, pk__in=image_ids, labels_complete=False).values_list("pk", flat=True)
    )
    Image.objects.filter(pk__in=newly).update(labels_complete=True)
    return newly


def _fix_labels(dataset, fixed_labels, accounts, items, source):
    """Record each adjudication or golden answer that the item does not have yet, through the consensus services
    (one item each: there are few)."""
    item_ids = [items[(fixed.image_id, fixed.wnid)] for fixed in fixed_labels]
    current = {
        pk: (item_source, label, decided_by)
        for pk, item_source, label, decided_by in ReviewItem.objects.filter(
            dataset=dataset, source__in=labelling.FIXED_SOURCES
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
