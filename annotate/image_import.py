"""Imports of a dataset's images: a folder of ImageNet's layout, or a manifest of file names and labels."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

import taxonomy
from annotate.bulk import insert_rows
from annotate.checks import (
    check_dataset_name,
    check_file_name,
    check_source_uri,
    file_name_problem,
    parse_label,
    read_csv_rows,
)
from annotate.errors import ImportFailed
from annotate.images import BadImage, check_image
from annotate.models import (
    Dataset,
    Image,
    ReviewItem,
)
from taxonomy.wnids import LEADING_WNID, WNID_PATTERN

IMAGE_BATCH = 200


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
            raise ImportFailed(
                f"{where}: expected 'filename,wnid[,uri]', got {len(row)} column{'s' if len(row) != 1 else ''}"
            )
        rows.append(manifest_row(row, where, seen))
    if not rows:
        raise ImportFailed(f"{source}: no images in the manifest")
    with transaction.atomic():
        return register_images(dataset_name=dataset_name, rows=rows)


def manifest_row(row, where, seen):
    """(file name, wnid, uri, where) of a manifest row filename,wnid[,uri,...], checked; `seen` holds the file names
    of the rows before it."""
    name = check_file_name(row[0], where)
    if name in seen:
        raise ImportFailed(f"{where}: {name} is listed twice")
    seen.add(name)
    uri = check_source_uri(row[2], where) if len(row) >= 3 and row[2] else ""
    return name, parse_label(row[1], where), uri, where


def register_images(*, dataset_name, rows):
    """Register the images of checked manifest rows (manifest_row) in the dataset, created where new; an image
    already there is skipped if its label is the same. Inside the caller's transaction."""
    report = ImportReport()
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
