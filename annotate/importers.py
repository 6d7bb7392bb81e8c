"""Bringing images, manifests and predictions into the platform, in bulk and all-or-nothing."""

import csv
import ipaddress
import json
import math
import os
import re
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

import taxonomy
from annotate import batches, bulk, labelling, prediction_blocks
from annotate.bulk import insert_rows
from annotate.errors import ImportFailed
from annotate.images import BadImage, check_image
from annotate.models import (
    TOP_K,
    ClassifierModel,
    Dataset,
    Image,
    ImportKind,
    Prediction,
    ReplacedPrediction,
    ReviewItem,
    Verdict,
    ranked_classes,
)
from taxonomy.wnids import LEADING_WNID, WNID_LENGTH, WNID_PATTERN

DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
IMAGE_BATCH = 200
# Characters in one line of a CSV file: far above any real row, far below what would exhaust memory.
MAX_CSV_LINE = 64 * 1024
MAX_URI_LENGTH = 1000


@dataclass
class ImportReport:
    added: int = 0
    attached: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)

    def as_dict(self):
        return {
            "added": self.added,
            "attached": self.attached,
            "skipped": self.skipped,
            "failed": [{"path": path, "error": error} for path, error in self.failed],
        }


def check_dataset_name(name):
    if not DATASET_NAME.match(name or ""):
        raise ImportFailed(f"dataset name {name!r} must be letters, digits, '-' or '_' (at most 100)")
    return name


def dataset_named(name):
    check_dataset_name(name)
    try:
        return Dataset.objects.get(name=name)
    except Dataset.DoesNotExist:
        raise ImportFailed(f"dataset {name!r} does not exist") from None


def check_model_name(name):
    """Model names appear in URLs: 1-200 printable characters without '/'."""
    if not name or len(name) > 200 or "/" in name or not name.isprintable():
        raise ImportFailed(f"model name {name!r} must be 1 to 200 printable characters without '/'")
    return name


def file_name_problem(name):
    """What is wrong with an image's file name, or None: it is stored and shown, never used as a path."""
    if not name or name in {".", ".."} or any(c in name for c in "/\\\0") or not name.isprintable():
        return f"file name {name!r} must be a bare file name without path separators or control characters"
    if len(name) > 255:
        return f"file name is {len(name)} characters long; at most 255"
    return None


def check_file_name(name, where):
    problem = file_name_problem(name)
    if problem:
        raise ImportFailed(f"{where}: {problem}")
    return name


def check_source_uri(uri, where):
    """A manifest's uri says where an image's file lives. Nothing fetches it (files arrive by import_images),
    but it must still lie under one of SOURCE_URI_ROOTS and never point at this machine or its network."""
    if len(uri) > MAX_URI_LENGTH or not uri.isprintable() or any(c.isspace() for c in uri):
        raise ImportFailed(f"{where}: uri must be at most {MAX_URI_LENGTH} printable characters without spaces")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as exc:
        raise ImportFailed(f"{where}: uri {uri!r} is not a valid URI ({exc})") from None
    # A root names a folder: https://data.example.org must not admit https://data.example.org.evil.com.
    roots = [root if root.endswith("/") else f"{root}/" for root in settings.SOURCE_URI_ROOTS if root]
    if not any(uri.startswith(root) for root in roots):
        raise ImportFailed(f"{where}: uri {uri!r} is outside the allowed storage roots ({', '.join(roots)})")
    if parts.username is not None or parts.password is not None:
        raise ImportFailed(f"{where}: uri {uri!r} carries credentials; give storage access to the workers instead")
    if ".." in parts.path.split("/"):
        raise ImportFailed(f"{where}: uri {uri!r} climbs out of its folder with '..'")
    if parts.scheme in {"http", "https"} and _is_local_host(parts.hostname or ""):
        raise ImportFailed(f"{where}: uri {uri!r} points at a local or private network address")
    return uri


def _is_local_host(host):
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or "." not in host:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def parse_label(value, where):
    """A wnid or a class index (0-999) as the wnid of an ImageNet-1k class."""
    value = str(value).strip()
    if value.isdigit():
        index = int(value)
        if index >= len(taxonomy.class_wnids()):
            raise ImportFailed(f"{where}: class index {index} is out of range 0-{len(taxonomy.class_wnids()) - 1}")
        return taxonomy.wnid_for_index(index)
    if not taxonomy.is_class(value):
        raise ImportFailed(f"{where}: {value!r} is not the wnid or class index of an ImageNet-1k class")
    return value


