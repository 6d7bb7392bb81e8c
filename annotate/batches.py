"""Imports as batches: each is previewed before it is written, replaces no reviewer's verdict unless asked, and can be
undone in one step; the history keeps both the import and its undoing.

A dry run writes the whole import inside a transaction and rolls it back, so that its summary (items created,
verdicts changed per old -> new, images flagged, verdicts kept) is exactly what the import would do.
"""

from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotate import labelling, prediction_blocks, review_items
from annotate.models import (
    ClassifierModel,
    Dataset,
    FlagChange,
    Image,
    ImportBatch,
    ImportKind,
    Prediction,
    ProblematicFlag,
    ReplacedPrediction,
    ReviewerVerdict,
    ReviewItem,
    Slice,
    Suggestion,
    Verdict,
    VerdictChange,
)
from config.exceptions import ConflictError, NotFoundError


class UndoConflict(ConflictError):
    """An undo of an import that was undone already, or of an undo."""


def transitions(counts):
    """{(old, new): count} as {"old → new": count}, most frequent first: how summaries count verdict changes."""
    return {f"{old} → {new}": count for (old, new), count in counts.most_common()}


def run_import(*, dataset, kind, source, user, write, dry_run=False, overwrite=False):
    """Run `write(batch)`, which stores an import tagging what it changes with `batch` and returns its summary, in
    one transaction. A dry run rolls everything back. Returns the summary with `batch` (its id, None for a dry run)
    and `dry_run`."""
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            dataset=dataset, kind=kind, source=str(source)[:255], created_by=user, overwrite=overwrite
        )
        summary = write(batch)
        if dry_run:
            transaction.set_rollback(True)
            return {**summary, "batch": None, "dry_run": True}
        batch.summary = summary
        batch.save(update_fields=["summary", "undo_data"])
    return {**summary, "batch": batch.pk, "dry_run": False}


def outcome(summary):
    """The lines that say what an import did (or, in a dry run, would do) to what was there: for the commands."""
    lines = [f"Import {summary['batch']}: undo it with `manage.py undo_import {summary['batch']}`."]
    if summary["dry_run"]:
        lines = ["Dry run: nothing was written. The import would change:"]
    for key, label in (("changes", "verdicts changed"), ("kept", "verdicts kept (pass --overwrite to replace them)")):
        if summary.get(key):
            lines.append(f"  {label}: " + ", ".join(f"{pair} {count}" for pair, count in summary[key].items()))
    counts = ["items_created", "images_flagged", "flags_kept", "predictions_replaced"]
    if not summary.get("kept"):
        counts.append("verdicts_kept")
    lines += [f"  {key.replace('_', ' ')}: {summary[key]}" for key in counts if summary.get(key)]
    return lines


