"""Writes of labels: a dataset's consensus policy, every label recomputed from the reviewers' verdicts under it, and
the pending counts that follow."""

import time
from typing import NamedTuple

import numpy as np
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotate import bulk, labels
from annotate.models import (
    ConsensusPolicy,
    ConsensusPosterior,
    Dataset,
    Image,
    LabelSource,
    ReviewerVerdict,
    ReviewItem,
    Rule,
    Suggestion,
    Verdict,
)
from annotate.policies import policy_for
from config.exceptions import DomainError

FIXED_SOURCES = (LabelSource.ADJUDICATION, LabelSource.GOLDEN)
MAX_OVERLAP = 50


class ConsensusError(DomainError):
    """A request about consensus (a policy, an adjudication, a golden item) that cannot be carried out, with what is
    wrong."""


class BatchVotes(NamedTuple):
    """Every vote on the review items that the import batch `batch_id` created (item ids, reviewer ids, codes of
    labels.VERDICTS_BY_CODE; grouped by item, each item's in the order they were given), known by the import that
    has just written them: aggregate then reads only the other votes back."""

    batch_id: int
    items: np.ndarray
    reviewers: np.ndarray
    codes: np.ndarray


def check_policy(rule, overlap, golden_rate):
    if rule not in Rule.values:
        raise ConsensusError(f"unknown consensus rule {rule!r}; expected one of {', '.join(Rule.values)}")
    if not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        raise ConsensusError(f"overlap must be a whole number from 1 to {MAX_OVERLAP}, not {overlap!r}")
    if rule == Rule.SINGLE and overlap != 1:
        raise ConsensusError(f"the single-reviewer rule needs overlap 1, not {overlap}")
    if not 0 <= golden_rate <= 1:
        raise ConsensusError(f"golden rate must be between 0 and 1, not {golden_rate!r}")


def set_policy(*, dataset, rule, overlap, golden_rate=None, user=None, batch_votes=None):
    """Change the dataset's rule and overlap, then recompute every label under them (see aggregate)."""
    policy = policy_for(dataset.pk)
    golden_rate = policy.golden_rate if golden_rate is None else golden_rate
    check_policy(rule, overlap, golden_rate)
    with transaction.atomic():
        policy.rule, policy.overlap, policy.golden_rate, policy.updated_by = rule, overlap, golden_rate, user
        policy.save()
        return aggregate(dataset=dataset, batch_votes=batch_votes)


