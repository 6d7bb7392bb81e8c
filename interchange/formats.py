"""Interchange of a dataset's multi-label annotation: export as TFDS JSON, ReaL JSON, JSON Lines or CSV, and import
of the first three.

An import is checked whole before anything is written and is written in one transaction; what it says about labels
is stored as reviewers' verdicts (the importing account's, or those the file names), from which every label of the
dataset is then recomputed under its consensus rule.
"""

from collections.abc import Callable
from dataclasses import dataclass

from annotate import batches
from interchange import checks, csv_table, jsonl, real, services, tfds
from interchange.tfds import IMAGENET_M, dumps, export_tfds

__all__ = ["EXPORT_FORMATS", "FORMATS", "IMAGENET_M", "IMPORT_FORMATS", "dumps", "export", "export_tfds", "load"]


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    content_type: str
    export: Callable
    read: Callable | None  # None: export only


FORMATS = {
    fmt.name: fmt
    for fmt in (
        Format("tfds", "json", "application/json", tfds.export_chunks, tfds.read),
        Format("real", "json", "application/json", real.export_chunks, real.read),
        Format("jsonl", "jsonl", "application/jsonl", jsonl.export_chunks, jsonl.read),
        Format("csv", "csv", "text/csv; charset=utf-8", csv_table.export_chunks, None),
    )
}
EXPORT_FORMATS = tuple(FORMATS)
IMPORT_FORMATS = tuple(name for name, fmt in FORMATS.items() if fmt.read)


def export(dataset, fmt, m_slice=IMAGENET_M):
    """The export of a dataset in format `fmt`, as text chunks; `m_slice` is the slice TFDS calls imagenet_m."""
    if fmt == "tfds":
        return tfds.export_chunks(dataset, m_slice)
    return FORMATS[fmt].export(dataset)


def load(*, dataset, fmt, text, source, reviewer, user=None, dry_run=False, overwrite=False):
    """Import `text` (in format `fmt`, read from `source`) into the dataset as one import batch of `user`, all or
    nothing; label files (tfds, real) become the verdicts of the account named `reviewer`. Verdicts and flags
    already given are kept unless `overwrite`; a `dry_run` says what the import would change and writes nothing.
    Raises ImportFailed; returns a summary."""
    checks.username(reviewer, "the importing reviewer")
    plan = FORMATS[fmt].read(text, source=source, dataset=dataset, reviewer=reviewer)
    summary = batches.run_import(
        dataset=dataset,
        kind=fmt,
        source=source,
        user=user,
        dry_run=dry_run,
        overwrite=overwrite,
        write=lambda batch: services.store(dataset=dataset, plan=plan, batch=batch),
    )
    return {"format": fmt, **summary}
