"""Score rows from the database: the arrays of the scoring engine (evaluation/scoring.py), loaded in six queries
whatever the number of predictors and images (seven while some model has no prediction blocks), and the engine
run on them.

Used by ``manage.py score`` and GET /api/evaluation/scores/, so that both give the same rows. On PostgreSQL the
big reads (images, decided review items, prediction blocks) are binary COPYs that numpy reads in place; elsewhere
(SQLite), or with fast=False, the same queries are fetched through the cursor. Nothing builds model instances.
The predictions come packed per model and dataset (annotate.prediction_blocks): a hundred rows rather than
millions; a model without blocks (its prediction job still running) is read from its Prediction rows.

Wnids travel as their 9 characters ("n" and 8 digits); numpy reads the 8 digits as a number (n01440764 ->
1440764), and a table indexed by those numbers gives the class index of millions of them at once. Predictions
travel as their ranked class indices (Prediction.top5, 10 bytes): the top-1 is the first, and numpy compares all
five with the image's original label for the top-5.
"""

from functools import cache

import numpy as np
from django.db import connection

import taxonomy
from annotate import bulk, prediction_blocks
from annotate.models import (
    TOP_K,
    ClassifierModel,
    Dataset,
    Image,
    Prediction,
    PredictorKind,
    ProblematicFlag,
    ReviewItem,
    Verdict,
)
from annotate.selectors import DatasetNotFound
from config.exceptions import DomainError
from evaluation import scoring
from evaluation.models import ParticipantImage
from taxonomy.wnids import WNID_LENGTH

FETCH_CHUNK = 50_000
VERDICT_CODES = {Verdict.CORRECT: scoring.CORRECT, Verdict.WRONG: scoring.WRONG, Verdict.UNCLEAR: scoring.UNCLEAR}
KIND_ORDER = {PredictorKind.MODEL: 0, PredictorKind.HUMAN: 1}
# "ranked": Prediction.top5, TOP_K little-endian int16 class indices (annotate.models.RANKED_FORMAT).
FIELD_TYPES = {"int4": ">i4", "int8": ">i8", "wnid": f"S{WNID_LENGTH}", "ranked": np.dtype(("<i2", (TOP_K,)))}
HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
ASCII_ZEROS = np.uint64(0x3030303030303030)


class ScoreError(DomainError):
    """A request the scores cannot answer: an unknown dataset, split or metric."""


@cache
def _class_lookup():
    """int16 [largest class wnid number + 1]: the class index at each class wnid number, -1 elsewhere (30 MB)."""
    numbers = [int(wnid[1:]) for wnid in taxonomy.class_wnids()]
    lookup = np.full(max(numbers) + 1, -1, dtype=np.int16)
    lookup[numbers] = np.arange(len(numbers))
    return lookup


def class_indices(wnid_numbers):
    """The class index of each wnid number; -1 for a number that is not a class (or a missing one, < 0)."""
    lookup = _class_lookup()
    wnid_numbers = np.asarray(wnid_numbers)
    inside = (wnid_numbers >= 0) & (wnid_numbers < len(lookup))
    return np.where(inside, lookup[np.where(inside, wnid_numbers, 0)], np.int16(-1))