def aggregate(*, dataset, rule=None, batch_votes=None):
    """Recompute the label of every review item of the dataset from its reviewers' verdicts, under `rule` (which
    becomes the dataset's rule) or the dataset's own; adjudicated and golden items keep theirs. Then recount each
    image's pending items. `batch_votes` (BatchVotes), from an import, saves reading its votes back. Returns a
    summary."""
    started = time.perf_counter()
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        policy = policy_for(dataset.pk)
        if rule is not None and rule != policy.rule:
            overlap = 1 if rule == Rule.SINGLE else max(policy.overlap, 2)
            check_policy(rule, overlap, policy.golden_rate)
            policy.rule, policy.overlap = rule, overlap
            policy.save()
        item_ids, current_labels, current_sources, current_needs, current_posterior = _items(dataset)
        votes = _votes(dataset, in_order=policy.rule == Rule.SINGLE, batch_votes=batch_votes)
        codes, reviewers, posterior, needs = labels.item_labels(policy, item_ids, *votes)
        fixed = np.isin(current_sources, [labels.SOURCES.index(source) for source in FIXED_SOURCES])
        kept = np.flatnonzero(~fixed)
        at, source = timezone.now(), labels.label_source(policy.rule)
        columns = labels.label_columns(codes[kept], reviewers[kept], needs[kept], at, source)
        # Only the label, its source and the adjudication say whether an item changed: the decider and the time
        # are written with them. Only the items that change travel to the database.
        differs = (
            (columns["verdict"].codes != current_labels[kept])
            | (columns["source"].codes != current_sources[kept])
            | (columns["needs_adjudication"] != current_needs[kept])
        )
        changed = bulk.update_columns(
            ReviewItem,
            item_ids[kept[differs]],
            bulk.take_rows(columns, differs),
            compare=["verdict", "source", "needs_adjudication"],
        )
        _write_posteriors(item_ids, current_posterior, posterior)
        recount_pending(dataset)
        if changed:
            labels_changed(dataset.pk)
    counts = np.bincount(codes[kept] + 1, minlength=len(labels.VERDICTS_BY_CODE) + 1)
    return {
        "dataset": dataset.name,
        "rule": policy.rule,
        "overlap": policy.overlap,
        "items": len(item_ids),
        "verdicts": len(votes[0]),
        "labels": {
            Verdict.UNREVIEWED.value: int(counts[0]),
            **{verdict.value: int(counts[code + 1]) for code, verdict in enumerate(labels.VERDICTS_BY_CODE)},
        },
        "needs_adjudication": int(needs[kept].sum()),
        "fixed_items": int(fixed.sum()),
        "changed_items": changed,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _write_posteriors(item_ids, held, posterior):
    """Turn the posteriors `held` of the items `item_ids` into `posterior` (a row of NaN: none), writing only what
    differs. A posterior that changes is updated in place, which needs no foreign key check, unlike a row deleted
    and inserted again."""
    posterior = np.round(posterior, 6)
    known, had = ~np.isnan(posterior).any(axis=1), ~np.isnan(held).any(axis=1)
    columns = {field: posterior[:, k] for k, field in enumerate(labels.POSTERIOR_FIELDS)}
    changed = known & had & (posterior != held).any(axis=1)
    bulk.update_columns(ConsensusPosterior, item_ids[changed], bulk.take_rows(columns, changed))
    added = known & ~had
    bulk.insert_columns(ConsensusPosterior, {"item": item_ids[added], **bulk.take_rows(columns, added)})
    gone = had & ~known
    if gone.any():
        ConsensusPosterior.objects.filter(item_id__in=item_ids[gone].tolist()).delete()


def _items(dataset):
    """(ids, label (index in labels.LABELS), source (index in labels.SOURCES), whether each needs adjudication,
    posterior [n, 3] (NaN where none)) of the dataset's review items, by id."""
    ids, codes, sources, needs, *posterior = bulk.read_columns(
        f"""SELECT r.id, {bulk.coded_sql("r.verdict", labels.LABELS)}, {bulk.coded_sql("r.source", labels.SOURCES)},
            CASE WHEN r.needs_adjudication THEN 1 ELSE 0 END,
            {", ".join(f"COALESCE(p.{field}, 'NaN')" for field in labels.POSTERIOR_FIELDS)}
        FROM {ReviewItem._meta.db_table} r LEFT JOIN {ConsensusPosterior._meta.db_table} p ON p.item_id = r.id
        WHERE r.dataset_id = %s ORDER BY r.id""",
        [dataset.pk],
        [">i8", ">i4", ">i4", ">i4", *[">f8"] * len(labels.POSTERIOR_FIELDS)],
    )
    return ids, codes, sources, needs.astype(bool), np.stack(posterior, axis=1)


def _votes(dataset, in_order, batch_votes=None):
    """(item ids, reviewer ids, codes) of every reviewer verdict of the dataset but unreviewed ones; `in_order`
    groups them by item, each item's in the order they were given (the other rules count votes in any order). The
    votes on the items of `batch_votes` are taken from it."""
    order = "ORDER BY v.item_id, v.updated_at, v.id" if in_order else ""
    others = "AND r.batch_id IS DISTINCT FROM %s" if batch_votes is not None else ""
    stored = bulk.read_columns(
        f"""SELECT v.item_id, v.reviewer_id, {bulk.coded_sql("v.value", labels.VERDICTS_BY_CODE)}
        FROM {ReviewerVerdict._meta.db_table} v JOIN {ReviewItem._meta.db_table} r ON r.id = v.item_id
        WHERE r.dataset_id = %s AND v.value <> %s {others} {order}""",
        [dataset.pk, Verdict.UNREVIEWED, *([batch_votes.batch_id] if batch_votes is not None else [])],
        [">i8", ">i4", ">i4"],
    )
    if batch_votes is None:
        return stored
    votes = [np.concatenate([column, known]) for column, known in zip(stored, batch_votes[1:], strict=True)]
    if in_order:
        # An item's votes are all stored or all known: a stable sort by item keeps each item's order.
        grouped = np.argsort(votes[0], kind="stable")
        votes = [column[grouped] for column in votes]
    return votes


def recount_pending(dataset):
    """Set every image's pending_items of the dataset from its unreviewed items and open suggestions."""
    image, item, suggestion = Image._meta.db_table, ReviewItem._meta.db_table, Suggestion._meta.db_table
    # Counted per image in one pass over each table, not by two lookups per image.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {image} SET pending_items = counts.n FROM (
                SELECT i.id, COALESCE(r.n, 0) + COALESCE(s.n, 0) AS n FROM {image} i
                LEFT JOIN (SELECT image_id, COUNT(*) AS n FROM {item} WHERE dataset_id = %s AND verdict = %s
                    GROUP BY image_id) r ON r.image_id = i.id
                LEFT JOIN (SELECT image_id, COUNT(*) AS n FROM {suggestion} WHERE resolved_at IS NULL
                    GROUP BY image_id) s ON s.image_id = i.id
                WHERE i.dataset_id = %s) AS counts
            WHERE {image}.id = counts.id AND {image}.pending_items <> counts.n""",
            [dataset.pk, Verdict.UNREVIEWED, dataset.pk],
        )


def add_pending(image_id, delta):
    """Move an image's count of pending items by delta."""
    if not delta:
        return
    # Never below zero: a recount by an import may already have left a resolved suggestion out.
    Image.objects.filter(pk=image_id, pending_items__gte=-delta).update(pending_items=F("pending_items") + delta)


def labels_changed(dataset_id):
    """Labels of the dataset changed with no row of their own in a history (as verdict changes and adjudications
    have): its policy is saved, so that its updated_at, which the cache of figures watches
    (evaluation.selectors.figures_fingerprint), moves. A dataset without a policy gets its single-reviewer one."""
    policy, created = ConsensusPolicy.objects.get_or_create(dataset_id=dataset_id)
    if not created:
        policy.save(update_fields=["updated_at"])
