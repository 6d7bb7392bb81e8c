"""Writes of new test sets: creating one, importing its candidates, keeping their blacklist."""

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from annotate.checks import DATASET_NAME, read_csv_rows
from annotate.image_import import import_image_folder, manifest_row, register_images
from annotate.models import Dataset, Image
from annotate.selectors import dataset_named
from config.exceptions import DomainError, NotFoundError
from interchange import checks
from testsets.models import NAME_MAX_LENGTH, BlacklistChange, BlacklistReason, Candidate, TestSet
from testsets.selectors import testset_named

POOL_SUFFIX = "-candidates"
MAX_PER_CLASS = 1000
# filename,wnid are those of annotate's manifests; the rest describe where a candidate came from.
MANIFEST_COLUMNS = ("filename", "wnid", "uri", "source_id", "search_key", "date_taken", "date_uploaded")
MAX_SOURCE_TEXT = 200


def create_testset(*, name, reference_name, per_class=10, user=None):
    """A new test set built against the reference dataset, with an empty pool dataset for its candidates."""
    pool_name = f"{name}{POOL_SUFFIX}"
    if not isinstance(name, str) or len(name) > NAME_MAX_LENGTH - len(POOL_SUFFIX) or not DATASET_NAME.match(name):
        raise DomainError(
            f"test set name {name!r} must be letters, digits, '-' or '_' (at most "
            f"{NAME_MAX_LENGTH - len(POOL_SUFFIX)})",
            field="name",
        )
    if not isinstance(per_class, int) or not 1 <= per_class <= MAX_PER_CLASS:
        raise DomainError(f"images per class must be 1-{MAX_PER_CLASS}, not {per_class!r}", field="per_class")
    reference = dataset_named(reference_name)
    with transaction.atomic():
        if TestSet.objects.filter(name=name).exists():
            raise DomainError(f"a test set named {name!r} already exists", field="name")
        if Dataset.objects.filter(name=pool_name).exists():
            raise DomainError(f"dataset {pool_name!r}, the pool this test set needs, exists already", field="name")
        pool = Dataset.objects.create(name=pool_name)
        return TestSet.objects.create(name=name, reference=reference, pool=pool, per_class=per_class, created_by=user)


def import_candidates(*, testset_name, directory=None, manifest=None, source=None):
    """Add candidates to the test set's pool: image files from a folder (the layouts of import_images), or rows
    of a manifest CSV filename,wnid[,uri,source_id,search_key,date_taken,date_uploaded] (files elsewhere; all rows
    or none). Returns a summary."""
    testset = testset_named(testset_name)
    if (directory is None) == (manifest is None):
        raise DomainError("give a folder or a manifest, not both and not neither")
    if directory is not None:
        report = import_image_folder(dataset_name=testset.pool.name, directory=directory)
        with transaction.atomic():
            added = _add_candidates(testset, {})
        return {"testset": testset.name, **report.as_dict(), "candidates_added": added}
    rows, metadata = _manifest(manifest, source or str(manifest))
    with transaction.atomic():
        report = register_images(dataset_name=testset.pool.name, rows=rows)
        added = _add_candidates(testset, metadata)
    return {"testset": testset.name, **report.as_dict(), "candidates_added": added}


def _manifest(path, source):
    rows, metadata, seen = [], {}, set()
    for number, row in read_csv_rows(path, source):
        where = f"{source}:{number}"
        if not 2 <= len(row) <= len(MANIFEST_COLUMNS):
            raise DomainError(f"{where}: expected '{','.join(MANIFEST_COLUMNS)}' (the last five optional)")
        checked = manifest_row(row, where, seen)
        rows.append(checked)
        cells = dict(zip(MANIFEST_COLUMNS[3:], row[3:], strict=False))
        metadata[checked[0]] = {
            "source_id": _text(cells.get("source_id", ""), "source_id", where),
            "search_key": _text(cells.get("search_key", ""), "search_key", where),
            "date_taken": _date(cells.get("date_taken", ""), "date_taken", where),
            "date_uploaded": _date(cells.get("date_uploaded", ""), "date_uploaded", where),
        }
    if not rows:
        raise DomainError(f"{source}: no candidates in the manifest")
    return rows, metadata


def _text(value, column, where):
    if len(value) > MAX_SOURCE_TEXT:
        raise DomainError(f"{where}: {column} is longer than {MAX_SOURCE_TEXT} characters")
    return value


def _date(value, column, where):
    """An ISO 8601 date or time (a date alone is midnight UTC); empty: unknown."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{where}: {column} {value!r} is not an ISO 8601 date such as 2012-07-14") from None
    return checks.in_range(parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC), f"{where}: {column}")


def _add_candidates(testset, metadata):
    """A candidate for each image of the pool that has none yet, described by `metadata` {file name: fields}."""
    images = Image.objects.filter(dataset=testset.pool, candidate__isnull=True).values_list(
        "pk", "file_name", "original_wnid"
    )
    candidates = [
        Candidate(testset=testset, image_id=pk, wnid=wnid, **metadata.get(file_name, {}))
        for pk, file_name, wnid in images
    ]
    Candidate.objects.bulk_create(candidates, batch_size=5000)
    return len(candidates)


def set_blacklisted(*, candidate_id, user, reason, note=""):
    """Put a candidate on the blacklist with a reason (`reason` blank: take it off), recorded with who and when."""
    if reason and reason not in BlacklistReason.values:
        raise DomainError(
            f"unknown blacklist reason {reason!r}; expected one of {', '.join(BlacklistReason.values)}",
            field="reason",
        )
    if reason == BlacklistReason.OTHER and not note.strip():
        raise DomainError("say why in a note when the reason is 'other'", field="note")
    with transaction.atomic():
        candidate = Candidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None:
            raise NotFoundError(f"candidate {candidate_id} does not exist")
        if (candidate.blacklist_reason, candidate.blacklist_note) == (reason, note if reason else ""):
            return candidate
        candidate.blacklist_reason, candidate.blacklist_note = reason, note if reason else ""
        candidate.save(update_fields=["blacklist_reason", "blacklist_note"])
        BlacklistChange.objects.create(
            candidate=candidate, reason=reason, note=note, changed_by=user, changed_at=timezone.now()
        )
    return candidate
