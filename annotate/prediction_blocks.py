"""Prediction blocks: each model's predictions on a dataset packed into one row (PredictionBlock), which scoring
reads instead of the model's Prediction rows.

A model that has blocks has exactly the predictions they hold: every write of a model's predictions either
rebuilds its blocks (imports, their undoing, finished prediction jobs, closed evaluation phases) or forgets them
(a prediction job's shards, until the job finishes). A model without blocks is read from its rows. Both take the
model's row lock, so that two writers of one model's predictions rebuild one after the other, each from what the
other committed.
"""

import numpy as np
from django.db import connection, transaction

from annotate import bulk
from annotate.models import TOP_K, ClassifierModel, Image, Prediction, PredictionBlock

IMAGE_ID = np.dtype("<i8")
# Prediction.top5 (annotate.models.RANKED_FORMAT): TOP_K little-endian int16 class indices.
RANKED = np.dtype(("<i2", (TOP_K,)))


def rebuild(model_id):
    """Pack the model's predictions anew, one block per dataset it predicts on."""
    with transaction.atomic():
        _lock(model_id)
        PredictionBlock.objects.filter(model_id=model_id).delete()
        datasets, image_ids, ranked = _predictions_of(model_id)
        order = np.argsort(datasets, kind="stable")  # by dataset, each dataset's by image id
        datasets, image_ids, ranked = datasets[order], image_ids[order], ranked[order]
        starts = np.flatnonzero(np.r_[True, datasets[1:] != datasets[:-1]]) if len(datasets) else []
        ends = np.r_[starts[1:], len(datasets)] if len(datasets) else []
        PredictionBlock.objects.bulk_create(
            PredictionBlock(
                model_id=model_id,
                dataset_id=int(datasets[start]),
                image_ids=runs_of(image_ids[start:end]).astype(IMAGE_ID).tobytes(),
                top5=ranked[start:end].astype("<i2").tobytes(),
            )
            for start, end in zip(starts, ends, strict=True)
        )


def forget(model_id):
    """Drop the model's blocks: its predictions are being written and are read from their rows meanwhile."""
    with transaction.atomic():
        _lock(model_id)
        PredictionBlock.objects.filter(model_id=model_id).delete()


def read(dataset_ids, *, fast=True):
    """(model ids, image ids, ranked classes int16 [n, TOP_K], ids of the models that have blocks) of the blocks of
    the datasets: one row per prediction, as the predictions themselves would give. One query: a binary COPY on
    PostgreSQL unless not `fast` (the text protocol would send the blocks in hex, twice their size)."""
    table = PredictionBlock._meta.db_table
    wanted = f"dataset_id IN ({', '.join(['%s'] * len(dataset_ids))})" if dataset_ids else "FALSE"
    # Every block's model, and the arrays of the wanted ones.
    sql = f"""SELECT model_id, CASE WHEN {wanted} THEN image_ids END, CASE WHEN {wanted} THEN top5 END
        FROM {table} ORDER BY model_id, dataset_id"""
    params = [*dataset_ids, *dataset_ids]
    with connection.cursor() as cursor:
        if fast and connection.vendor == "postgresql":
            rows = [(int.from_bytes(pk, "big"), *arrays) for pk, *arrays in bulk.copy_values(cursor, sql, params)]
        else:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    blocks = [(model_id, runs, top5) for model_id, runs, top5 in rows if runs is not None]
    image_ids = [ids_of_runs(np.frombuffer(runs, IMAGE_ID)) for _, runs, _ in blocks]
    return (
        np.repeat(np.array([model_id for model_id, _, _ in blocks], dtype=np.int64), [len(ids) for ids in image_ids]),
        np.concatenate([*image_ids, np.zeros(0, np.int64)]),
        np.concatenate([*(np.frombuffer(top5, RANKED) for *_, top5 in blocks), np.zeros(0, RANKED)]).astype(np.int16),
        sorted({model_id for model_id, *_ in rows}),
    )


def runs_of(ids):
    """int64 [2 * runs]: ascending ids as the first id and the length of each run of consecutive ones (a model's
    predictions on a dataset are mostly one run: its images were registered together)."""
    starts = np.flatnonzero(np.r_[True, np.diff(ids) != 1]) if len(ids) else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.r_[starts, len(ids)])
    return np.stack([ids[starts], lengths], axis=1).ravel()


def ids_of_runs(runs):
    """The ids that runs_of(ids) packed."""
    firsts, lengths = runs[0::2].astype(np.int64), runs[1::2].astype(np.int64)
    # Each id is its run's first id plus its place in the run: a count up from the run's start.
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(firsts, lengths) + offsets


def _lock(model_id):
    list(ClassifierModel.objects.select_for_update().filter(pk=model_id).values_list("pk"))


def _predictions_of(model_id):
    """(dataset ids, image ids, ranked classes) of the model's predictions, by image id."""
    sql = f"""SELECT i.dataset_id, p.image_id, p.top5
        FROM {Prediction._meta.db_table} p JOIN {Image._meta.db_table} i ON i.id = p.image_id
        WHERE p.model_id = %s ORDER BY p.image_id"""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = bulk.copy_records(cursor, sql, [model_id], [">i8", ">i8", RANKED])
            return rows["value0"].astype(np.int64), rows["value1"].astype(np.int64), rows["value2"]
        cursor.execute(sql, [model_id])
        fetched = cursor.fetchall()
    return (
        np.array([row[0] for row in fetched], dtype=np.int64),
        np.array([row[1] for row in fetched], dtype=np.int64),
        np.frombuffer(b"".join(bytes(row[2]) for row in fetched), RANKED),
    )