def _bounded_lines(handle, source):
    """The lines of a text file, refusing one over MAX_CSV_LINE characters before reading all of it."""
    number = 0
    while line := handle.readline(MAX_CSV_LINE + 1):
        number += 1
        if len(line) > MAX_CSV_LINE:
            raise ImportFailed(f"{source}:{number}: the line is longer than {MAX_CSV_LINE:,} characters")
        yield line


def read_csv_rows(path, source=None):
    """Rows of a CSV file with their line numbers, skipping a header that starts with 'filename'. Messages name the
    file as `source` (an upload's own name: never the temporary path it was saved to), or else by its path."""
    source = source or path
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(_bounded_lines(handle, source)), start=1):
                if not row or (number == 1 and row[0].strip().lower() in {"filename", "file_name"}):
                    continue
                row = [cell.strip() for cell in row]
                if number == 1 and len(row) > 1 and not (WNID_PATTERN.match(row[1]) or row[1].isdigit()):
                    raise ImportFailed(
                        f"{source}:1: {row[1]!r} is neither a wnid nor a class index; a header row must start "
                        "with 'filename'"
                    )
                yield number, row
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{source}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise ImportFailed(f"{source}: not a valid CSV file ({exc})") from exc


def read_labels_file(path):
    labels = {}
    for number, row in read_csv_rows(path):
        where = f"{path}:{number}"
        if len(row) < 2:
            raise ImportFailed(f"{where}: expected 'filename,wnid'")
        name = check_file_name(row[0], where)
        if name in labels:
            raise ImportFailed(f"{where}: {name} is listed twice")
        labels[name] = parse_label(row[1], where)
    return labels