def undo_import(*, batch_id, user=None):
    """Undo the import `batch_id` in one step, as a new batch that the history keeps beside it: each verdict and flag
    it changed goes back to what it was, unless it was changed again since (then it stays, and is counted); the
    review items it created and nobody has used since, its predictions (bringing back those it replaced), slice
    memberships and complete-label marks go. Adjudications and golden answers it recorded stay. Returns a summary."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().select_related("dataset").filter(pk=batch_id).first()
        if batch is None:
            raise NotFoundError(f"import {batch_id} does not exist")
        if batch.kind == ImportKind.UNDO:
            raise UndoConflict(f"batch {batch.pk} undid import {batch.undoes_id}; import that file again instead")
        already = ImportBatch.objects.filter(undoes=batch).first()
        if already is not None:
            raise UndoConflict(
                f"import {batch.pk} was undone already (batch {already.pk}, "
                f"{already.created_at.isoformat(timespec='seconds')})"
            )
        dataset = batch.dataset
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        undo = ImportBatch.objects.create(
            dataset=dataset,
            kind=ImportKind.UNDO,
            source=f"undo of import {batch.pk} ({batch.source})"[:255],
            created_by=user,
            undoes=batch,
        )
        restored, changed_since = _undo_verdicts(batch, undo)
        unflagged, reflagged, flags_changed_since = _undo_flags(batch, undo, user)
        predictions = _undo_predictions(batch)
        for name, image_ids in batch.undo_data.get("slices", {}).items():
            Slice.objects.get(dataset=dataset, name=name).images.remove(*image_ids)
        Image.objects.filter(pk__in=batch.undo_data.get("completed_images", [])).update(labels_complete=False)
        # Relabelled first (giving a votes import's dataset its rule back relabels under it): an item whose only
        # verdict went with the undo is unreviewed only from then on.
        policy = batch.undo_data.get("policy")
        if policy:
            labels = labelling.set_policy(dataset=dataset, rule=policy["rule"], overlap=policy["overlap"], user=user)
        else:
            labels = labelling.aggregate(dataset=dataset)
        items_removed = _remove_unused_items(batch)
        if items_removed:
            labelling.recount_pending(dataset)
        undo.summary = {
            "undoes": batch.pk,
            "verdicts_restored": sum(restored.values()),
            "changes": transitions(restored),
            "verdicts_changed_since": changed_since,
            "images_unflagged": unflagged,
            "images_reflagged": reflagged,
            "flags_changed_since": flags_changed_since,
            "items_removed": items_removed,
            **predictions,
            "consensus": labels,
        }
        undo.save(update_fields=["summary"])
    return {**undo.summary, "batch": undo.pk}


def _undo_verdicts(batch, undo):
    """Put each (item, reviewer) verdict the batch changed back to what it was before, where it is still what the
    batch made it. Returns ({(now, restored): count}, how many were changed since)."""
    first_old, last_new = {}, {}
    for item_id, reviewer_id, old, new in (
        VerdictChange.objects.filter(batch=batch)
        .order_by("created_at", "id")
        .values_list("item_id", "reviewer_id", "old", "new")
    ).iterator(chunk_size=20_000):
        first_old.setdefault((item_id, reviewer_id), old)
        last_new[(item_id, reviewer_id)] = new
    current = {
        (item_id, reviewer_id): (pk, value)
        for pk, item_id, reviewer_id, value in ReviewerVerdict.objects.filter(
            item__in={item_id for item_id, _ in last_new}
        )
        .values_list("pk", "item_id", "reviewer_id", "value")
        .iterator(chunk_size=20_000)
    }
    unreviewed, now = Verdict.UNREVIEWED.value, timezone.now()
    restored, changed_since, removed, updated, changes = Counter(), 0, [], defaultdict(list), []
    for pair, new in last_new.items():
        pk, value = current.get(pair, (None, unreviewed))
        if value != new:
            changed_since += 1
            continue
        old = first_old[pair]
        restored[(value, old)] += 1
        changes.append(
            VerdictChange(item_id=pair[0], reviewer_id=pair[1], old=value, new=old, created_at=now, batch=undo)
        )
        if old == unreviewed:
            removed.append(pk)
        else:
            updated[old].append(pk)
    ReviewerVerdict.objects.filter(pk__in=removed).delete()
    for old, pks in updated.items():
        ReviewerVerdict.objects.filter(pk__in=pks).update(value=old, updated_at=now)
    VerdictChange.objects.bulk_create(changes, batch_size=5000)
    return restored, changed_since


def _undo_flags(batch, undo, user):
    """Put each image flag the batch set back to the flag before it (or none), where it is still the batch's.
    Returns (images unflagged, images given their earlier flag back, flags changed since)."""
    first, last = {}, {}
    for change in FlagChange.objects.filter(batch=batch).order_by("created_at", "id"):
        first.setdefault(change.image_id, change)
        last[change.image_id] = change
    current = ProblematicFlag.objects.in_bulk(list(last), field_name="image_id")
    # Each image's flag before the batch's first change of it: the latest other change up to then.
    before_batch = {}
    for change in (
        FlagChange.objects.filter(image_id__in=list(last)).exclude(batch=batch).order_by("created_at", "id")
    ).iterator(chunk_size=5000):
        if change.created_at <= first[change.image_id].created_at:
            before_batch[change.image_id] = change
    unflagged = reflagged = changed_since = 0
    now, changes = timezone.now(), []
    for image_id, change in last.items():
        flag = current.get(image_id)
        if flag is None or (flag.reason, flag.note) != (change.reason, change.note):
            changed_since += 1
            continue
        before = before_batch.get(image_id)
        if before is None or not before.reason:
            flag.delete()
            unflagged += 1
            changes.append(FlagChange(image_id=image_id, reviewer=user or flag.reviewer, created_at=now, batch=undo))
            continue
        flag.reason, flag.note, flag.reviewer_id, flag.time_reviewed = (
            before.reason,
            before.note,
            before.reviewer_id,
            before.created_at,
        )
        flag.save()
        reflagged += 1
        changes.append(
            FlagChange(
                image_id=image_id,
                reviewer_id=before.reviewer_id,
                reason=before.reason,
                note=before.note,
                created_at=now,
                batch=undo,
            )
        )
    FlagChange.objects.bulk_create(changes, batch_size=5000)
    return unflagged, reflagged, changed_since


def _undo_predictions(batch):
    """Remove the predictions the batch stored and bring back those it replaced; the model goes too where the batch
    created it and nothing else predicts with it. Returns counts for the summary."""
    if batch.kind != ImportKind.PREDICTIONS:
        return {}
    removed, _ = Prediction.objects.filter(batch=batch).delete()
    replaced = ReplacedPrediction.objects.filter(batch=batch)
    # Those an earlier import stored that has been undone since stay gone with it.
    left_undone, _ = replaced.filter(prediction_batch__undone_by__isnull=False).delete()
    restored = Prediction.objects.bulk_create(
        [
            Prediction(
                model_id=row.model_id,
                image_id=row.image_id,
                top1_wnid=row.top1_wnid,
                wnids=row.wnids,
                scores=row.scores,
                batch_id=row.prediction_batch_id,
            )
            for row in replaced.iterator(chunk_size=5000)
        ],
        batch_size=5000,
    )
    replaced.delete()
    model = ClassifierModel.objects.filter(pk=batch.undo_data.get("model")).first()
    if model is not None:
        review_items.sync_review_items(dataset=batch.dataset, model=model, removed_predictions=True)
        prediction_blocks.rebuild(model.pk)
        if batch.undo_data.get("model_created") and not model.predictions.exists():
            model.delete()
    return {
        "predictions_removed": removed,
        "predictions_restored": len(restored),
        "predictions_left_undone": left_undone,
    }


def _remove_unused_items(batch):
    """Delete the review items that the batch, or an import of the dataset undone earlier, created and that nothing
    holds any more: no verdict, no model's top-1, not the original label, no suggestion, no golden answer. (An item
    made by an import undone while another model still predicted it goes once that model's import is undone.)"""
    suggested = Suggestion.objects.filter(image=OuterRef("image"), wnid=OuterRef("wnid"))
    undone = ImportBatch.objects.filter(dataset=batch.dataset, undone_by__isnull=False)
    unused = (
        ReviewItem.objects.filter(
            dataset=batch.dataset, batch__in=undone, model_count=0, is_original=False, verdict=Verdict.UNREVIEWED
        )
        .exclude(Exists(ReviewerVerdict.objects.filter(item=OuterRef("pk"))))
        .exclude(Exists(suggested))
        .exclude(golden__isnull=False)
    )
    return unused.delete()[1].get(ReviewItem._meta.label, 0)
