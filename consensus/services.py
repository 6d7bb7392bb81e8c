"""Writes of consensus: dataset policies, labels recomputed from reviewers' verdicts, adjudications, golden items."""

import time

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from annotate import bulk, taxonomy
from annotate.models import Dataset, Image, LabelSource, ReviewerVerdict, ReviewItem, Suggestion, Verdict
from annotate.services import add_pending
from consensus import labels
from consensus.models import Adjudication, ConsensusPosterior, DecidedVerdict, GoldenItem, Rule
from consensus.selectors import policy_for

FIXED_SOURCES = (LabelSource.ADJUDICATION, LabelSource.GOLDEN)
MAX_OVERLAP = 50


class ConsensusError(ValueError):
    """A request consensus cannot carry out, with what is wrong."""


def check_policy(rule, overlap, golden_rate):
    if rule not in Rule.values:
        raise ConsensusError(f"unknown consensus rule {rule!r}; expected one of {', '.join(Rule.values)}")
    if not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        raise ConsensusError(f"overlap must be a whole number from 1 to {MAX_OVERLAP}, not {overlap!r}")
    if rule == Rule.SINGLE and overlap != 1:
        raise ConsensusError(f"the single-reviewer rule needs overlap 1, not {overlap}")
    if not 0 <= golden_rate <= 1:
        raise ConsensusError(f"golden rate must be between 0 and 1, not {golden_rate!r}")


def set_policy(*, dataset, rule, overlap, golden_rate=None, user=None):
    """Change the dataset's rule and overlap, then recompute every label under them (see aggregate)."""
    policy = policy_for(dataset.pk)
    golden_rate = policy.golden_rate if golden_rate is None else golden_rate
    check_policy(rule, overlap, golden_rate)
    with transaction.atomic():
        policy.rule, policy.overlap, policy.golden_rate, policy.updated_by = rule, overlap, golden_rate, user
        policy.save()
        return aggregate(dataset=dataset)


def aggregate(*, dataset, rule=None):
    """Recompute the label of every review item of the dataset from its reviewers' verdicts, under `rule` (which
    becomes the dataset's rule) or the dataset's own; adjudicated and golden items keep theirs. Then recount each
    image's pending items. Returns a summary."""
    started = time.perf_counter()
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        policy = policy_for(dataset.pk)
        if rule is not None and rule != policy.rule:
            overlap = 1 if rule == Rule.SINGLE else max(policy.overlap, 2)
            check_policy(rule, overlap, policy.golden_rate)
            policy.rule, policy.overlap = rule, overlap
            policy.save()
        item_ids, fixed = _items(dataset)
        votes = _votes(dataset, in_order=policy.rule == Rule.SINGLE)
        codes, reviewers, posterior, needs = labels.item_labels(policy, item_ids, *votes)
        kept = np.flatnonzero(~fixed)
        at, source = timezone.now(), LabelSource.REVIEW if policy.rule == Rule.SINGLE else LabelSource.CONSENSUS
        rows = ((int(item_ids[i]), *labels.label_values(codes[i], reviewers[i], needs[i], at, source)) for i in kept)
        # Only the label, its source and the adjudication need say whether an item changed: the decider and the
        # time are written with them.
        changed = bulk.update_rows(
            ReviewItem, labels.LABEL_FIELDS, rows, compare=["verdict", "source", "needs_adjudication"]
        )
        _replace_posteriors(dataset, item_ids, posterior)
        recount_pending(dataset)
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


def _replace_posteriors(dataset, item_ids, posterior):
    ConsensusPosterior.objects.filter(item__dataset=dataset).delete()
    known = ~np.isnan(posterior).any(axis=1)
    bulk.insert_rows(
        ConsensusPosterior,
        ["item", *labels.POSTERIOR_FIELDS],
        zip(item_ids[known].tolist(), *np.round(posterior[known], 6).T.tolist(), strict=True),
    )


def _items(dataset):
    """(ids, whether each keeps a fixed label) of the dataset's review items, by id."""
    rows = list(ReviewItem.objects.filter(dataset=dataset).order_by("pk").values_list("pk", "source"))
    ids = np.array([pk for pk, _ in rows], dtype=np.int64)
    return ids, np.array([source in FIXED_SOURCES for _, source in rows], dtype=bool)


def _votes(dataset, in_order):
    """(item ids, reviewer ids, codes) of every reviewer verdict of the dataset but unreviewed ones, grouped by
    item; `in_order` puts each item's in the order they were given."""
    code = " ".join(f"WHEN '{verdict}' THEN {index}" for index, verdict in enumerate(labels.VERDICTS_BY_CODE))
    order = "v.item_id, v.updated_at, v.id" if in_order else "v.item_id"
    rows = bulk.read_int_columns(
        f"""SELECT v.item_id, v.reviewer_id, CASE v.value {code} END
        FROM {ReviewerVerdict._meta.db_table} v JOIN {ReviewItem._meta.db_table} r ON r.id = v.item_id
        WHERE r.dataset_id = %s AND v.value <> %s ORDER BY {order}""",
        [dataset.pk, Verdict.UNREVIEWED],
        3,
    )
    return rows[:, 0], rows[:, 1], rows[:, 2]


def recount_pending(dataset):
    """Set every image's pending_items of the dataset from its unreviewed items and open suggestions."""
    image, item, suggestion = Image._meta.db_table, ReviewItem._meta.db_table, Suggestion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {image} SET pending_items = counts.n FROM (
                SELECT i.id,
                    (SELECT COUNT(*) FROM {item} r WHERE r.image_id = i.id AND r.verdict = %s)
                    + (SELECT COUNT(*) FROM {suggestion} s WHERE s.image_id = i.id AND s.resolved_at IS NULL) AS n
                FROM {image} i WHERE i.dataset_id = %s) AS counts
            WHERE {image}.id = counts.id AND {image}.pending_items <> counts.n""",
            [Verdict.UNREVIEWED, dataset.pk],
        )


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
    return item


def _fix_label(item, value, source, user, at):
    was_pending = item.verdict == Verdict.UNREVIEWED
    item.verdict, item.source, item.verdict_by, item.verdict_at = value, source, user, at
    item.needs_adjudication = False
    item.save(update_fields=labels.LABEL_FIELDS)
    add_pending(item.image_id, -int(was_pending))
