"""Imports of a model's predictions from CSV, JSON or NumPy files, as one undoable batch."""

import json
import math
import os
import tokenize
from pathlib import Path

import numpy as np
from django.db import connection

import taxonomy
from annotate import batches, prediction_blocks
from annotate.bulk import insert_rows
from annotate.checks import check_file_name, check_model_name, parse_label, read_csv_rows
from annotate.errors import ImportFailed
from annotate.models import (
    TOP_K,
    ClassifierModel,
    Image,
    ImportKind,
    Prediction,
    ReplacedPrediction,
    ranked_classes,
)
from annotate.review_items import sync_review_items
from annotate.selectors import dataset_named

PREDICTION_FORMATS = ("csv", "json", "npy")


# Scores beyond this overflow when rounded to 6 decimal places.
SCORE_LIMIT = 1e300


def read_predictions(path, fmt, file_names, source=None):
    """{file name: (wnids, scores or None)} from a CSV, JSON or .npy file, every row validated. Messages name the
    file as `source` where given (an upload's own name: never the temporary path it was saved to), else by its path."""
    path = Path(path)
    source = source or path
    fmt = fmt or path.suffix.lstrip(".").lower()
    readers = {"csv": _predictions_from_csv, "json": _predictions_from_json, "npy": _predictions_from_npy}
    if fmt not in readers:
        raise ImportFailed(f"{source}: unknown predictions format {fmt!r}; use {', '.join(PREDICTION_FORMATS)}")
    if not path.is_file():
        raise ImportFailed(f"{source}: no such file")
    predictions = readers[fmt](path, file_names, source)
    known = set(file_names)
    for name, (_, _, where) in predictions.items():
        if name not in known:
            raise ImportFailed(f"{where}: {name} is not an image of this dataset")
    return {name: (wnids, scores) for name, (wnids, scores, _) in predictions.items()}


def _ranked(labels, where):
    if not 1 <= len(labels) <= TOP_K:
        raise ImportFailed(f"{where}: expected 1 to {TOP_K} ranked classes, got {len(labels)}")
    wnids = [parse_label(label, where) for label in labels]
    if len(set(wnids)) != len(wnids):
        raise ImportFailed(f"{where}: a class is listed twice")
    return wnids


def _predictions_from_csv(path, file_names, source):
    predictions = {}
    for number, row in read_csv_rows(path, source):
        where = f"{source}:{number}"
        name = check_file_name(row[0], where)
        if name in predictions:
            raise ImportFailed(f"{where}: {name} has a second prediction")
        predictions[name] = (_ranked([c for c in row[1:] if c], where), None, where)
    return predictions


def _predictions_from_json(path, file_names, source):
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFailed(f"{source}: not valid JSON ({exc})") from exc
    except RecursionError:
        raise ImportFailed(f"{source}: the JSON is nested too deeply") from None
    if isinstance(data, dict):
        data = [{"file_name": name, "wnids": labels} for name, labels in data.items()]
    if not isinstance(data, list):
        raise ImportFailed(f"{source}: expected an object {{file_name: [wnid, ...]}} or a list of objects")
    predictions = {}
    for number, entry in enumerate(data):
        where = f"{source}[{number}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("wnids"), list):
            raise ImportFailed(f"{where}: expected {{'file_name': ..., 'wnids': [...], 'scores': [...]}}")
        name = check_file_name(str(entry.get("file_name", "")), where)
        if name in predictions:
            raise ImportFailed(f"{where}: {name} has a second prediction")
        wnids = _ranked(entry["wnids"], where)
        scores = entry.get("scores")
        if scores is not None and (
            not isinstance(scores, list)
            or len(scores) != len(wnids)
            or not all(isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s) for s in scores)
        ):
            raise ImportFailed(f"{where}: 'scores' must be a list of {len(wnids)} finite numbers")
        predictions[name] = (wnids, scores, where)
    return predictions