def find_image_files(directory, labels=None):
    """(path, file name, wnid or error) for a DIR/<wnid>/<file> tree or a flat folder."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ImportFailed(f"{directory} is not a directory")
    class_dirs = sorted(p for p in directory.iterdir() if p.is_dir() and WNID_PATTERN.match(p.name))
    if class_dirs and labels is None:
        for class_dir in class_dirs:
            for path in sorted(class_dir.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    yield path, path.name, class_dir.name
        return
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if labels is not None:
            yield path, path.name, labels.get(path.name)
        else:
            match = LEADING_WNID.match(path.name)
            yield path, path.name, match.group(1) if match else None


def import_image_folder(*, dataset_name, directory, labels_file=None, progress=lambda items, total: items):
    """Import a folder of images; each bad file is reported with its path and skipped. The dataset is
    created with its first image."""
    check_dataset_name(dataset_name)
    labels = read_labels_file(labels_file) if labels_file else None
    files = list(find_image_files(directory, labels))
    existing = {
        name: (pk, bool(file), wnid)
        for name, pk, file, wnid in Image.objects.filter(dataset__name=dataset_name).values_list(
            "file_name", "pk", "file", "original_wnid"
        )
    }
    report = ImportReport()
    todo, seen = [], set()
    for path, name, wnid in files:
        if name in seen:
            report.failed.append((str(path), f"another file in this import is also named {name}"))
            continue
        seen.add(name)
        if file_name_problem(name):
            report.failed.append((str(path), file_name_problem(name)))
        elif name in existing and existing[name][1]:
            report.skipped += 1
        elif wnid is None:
            report.failed.append((str(path), "no label: not under a wnid folder, not in the labels file"))
        elif not taxonomy.is_class(wnid):
            report.failed.append((str(path), f"unknown wnid {wnid}: not an ImageNet-1k class"))
        elif name in existing and existing[name][2] != wnid:
            report.failed.append((str(path), f"label {wnid} differs from the registered label {existing[name][2]}"))
        else:
            todo.append((path, name, wnid))

    def check(entry):
        path, _, _ = entry
        try:
            return entry, check_image(path.read_bytes(), settings.MAX_IMAGE_PIXELS), None
        except (BadImage, OSError) as exc:
            return entry, None, str(exc)

    with ThreadPoolExecutor(max_workers=4) as pool:
        batch = []
        for entry, checked, error in progress(pool.map(check, todo), len(todo)):
            if error:
                report.failed.append((str(entry[0]), error))
                continue
            batch.append((entry[1], entry[2], checked))
            if len(batch) >= IMAGE_BATCH:
                _store_batch(dataset_name, batch, existing, report)
                batch = []
        _store_batch(dataset_name, batch, existing, report)
    return report


def _store_batch(dataset_name, batch, existing, report):
    if not batch:
        return
    stored = []
    for name, wnid, checked in batch:
        # Files go under their checksum: one left behind by a failed transaction is reused by the next import.
        storage_name = checked.storage_name(dataset_name)
        if not default_storage.exists(storage_name):
            storage_name = default_storage.save(storage_name, ContentFile(checked.data))
        stored.append((name, wnid, checked, storage_name))
    with transaction.atomic():
        dataset = Dataset.objects.get_or_create(name=dataset_name)[0]
        position = _lock_next_position(dataset)
        new_images, attached = [], []
        for name, wnid, checked, storage_name in stored:
            fields = {
                "file": storage_name,
                "width": checked.width,
                "height": checked.height,
                "size_bytes": len(checked.data),
                "sha256": checked.sha256,
            }
            if name in existing:
                attached.append(Image(pk=existing[name][0], **fields))
            else:
                new_images.append((name, wnid, "", fields))
        Image.objects.bulk_update(attached, FILE_COLUMNS)
        _insert_images(dataset, position, new_images)
    report.added += len(new_images)
    report.attached += len(attached)


IMAGE_COLUMNS = ["dataset", "position", "file_name", "original_wnid", "source_uri", "pending_items", "created_at"]
FILE_COLUMNS = ["file", "width", "height", "size_bytes", "sha256"]
NO_FILE = {"file": "", "width": None, "height": None, "size_bytes": None, "sha256": ""}


def _lock_next_position(dataset):
    """Serialise imports into one dataset and return its next free position."""
    Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
    return (Image.objects.filter(dataset=dataset).aggregate(m=Max("position"))["m"] or -1) + 1


def _insert_images(dataset, first_position, images):
    """Insert (name, wnid, uri, file fields or None) from `first_position` on, with their original-label items."""
    if not images:
        return
    now = timezone.now()
    insert_rows(
        Image,
        IMAGE_COLUMNS + FILE_COLUMNS,
        (
            (dataset.pk, first_position + i, name, wnid, uri, 1, now, *[(fields or NO_FILE)[c] for c in FILE_COLUMNS])
            for i, (name, wnid, uri, fields) in enumerate(images)
        ),
    )
    item, image = ReviewItem._meta.db_table, Image._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {item} (image_id, dataset_id, wnid, is_original, model_count, verdict, created_at)
            SELECT id, dataset_id, original_wnid, TRUE, 0, 'unreviewed', %s FROM {image}
            WHERE dataset_id = %s AND position >= %s""",
            [now, dataset.pk, first_position],
        )


def register_manifest(*, dataset_name, manifest_file, source=None):
    """Register images whose files are elsewhere (CSV filename,wnid[,uri]); all rows or none. Messages name the file
    as `source` where given (an upload's own name), else by its path."""
    check_dataset_name(dataset_name)
    source = source or manifest_file
    rows, seen = [], set()
    for number, row in read_csv_rows(manifest_file, source):
        where = f"{source}:{number}"
        if len(row) not in (2, 3):
            raise ImportFailed(f"{where}: expected 'filename,wnid[,uri]', got {len(row)} columns")
        name = check_file_name(row[0], where)
        if name in seen:
            raise ImportFailed(f"{where}: {name} is listed twice")
        seen.add(name)
        uri = check_source_uri(row[2], where) if len(row) == 3 and row[2] else ""
        rows.append((name, parse_label(row[1], where), uri, where))
    if not rows:
        raise ImportFailed(f"{source}: no images in the manifest")
    report = ImportReport()
    with transaction.atomic():
        dataset = Dataset.objects.get_or_create(name=dataset_name)[0]
        position = _lock_next_position(dataset)
        existing = dict(Image.objects.filter(dataset=dataset).values_list("file_name", "original_wnid"))
        new_images = []
        for name, wnid, uri, where in rows:
            if name not in existing:
                new_images.append((name, wnid, uri, None))
            elif existing[name] != wnid:
                raise ImportFailed(f"{where}: {name} is already registered with label {existing[name]}, not {wnid}")
            else:
                report.skipped += 1
        _insert_images(dataset, position, new_images)
    report.added = len(new_images)
    return report


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