def wnid_numbers(letters, digits):
    """The numbers of wnids given as their first character (uint8 [N]) and their 8 digits packed in one big-endian
    integer (">u8" [N], "01440764" as 0x3031343430373634); -1 where they are not "n" and 8 digits.

    Reads the 8 digits of each at once: pairs of digits, then groups of 4, then all 8 (SWAR).
    """
    digits = digits.astype(np.uint64)
    valid = (letters == ord("n")) & ((digits & HIGH_NIBBLES) == ASCII_ZEROS)
    valid &= ((digits + np.uint64(0x0606060606060606)) & HIGH_NIBBLES) == ASCII_ZEROS  # no byte above "9"
    x = digits & np.uint64(0x0F0F0F0F0F0F0F0F)
    x = ((x >> np.uint64(8)) & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(10) + (x & np.uint64(0x00FF00FF00FF00FF))
    x = ((x >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(100) + (x & np.uint64(0x0000FFFF0000FFFF))
    x = (x >> np.uint64(32)) * np.uint64(10000) + (x & np.uint64(0xFFFFFFFF))
    return np.where(valid, x.astype(np.int64), -1)


def _wnid_fields(chars, offset, stride, count):
    """(first characters, packed digits) of `count` wnids of 9 bytes each in a buffer, `stride` bytes apart."""
    if not count:
        return np.zeros(0, np.uint8), np.zeros(0, ">u8")
    letters = np.ndarray((count,), np.uint8, chars, offset, (stride,))
    digits = np.ndarray((count,), ">u8", chars, offset + 1, (stride,))
    return letters, digits


@cache
def split_class_indices():
    """{split name: its class indices}, for every split of the taxonomy."""
    return {
        name: np.array(sorted(taxonomy.class_index(wnid) for wnid in taxonomy.split_classes(name)))
        for name in taxonomy.SPLITS
    }


def _datasets(names):
    """[(pk, name)] of the named datasets, in the order given; all datasets by name when none is named."""
    if not names:
        return [(pk, name) for name, pk in Dataset.objects.order_by("name").values_list("name", "pk")]
    found = dict(Dataset.objects.filter(name__in=names).values_list("name", "pk"))
    missing = [name for name in names if name not in found]
    if missing:
        raise DatasetNotFound(f"dataset {missing[0]!r} does not exist")
    return [(found[name], name) for name in dict.fromkeys(names)]


def _columns(sql, params, kinds, fast):
    """One array per column of a query whose values are never null: int64 for "int4" / "int8" columns, the wnid
    numbers (wnid_numbers) for "wnid" columns (9 characters), int16 [rows, TOP_K] for "ranked" columns."""
    with connection.cursor() as cursor:
        if fast and connection.vendor == "postgresql":
            return _copy_columns(cursor, sql, params, kinds)
        cursor.execute(sql, params)
        chunks = []
        while rows := cursor.fetchmany(FETCH_CHUNK):
            chunks.append(rows)
    rows = [row for chunk in chunks for row in chunk]
    columns = []
    for number, kind in enumerate(kinds):
        values = [row[number] for row in rows]
        if kind == "wnid":
            chars = np.array(values, dtype=f"S{WNID_LENGTH}").tobytes()  # shorter ones padded with NULs: invalid
            columns.append(wnid_numbers(*_wnid_fields(chars, 0, WNID_LENGTH, len(values))))
        elif kind == "ranked":
            columns.append(np.frombuffer(b"".join(values), "<i2").reshape(-1, TOP_K).astype(np.int16))
        else:
            columns.append(np.array(values, dtype=np.int64))
    return columns


def _copy_columns(cursor, sql, params, kinds):
    """COPY (query) TO STDOUT in binary, read in place by numpy (annotate.bulk.copy_records)."""
    rows = bulk.copy_records(cursor, sql, params, [FIELD_TYPES[kind] for kind in kinds])
    columns = []
    for number, kind in enumerate(kinds):
        if kind == "wnid":
            offset = rows.dtype.fields[f"value{number}"][1]
            columns.append(wnid_numbers(*_wnid_fields(rows, offset, rows.dtype.itemsize, len(rows))))
        elif kind == "ranked":
            columns.append(rows[f"value{number}"].astype(np.int16, copy=False))
        else:
            columns.append(rows[f"value{number}"].astype(np.int64))
    return columns


def load_inputs(dataset_names=(), *, fast=True):
    """The engine's inputs for the named datasets (all datasets when none is named), in six or seven queries; image_ids
    holds the database id of each image (column).

    Predictors without predictions on these datasets are left out; simulated and random-weight models do not
    vote. The human predictors of evaluation phases come with the images their participant had seen and the
    seconds they took. fast=False fetches through the cursor even on PostgreSQL (the path SQLite takes), for
    tests and the bench.
    """
    datasets = _datasets(list(dataset_names))
    dataset_ids = [pk for pk, _ in datasets]
    predictors = sorted(
        ClassifierModel.objects.values_list("pk", "name", "kind", "simulated", "random_weights"),
        key=lambda p: (KIND_ORDER.get(p[2], 2), p[1]),
    )
    image, item, flag = (model._meta.db_table for model in (Image, ReviewItem, ProblematicFlag))
    in_datasets = ", ".join(["%s"] * len(dataset_ids)) or "NULL"

    image_ids, image_datasets, originals, flagged, complete = _columns(
        f"""SELECT i.id, i.dataset_id, i.original_wnid, CASE WHEN f.id IS NULL THEN 0 ELSE 1 END,
                   CASE WHEN i.labels_complete THEN 1 ELSE 0 END
            FROM {image} i LEFT JOIN {flag} f ON f.image_id = i.id
            WHERE i.dataset_id IN ({in_datasets}) ORDER BY i.id""",
        dataset_ids,
        ["int8", "int8", "wnid", "int4", "int4"],
        fast,
    )
    verdict_case = " ".join("WHEN %s THEN %s" for _ in VERDICT_CODES)
    item_images, item_wnids, item_codes = _columns(
        f"""SELECT r.image_id, r.wnid, CASE r.verdict {verdict_case} END
            FROM {item} r WHERE r.dataset_id IN ({in_datasets}) AND r.verdict IN ({", ".join(["%s"] * 3)})""",
        [value for verdict, code in VERDICT_CODES.items() for value in (str(verdict), code)]
        + dataset_ids
        + [str(verdict) for verdict in VERDICT_CODES],
        ["int8", "wnid", "int4"],
        fast,
    )
    first, last = (int(image_ids[0]), int(image_ids[-1])) if len(image_ids) else (0, -1)
    model_ids, predicted_images, ranked = _predictions(predictors, dataset_ids, first, last, fast)

    # The image index of an image is its position in image_ids (ascending); pairs of no class are left out.
    item_keys = scoring.pair_keys(np.searchsorted(image_ids, item_images), class_indices(item_wnids))
    order = np.argsort(item_keys, kind="stable")
    item_keys, item_verdicts = item_keys[order], item_codes[order].astype(np.int8)
    decided = item_keys >= 0

    # Each prediction's column and predictor from tables indexed by id (searching would cost more, for millions of
    # predictions). Those of other datasets' images between the first and the last, of images deleted since their
    # model's blocks were packed, or of a predictor stored after the predictors were read, have none (-1) and are
    # left out.
    inside = (predicted_images >= first) & (predicted_images <= last)
    columns = np.full(len(predicted_images), -1, dtype=np.int64)
    columns[inside] = _position_table(image_ids - first, last - first + 1)[predicted_images[inside] - first]
    predictor_ids = np.array([p[0] for p in predictors], dtype=np.int64)
    size = max(predictor_ids.max(initial=-1), model_ids.max(initial=-1)) + 1
    predictor_of = _position_table(predictor_ids, size)[model_ids]
    ours = (columns >= 0) & (predictor_of >= 0)
    if not ours.all():
        columns, predictor_of, ranked = columns[ours], predictor_of[ours], ranked[ours]
    present = np.zeros(len(predictors), dtype=bool)
    present[predictor_of] = True
    predictors = [p for p, has in zip(predictors, present, strict=True) if has]
    cells = _position_table(np.flatnonzero(present), len(present))[predictor_of] * len(image_ids) + columns
    original = class_indices(originals)
    top1 = np.full((len(predictors), len(image_ids)), scoring.NO_PREDICTION, dtype=np.int16)
    top1.ravel()[cells] = ranked[:, 0]
    labels = original[columns]
    among = (ranked == labels[:, None]).any(axis=1)
    top5_hits = np.zeros(top1.shape, dtype=bool)
    # Padding ranks and wnids of no class are -1: they match no original label, not even one of no class.
    top5_hits.ravel()[cells] = among & (labels >= 0)
    seen, seconds = _participants_answers(predictors, image_ids, dataset_ids)
    return scoring.Inputs(
        predictors=[name for _, name, *_ in predictors],
        kinds=[str(kind) for _, _, kind, *_ in predictors],
        top1=top1,
        in_top5=top5_hits,
        original=original,
        problematic=flagged.astype(bool),
        dataset=_positions(dataset_ids, image_datasets),
        datasets=[name for _, name in datasets],
        item_keys=item_keys[decided],
        item_verdicts=item_verdicts[decided],
        splits=split_class_indices(),
        voters=np.array([not (simulated or random_weights) for *_, simulated, random_weights in predictors], bool),
        seen=seen,
        seconds=seconds,
        image_ids=image_ids,
        complete=complete.astype(bool),
    )


def _predictions(predictors, dataset_ids, first, last, fast):
    """(model ids, image ids, ranked classes) of the predictions on the datasets' images (ids first to last): from
    the models' prediction blocks, and from the rows of the models without blocks (annotate.prediction_blocks)."""
    model_ids, predicted_images, ranked, covered = prediction_blocks.read(dataset_ids, fast=fast)
    uncovered = sorted({pk for pk, *_ in predictors} - set(covered))
    if not uncovered or last < first:
        return model_ids, predicted_images, ranked
    # The images between the first and the last one by id rather than a join with the images (which costs more
    # than the rows it saves: a dataset's images are mostly one run of ids); those of other datasets' images in
    # between are left out by the caller.
    row_models, row_images, row_ranked = _columns(
        f"""SELECT p.model_id, p.image_id, p.top5 FROM {Prediction._meta.db_table} p
        WHERE p.model_id IN ({", ".join(["%s"] * len(uncovered))}) AND p.image_id BETWEEN %s AND %s""",
        [*uncovered, first, last],
        ["int8", "int8", "ranked"],
        fast,
    )
    return (
        np.concatenate([model_ids, row_models]),
        np.concatenate([predicted_images, row_images]),
        np.concatenate([ranked, row_ranked]),
    )


def _participants_answers(predictors, image_ids, dataset_ids):
    """({human predictor name: bool [I]}, {name: float [I]}): the images each phase participant's human predictor
    had seen, and the seconds they took per image (nan where they did not answer), in one query."""
    humans = {pk: name for pk, name, kind, *_ in predictors if kind == PredictorKind.HUMAN}
    answers = ParticipantImage.objects.filter(
        participant__model_id__in=humans,
        answered_at__isnull=False,
        phase_image__dataset_id__in=dataset_ids,
    ).values_list("participant__model_id", "phase_image__image_id", "seen", "started_at", "answered_at")
    seen, seconds = {}, {}
    for model_id, image_id, was_seen, started_at, answered_at in answers:
        name = humans[model_id]
        if name not in seen:
            seen[name] = np.zeros(len(image_ids), dtype=bool)
            seconds[name] = np.full(len(image_ids), np.nan)
        column = np.searchsorted(image_ids, image_id)
        seen[name][column] = was_seen
        seconds[name][column] = (answered_at - started_at).total_seconds()
    return seen, seconds


def _position_table(keys, size):
    """int64 [size]: at each number, its position in keys (distinct numbers below size), -1 if it is not one."""
    table = np.full(size, -1, dtype=np.int64)
    table[keys] = np.arange(len(keys))
    return table


def _positions(keys, values):
    """The position in keys (distinct) of each of values (each one of keys)."""
    keys = np.asarray(keys, dtype=np.int64)
    if not len(keys):
        return np.zeros(len(values), dtype=np.int64)
    sorter = np.argsort(keys)
    return sorter[np.searchsorted(keys, values, sorter=sorter)]


def _check(value, allowed, what):
    if value is not None and value not in allowed:
        raise ScoreError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def score_rows(dataset_names=(), *, split=None, metric=None, subset=None, fast=True):
    """The score rows (evaluation.scoring.ROW_KEYS) of the named datasets (all when none is named), optionally
    only those of one split, metric or subset."""
    _check(split, taxonomy.SPLITS, "split")
    _check(metric, scoring.METRICS, "metric")
    _check(subset, scoring.SUBSETS, "subset")
    inputs = load_inputs(dataset_names, fast=fast)
    if split is not None:
        inputs.splits = {split: inputs.splits[split]}
    rows = scoring.score(inputs, metrics=scoring.METRICS if metric is None else [metric])
    return rows if subset is None else [row for row in rows if row["subset"] == subset]


def drop_rows(dataset_names, *, split=None, metric=None, subset=None, fast=True):
    """The drops (evaluation.scoring.DROP_KEYS) from the first named dataset to each of the others."""
    names = list(dict.fromkeys(dataset_names))
    if len(names) < 2:
        raise ScoreError("drops need at least two datasets: the reference first, then the others")
    return scoring.drops(score_rows(names, split=split, metric=metric, subset=subset, fast=fast), names[0])