def _read_npy(path, source):
    """The array of a .npy file, its header checked against the file before any data is read: np.load would take an
    empty file for EOFError, a .npz archive for something else than an array, and a header that announces more data
    than the file holds for memory to allocate."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported; use numpy.save")
            announced, held = math.prod(shape) * dtype.itemsize, os.fstat(handle.fileno()).st_size - handle.tell()
            # Object arrays (pickles) are refused by read_array itself.
            if announced != held and not dtype.hasobject:
                raise ValueError(f"its header announces {announced:,} bytes of data, the file holds {held:,}")
            handle.seek(0)
            return np.lib.format.read_array(handle, allow_pickle=False)
    # A malformed header fails in numpy's parsing of its Python literal (SyntaxError, tokenize.TokenError).
    except (ValueError, TypeError, EOFError, OSError, SyntaxError, tokenize.TokenError) as exc:
        raise ImportFailed(f"{source}: not a NumPy .npy file ({exc})") from exc


def _predictions_from_npy(path, file_names, source):
    array = _read_npy(path, source)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != len(file_names):
        raise ImportFailed(
            f"{source}: expected one row per image in dataset order ({len(file_names)} rows), got shape {array.shape}"
        )
    wnids = np.array(taxonomy.class_wnids())
    # By kind: numpy counts timedelta64 among its integers and long double among its floats.
    if array.dtype.kind == "f" and array.shape[1] == len(wnids):
        # In float64, so that rounding to 6 places overflows neither float16 nor float32 scores.
        array = array.astype(np.float64)
        top = np.argsort(-array, axis=1, kind="stable")[:, :TOP_K]
        scores = np.round(np.take_along_axis(array, top, axis=1), 6)
        if not (np.isfinite(array).all() and np.isfinite(scores).all()):
            row, col = np.argwhere(~np.isfinite(array) | (np.abs(array) > SCORE_LIMIT))[0]
            raise ImportFailed(
                f"{source}: row {row}, column {col}: score {array[row, col]} is not a finite number below "
                f"{SCORE_LIMIT:g}"
            )
        scores = scores.tolist()
    elif array.dtype.kind in "iu" and 1 <= array.shape[1] <= TOP_K:
        bad = np.argwhere((array < 0) | (array >= len(wnids)))
        if bad.size:
            row, col = bad[0]
            raise ImportFailed(
                f"{source}: row {row}, column {col}: class index {array[row, col]} is out of range 0-999"
            )
        top, scores = array, None
    else:
        raise ImportFailed(
            f"{source}: expected integer class indices (N,) or (N, <=5), or float scores (N, 1000); "
            f"got {array.dtype} {array.shape}"
        )
    names = wnids[top].tolist()
    return {
        name: (row, None if scores is None else scores[i], f"{source}: row {i}")
        for i, (name, row) in enumerate(zip(file_names, names, strict=True))
    }


def import_predictions(
    *, model_name, dataset_name, path, fmt=None, replace=False, description="", source=None, user=None, dry_run=False
):
    """Store a model's top-k predictions and add its new unique (image, wnid) pairs to the review queue, as one
    import batch (annotate.batches: a dry run says what it would do; undoing it brings back the predictions it
    replaced). Messages name the file as `source` where given (an upload's own name), else by its path."""
    dataset = dataset_named(dataset_name)
    check_model_name(model_name)
    source = source or path
    images = list(Image.objects.filter(dataset=dataset).order_by("position").values_list("file_name", "pk"))
    image_ids = dict(images)
    predictions = read_predictions(path, fmt, [name for name, _ in images], source)
    if not predictions:
        raise ImportFailed(f"{source}: no predictions in the file")

    def store(batch):
        model, created = ClassifierModel.objects.get_or_create(name=model_name, defaults={"description": description})
        batch.undo_data.update(model=model.pk, model_created=created)
        already = Prediction.objects.filter(model=model, image__dataset=dataset)
        replaced = already.count()
        if replaced:
            if not replace:
                raise ImportFailed(
                    f"model {model_name!r} already has {replaced} predictions on dataset {dataset.name!r}; "
                    "pass replace to overwrite them"
                )
            _keep_replaced(batch, model, dataset)
            already.delete()
        insert_rows(
            Prediction,
            ["model", "image", "top1_wnid", "wnids", "scores", "top5", "batch"],
            (
                (model.pk, image_ids[name], wnids[0], wnids, scores, ranked_classes(wnids), batch.pk)
                for name, (wnids, scores) in predictions.items()
            ),
        )
        added = sync_review_items(dataset=dataset, model=model, removed_predictions=bool(replaced), batch=batch)
        prediction_blocks.rebuild(model.pk)
        return {
            "model": model.name,
            "dataset": dataset.name,
            "predictions": len(predictions),
            "predictions_replaced": replaced,
            "model_created": created,
            "new_review_items": added,
        }

    return batches.run_import(
        dataset=dataset, kind=ImportKind.PREDICTIONS, source=source, user=user, dry_run=dry_run, write=store
    )


def _keep_replaced(batch, model, dataset):
    """Copy the model's predictions on the dataset, which the import `batch` replaces, into ReplacedPrediction for
    its undoing, in one statement."""
    kept, prediction, image = (table._meta.db_table for table in (ReplacedPrediction, Prediction, Image))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {kept} (batch_id, model_id, image_id, top1_wnid, wnids, scores, prediction_batch_id)
            SELECT %s, p.model_id, p.image_id, p.top1_wnid, p.wnids, p.scores, p.batch_id
            FROM {prediction} p JOIN {image} i ON i.id = p.image_id WHERE p.model_id = %s AND i.dataset_id = %s""",
            [batch.pk, model.pk, dataset.pk],
        )
