"""The review items of a dataset: one per (image, wnid) pair that a model predicted or an import named."""

import numpy as np
from django.db import connection
from django.utils import timezone

from annotate import bulk, labelling
from annotate.models import (
    Image,
    Prediction,
    ReviewItem,
    Verdict,
)
from taxonomy.wnids import WNID_LENGTH


def sync_review_items(*, dataset, model, removed_predictions=False, batch=None):
    """Add the model's new top-1 pairs as review items (made by the import `batch`, where one is given), then
    recount the models of each item and the pending items of each image over the dataset, writing only rows whose
    counts changed.

    Returns how many review items were added.
    """
    item, prediction, image = ReviewItem._meta.db_table, Prediction._meta.db_table, Image._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {item} (image_id, dataset_id, wnid, is_original, model_count, verdict, created_at, batch_id)
            SELECT DISTINCT p.image_id, i.dataset_id, p.top1_wnid, FALSE, 0, 'unreviewed', %s, CAST(%s AS BIGINT)
            FROM {prediction} p JOIN {image} i ON i.id = p.image_id
            WHERE p.model_id = %s AND i.dataset_id = %s AND NOT EXISTS (
                SELECT 1 FROM {item} r WHERE r.image_id = p.image_id AND r.wnid = p.top1_wnid)""",
            [timezone.now(), batch.pk if batch is not None else None, model.pk, dataset.pk],
        )
        added = cursor.rowcount
        cursor.execute(
            f"""UPDATE {item} SET model_count = counts.n FROM (
                SELECT p.image_id, p.top1_wnid, COUNT(*) AS n
                FROM {prediction} p JOIN {image} i ON i.id = p.image_id
                WHERE i.dataset_id = %s GROUP BY p.image_id, p.top1_wnid) AS counts
            WHERE {item}.image_id = counts.image_id AND {item}.wnid = counts.top1_wnid
            AND {item}.model_count <> counts.n""",
            [dataset.pk],
        )
        if removed_predictions:
            cursor.execute(
                f"""UPDATE {item} SET model_count = 0 WHERE dataset_id = %s AND model_count > 0 AND NOT EXISTS (
                    SELECT 1 FROM {prediction} p WHERE p.image_id = {item}.image_id AND p.top1_wnid = {item}.wnid)""",
                [dataset.pk],
            )
    if added:
        labelling.recount_pending(dataset)
    return added


def review_item_ids(dataset, pairs, batch=None):
    """{(image id, wnid): review item id} of every item of the dataset, after creating the (image, wnid) pairs that
    are missing (see review_items)."""
    if pairs:
        image_ids, wnids = zip(*pairs, strict=True)
        known = sorted(set(wnids))
        review_items(dataset, np.array(image_ids, dtype=np.int64), np.searchsorted(known, wnids), known, batch=batch)
    return _item_ids(dataset)


def review_items(dataset, image_ids, wnid_codes, wnids, batch=None, labels=None):
    """int64 [n]: the id of the dataset's review item of each pair (image_ids[i], wnids[wnid_codes[i]]), after
    creating the pairs that are missing (unreviewed; aggregate counts them pending), as made by the import `batch`
    where one is given. The images must be the dataset's; wnids distinct, of WNID_LENGTH characters.

    `labels`, where given, labels the items created: a function of their keys (image id * len(wnids) + wnid code,
    ascending) that gives their label columns ({field: column}, as for annotate.bulk.insert_columns)."""
    keys = np.asarray(image_ids, dtype=np.int64) * len(wnids) + wnid_codes
    if not len(keys):
        return keys
    found, ids = _item_keys(dataset, wnids)
    missing = np.unique(keys[~np.isin(keys, found)])
    if len(missing):
        images, originals = bulk.read_columns(
            f"SELECT id, original_wnid FROM {Image._meta.db_table} WHERE dataset_id = %s ORDER BY id",
            [dataset.pk],
            [">i8", f"S{WNID_LENGTH}"],
        )
        new_images, new_codes = np.divmod(missing, len(wnids))
        strangers = new_images[~np.isin(new_images, images)]
        if len(strangers):
            raise ValueError(f"image {strangers[0]} is not in dataset {dataset.name!r}")
        at = np.searchsorted(images, new_images)
        bulk.insert_columns(
            ReviewItem,
            {
                # By image then wnid, the order of the unique index on them: it then grows at its end.
                "image": new_images,
                "dataset": dataset.pk,
                "wnid": bulk.Coded(new_codes, list(wnids)),
                "is_original": originals[at] == np.array(wnids, dtype=f"S{WNID_LENGTH}")[new_codes],
                "model_count": 0,
                "verdict": Verdict.UNREVIEWED.value,
                "created_at": timezone.now(),
                "batch": batch.pk if batch is not None else None,
                **(labels(missing) if labels is not None else {}),
            },
        )
        found, ids = _item_keys(dataset, wnids)
    return ids[np.searchsorted(found, keys)]


def _item_keys(dataset, wnids):
    """(sorted keys image id * len(wnids) + wnid index, their item ids) of the dataset's items of these wnids."""
    images, item_wnids, ids = bulk.read_columns(
        f"SELECT image_id, wnid, id FROM {ReviewItem._meta.db_table} WHERE dataset_id = %s",
        [dataset.pk],
        [">i8", f"S{WNID_LENGTH}", ">i8"],
    )
    wnids = np.array(wnids, dtype=f"S{WNID_LENGTH}")
    sorter = np.argsort(wnids)
    at = np.searchsorted(wnids, item_wnids, sorter=sorter).clip(max=len(wnids) - 1)
    listed = wnids[sorter[at]] == item_wnids
    keys = images[listed] * len(wnids) + sorter[at[listed]]
    order = np.argsort(keys)
    return keys[order], ids[listed][order]


def _item_ids(dataset):
    rows = ReviewItem.objects.filter(dataset=dataset).values_list("image_id", "wnid", "pk")
    return {(image_id, wnid): pk for image_id, wnid, pk in rows.iterator(chunk_size=20_000)}
