"""Revisions of a new test set: sampling one (testsets.sampling over arrays read in bulk), making one a dataset that
the review loop, evaluation phases and scoring take, comparing two, exporting one."""

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Max

import taxonomy
from annotate.bulk import Coded, insert_columns, read_columns
from annotate.image_import import FILE_COLUMNS, register_images
from annotate.models import Dataset, Image
from config.exceptions import ConflictError, DomainError, NotFoundError
from taxonomy.wnids import WNID_LENGTH
from testsets import sampling
from testsets.holds import held_back
from testsets.models import (
    BIN_EDGES,
    Candidate,
    Revision,
    RevisionImage,
    SamplingStrategy,
    SelectionFrequency,
    TestSet,
)
from testsets.selectors import reference_classes, testset_named
from testsets.services import MAX_PER_CLASS

EXPORT_FORMATS = ("imagenetv2", "json")
# Numpy's generators take any non-negative integer; a revision keeps its seed in a bigint.
MAX_SEED = 2**63 - 1
WNID_BYTES = f"S{WNID_LENGTH}"
JOIN_MEMORY = "64MB"


def sample_testset(
    *,
    testset_name,
    strategy,
    per_class=None,
    seed=0,
    threshold=None,
    thresholds=None,
    from_revision=None,
    user=None,
    dry_run=False,
):
    """Sample a new revision of the test set with a strategy (matched-frequency, threshold or top) and save it with
    its (candidate, class) list. `per_class` defaults to the test set's; `threshold` (default 0.7) and
    `thresholds` ({wnid: threshold}, per-class overrides) are the threshold strategy's. With `from_revision` (a
    revision number) the new revision keeps that revision's images that still qualify and replaces only the rest;
    without, it starts afresh. The same data, seed and starting revision give the same sample.

    Returns {"revision", "upward", "short_classes": {wnid: {"wanted", "sampled", "reason"}}, "images": [{"file_name",
    "wnid", "frequency", "bin"}, ...]}. A sample that would hold no image is refused, and nothing is written. With
    `dry_run` (a preview) nothing is written either: the answer is the one saving would give, without "revision"."""
    parameters = _checked_parameters(strategy, per_class, seed, threshold, thresholds)
    testset = testset_named(testset_name)
    parameters["per_class"] = parameters["per_class"] or testset.per_class
    parameters["min_annotations"] = testset.min_annotations
    with transaction.atomic():
        if not dry_run:
            # One sampling of a test set at a time: each takes the next revision number.
            TestSet.objects.select_for_update().filter(pk=testset.pk).first()
        parent = None if from_revision is None else revision_numbered(testset, from_revision)
        wnids, candidates, blacklisted = _read_candidates(testset, parent)
        _check_override_classes(testset, parameters, wnids)
        sample = _sampled(strategy, candidates, _read_reference(testset, wnids), wnids, parameters, seed)
        if not len(sample.chosen):
            # No one input is at fault: the test set has nothing eligible to take (the message says why per class).
            raise DomainError(f"test set {testset.name!r}: no class could be sampled ({_short_summary(sample, wnids)})")
        chosen = _Chosen.of(sample, candidates)
        answer = {
            "upward": int(sample.upward.sum()),
            "short_classes": _short_classes(sample, wnids, candidates, blacklisted, parameters),
            "images": _image_rows(chosen, wnids),
        }
        if dry_run:
            return answer
        revision = Revision.objects.create(
            testset=testset,
            number=(testset.revisions.aggregate(last=Max("number"))["last"] or 0) + 1,
            strategy=strategy,
            parameters=parameters,
            seed=seed,
            parent=parent,
            upward=answer["upward"],
            short_classes=answer["short_classes"],
            created_by=user,
        )
        _save_images(revision, chosen, wnids)
    return {"revision": revision.number, **answer}


class _Chosen(NamedTuple):
    """The sampled candidates as columns, in the order the strategy chose them."""

    ids: np.ndarray
    classes: np.ndarray
    frequency: np.ndarray
    annotations: np.ndarray
    bins: np.ndarray
    upward: np.ndarray

    @classmethod
    def of(cls, sample, candidates):
        chosen = sample.chosen
        frequency = candidates.frequency[chosen]
        return cls(
            ids=candidates.ids[chosen],
            classes=candidates.classes[chosen],
            frequency=frequency,
            annotations=candidates.annotations[chosen],
            bins=sampling.bins(frequency, BIN_EDGES),
            upward=sample.upward,
        )


def _image_rows(chosen, wnids):
    """[{"file_name", "wnid", "frequency", "bin"}, ...] of the chosen candidates, in their order."""
    file_names = dict(
        Candidate.objects.filter(pk__in=chosen.ids.tolist()).values_list("pk", "image__file_name").order_by()
    )
    return [
        {"file_name": file_names[candidate], "wnid": wnids[code], "frequency": value, "bin": image_bin}
        for candidate, code, value, image_bin in zip(
            chosen.ids.tolist(), chosen.classes.tolist(), chosen.frequency.tolist(), chosen.bins.tolist(), strict=True
        )
    ]


def _save_images(revision, chosen, wnids):
    insert_columns(
        RevisionImage,
        {
            "revision": revision.pk,
            "candidate": chosen.ids,
            "wnid": Coded(chosen.classes, wnids),
            "frequency": chosen.frequency,
            "annotations": chosen.annotations,
            "bin": chosen.bins,
            "upward": chosen.upward,
        },
    )


def _checked_parameters(strategy, per_class, seed, threshold, thresholds):
    """The sampling parameters to record, each checked; a DomainError names the first one at fault."""
    if strategy not in SamplingStrategy.values:
        raise DomainError(
            f"unknown sampling strategy {strategy!r}; expected one of {', '.join(SamplingStrategy.values)}",
            field="strategy",
        )
    if per_class is not None and (
        isinstance(per_class, bool) or not isinstance(per_class, int) or not 1 <= per_class <= MAX_PER_CLASS
    ):
        raise DomainError(f"images per class must be 1-{MAX_PER_CLASS}, not {per_class!r}", field="per_class")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise DomainError(f"the seed must be a whole number 0-{MAX_SEED}, not {seed!r}", field="seed")
    parameters = {"per_class": per_class, "bin_edges": list(BIN_EDGES)}
    if strategy != SamplingStrategy.THRESHOLD:
        if threshold is not None or thresholds:
            raise DomainError(
                f"a threshold applies to the threshold strategy only, not to {strategy}", field="threshold"
            )
        if strategy == SamplingStrategy.MATCHED_FREQUENCY:
            parameters["min_reference"] = sampling.MIN_REFERENCE
        return parameters
    parameters["threshold"] = _checked_threshold(
        sampling.DEFAULT_THRESHOLD if threshold is None else threshold, "threshold"
    )
    if not isinstance(thresholds or {}, dict):
        raise DomainError("per-class thresholds must map wnids to thresholds", field="thresholds")
    overrides = {}
    for wnid, value in (thresholds or {}).items():
        if not taxonomy.is_class(wnid):
            raise DomainError(f"per-class threshold for {wnid!r}: not an ImageNet class", field="thresholds")
        overrides[wnid] = _checked_threshold(value, "thresholds", f" of {wnid}")
    parameters["thresholds"] = overrides
    return parameters


def _check_override_classes(testset, parameters, wnids):
    """Refuse per-class thresholds of classes outside the test set's (`wnids`): a typo'd wnid that happens to be
    another class would otherwise be taken and change nothing."""
    strangers = sorted(set(parameters.get("thresholds", {})) - set(wnids))
    if strangers:
        raise DomainError(
            f"per-class threshold for {', '.join(strangers)}: not a class of test set {testset.name!r} (neither "
            "its candidates nor its reference hold it)",
            field="thresholds",
        )


def _checked_threshold(value, field, of=""):
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DomainError(f"the threshold{of} must be a frequency 0-1, not {value!r}", field=field)
    return float(value)


def revision_numbered(testset, number):
    """The test set's revision of this number."""
    revision = (
        Revision.objects.filter(testset=testset, number=number)
        .select_related("testset", "dataset", "parent", "created_by")
        .first()
    )
    if revision is None:
        raise NotFoundError(f"test set {testset.name!r} has no revision {number!r}")
    return revision


def _read_candidates(testset, parent):
    """The classes in play (wnids, sorted: the candidates' and the reference's), the test set's candidates as
    sampling.Candidates (in id order, so that a seed draws the same for the same data) and their blacklist mask."""
    candidate, frequency = Candidate._meta.db_table, SelectionFrequency._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # PostgreSQL's default of 4 MB makes the join of 200,000 candidates with their frequencies spill to
            # disk in batches, several times slower; SET LOCAL lasts until the transaction ends.
            cursor.execute(f"SET LOCAL work_mem = '{JOIN_MEMORY}'")
    columns = read_columns(
        f"""SELECT c.id, c.wnid, COALESCE(f.annotations, 0)::bigint, COALESCE(f.selected, 0)::bigint,
            c.blacklist_reason <> ''
        FROM {candidate} c LEFT JOIN {frequency} f
            ON f.testset_id = c.testset_id AND f.image_id = c.image_id AND f.wnid = c.wnid
        WHERE c.testset_id = %s""",
        [testset.pk],
        [">i8", WNID_BYTES, ">i8", ">i8", "?"],
    )
    by_id = np.argsort(columns[0], kind="stable")  # in id order: sorted here, cheaper than in the query
    ids, wnid_bytes, annotations, selected, blacklisted = (column[by_id] for column in columns)
    wnids = sorted({wnid.decode() for wnid in np.unique(wnid_bytes)} | reference_classes(testset))
    previous = RevisionImage.objects.filter(revision=parent).values_list("candidate_id", flat=True) if parent else []
    candidates = sampling.Candidates(
        class_count=len(wnids),
        classes=_codes(wnid_bytes, wnids),
        ids=ids,
        frequency=sampling.frequencies(selected, annotations),
        annotations=annotations,
        eligible=sampling.eligible(
            annotations, blacklisted, testset.min_annotations, np.isin(ids, np.fromiter(held_back(testset), np.int64))
        ),
        previous=np.isin(ids, np.fromiter(previous, dtype=np.int64)),
    )
    return wnids, candidates, blacklisted


def _read_reference(testset, wnids):
    """The reference images' frequencies for their own class (as a positive control), as sampling.Reference."""
    image, frequency = Image._meta.db_table, SelectionFrequency._meta.db_table
    wnid_bytes, annotations, selected = read_columns(
        f"""SELECT f.wnid, f.annotations::bigint, f.selected::bigint
        FROM {frequency} f JOIN {image} i ON i.id = f.image_id
        WHERE f.testset_id = %s AND i.dataset_id = %s AND f.wnid = i.original_wnid""",
        [testset.pk, testset.reference_id],
        [WNID_BYTES, ">i8", ">i8"],
    )
    return sampling.Reference(
        classes=_codes(wnid_bytes, wnids),
        frequency=sampling.frequencies(selected, annotations),
        annotations=annotations,
    )


def _codes(wnid_bytes, wnids):
    """The code (place in `wnids`) of each wnid of a column read as bytes."""
    return np.searchsorted(np.array(wnids, dtype=WNID_BYTES), wnid_bytes)


def _sampled(strategy, candidates, reference, wnids, parameters, seed):
    per_class = parameters["per_class"]
    if strategy == SamplingStrategy.MATCHED_FREQUENCY:
        return sampling.matched_frequency(
            candidates,
            reference,
            per_class=per_class,
            min_annotations=parameters["min_annotations"],
            edges=BIN_EDGES,
            seed=seed,
            min_reference=parameters["min_reference"],
        )
    if strategy == SamplingStrategy.THRESHOLD:
        thresholds = [parameters["thresholds"].get(wnid, parameters["threshold"]) for wnid in wnids]
        return sampling.threshold(candidates, per_class=per_class, thresholds=thresholds, edges=BIN_EDGES, seed=seed)
    return sampling.top_images(candidates, per_class=per_class, edges=BIN_EDGES)


def _short_classes(sample, wnids, candidates, blacklisted, parameters):
    """{wnid: {"wanted", "sampled", "reason"}} of each class that got fewer images than wanted."""
    eligible = np.bincount(candidates.classes[candidates.eligible], minlength=candidates.class_count)
    unannotated = np.bincount(
        candidates.classes[(candidates.annotations < parameters["min_annotations"]) & ~blacklisted],
        minlength=candidates.class_count,
    )
    short = {}
    for code in sample.short.tolist():
        if sample.reference is not None and sample.reference[code] < parameters["min_reference"]:
            reason = (
                f"{sample.reference[code]} reference images with at least {parameters['min_annotations']} "
                f"annotations, {parameters['min_reference']} needed for the frequency histogram"
            )
        elif eligible[code] < sample.wanted[code]:
            reason = (
                f"{eligible[code]} eligible candidates ({unannotated[code]} more not blacklisted but with fewer than "
                f"{parameters['min_annotations']} annotations)"
            )
        elif sample.quota is not None:
            reason = "too few eligible candidates in the bins wanted and the bins above them"
        else:
            at_least = parameters["thresholds"].get(wnids[code], parameters["threshold"])
            reason = f"too few eligible candidates at or above frequency {at_least}"
        short[wnids[code]] = {
            "wanted": int(sample.wanted[code]),
            "sampled": int(sample.sampled[code]),
            "reason": reason,
        }
    return short


def _short_summary(sample, wnids):
    short = sample.short
    named = ", ".join(wnids[code] for code in short[:5].tolist())
    return f"{len(short)} classes short: {named}{', ...' if len(short) > 5 else ''}" if len(short) else "no classes"


def revision_dataset(revision):
    """The revision as a dataset named "<test set>-r<number>", made on the first call: one image per sampled
    candidate, of the same file name and file as the pool's image (the same stored file: files are stored under
    their checksum and never deleted with an image, so two images may share one) and labelled with the class it
    was sampled for, each with its original-label review item, as an import makes them. Refused while any of its
    images is blacklisted (blacklisted_since). Returns (the dataset, whether this call made it)."""
    with transaction.atomic():
        revision = Revision.objects.select_for_update(of=("self",)).select_related("testset").get(pk=revision.pk)
        if revision.dataset_id is not None:
            return revision.dataset, False
        name = f"{revision.testset.name}-r{revision.number}"
        blacklisted = blacklisted_since(revision)
        if blacklisted:
            raise ConflictError(
                f"{blacklisted} image{'s' if blacklisted != 1 else ''} of revision {revision.number} "
                f"{'were' if blacklisted != 1 else 'was'} blacklisted after it was sampled: sample a new revision from "
                f"revision {revision.number} (it leaves them out), and make that one a dataset"
            )
        if Dataset.objects.filter(name=name).exists():
            raise ConflictError(f"dataset {name!r}, the one revision {revision.number} would become, exists already")
        rows = RevisionImage.objects.filter(revision=revision).order_by("wnid", "candidate_id")
        register_images(
            dataset_name=name,
            rows=[
                (file_name, wnid, uri, f"revision {revision.number}: {file_name}")
                for file_name, wnid, uri in rows.values_list(
                    "candidate__image__file_name", "wnid", "candidate__image__source_uri"
                )
            ],
        )
        dataset = Dataset.objects.get(name=name)
        _share_pool_files(dataset, revision.testset.pool_id)
        revision.dataset = dataset
        revision.save(update_fields=["dataset"])
    return dataset, True


def blacklisted_since(revision):
    """How many of the revision's images are blacklisted now: they were not when it was sampled."""
    return RevisionImage.objects.filter(revision=revision).exclude(candidate__blacklist_reason="").count()


def _share_pool_files(dataset, pool_id):
    """Each image of `dataset` takes the file (and its size and checksum) of the pool's image of its file name."""
    quote = connection.ops.quote_name
    columns = [quote(Image._meta.get_field(name).column) for name in FILE_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {quote(Image._meta.db_table)} AS n SET {", ".join(f"{c} = p.{c}" for c in columns)}
            FROM {quote(Image._meta.db_table)} AS p
            WHERE n.dataset_id = %s AND p.dataset_id = %s AND p.file_name = n.file_name""",
            [dataset.pk, pool_id],
        )


def compare_revisions(first, second):
    """What changed from one revision of a test set to another: per class the file names added, removed and kept,
    and the counts of each in all."""
    if first.testset_id != second.testset_id:
        raise DomainError("revisions of different test sets cannot be compared")
    contents = [_revision_contents(revision) for revision in (first, second)]
    classes = {}
    for wnid in sorted(contents[0].keys() | contents[1].keys()):
        before, after = contents[0].get(wnid, set()), contents[1].get(wnid, set())
        classes[wnid] = {
            "added": sorted(after - before),
            "removed": sorted(before - after),
            "kept": sorted(before & after),
        }
    totals = {change: sum(len(lists[change]) for lists in classes.values()) for change in ("added", "removed", "kept")}
    return {"from": first.number, "to": second.number, **totals, "classes": classes}


def _revision_contents(revision):
    contents = {}
    for wnid, file_name in RevisionImage.objects.filter(revision=revision).values_list(
        "wnid", "candidate__image__file_name"
    ):
        contents.setdefault(wnid, set()).add(file_name)
    return contents


class RevisionExport(NamedTuple):
    """A revision's images as an export writes them, sorted by class and file name: dicts of file_name, wnid,
    frequency, bin and file (the stored file's name)."""

    testset: str
    revision: int
    fmt: str
    images: list

    @property
    def download_name(self):
        return f"{self.testset}-r{self.revision}.{'json' if self.fmt == 'json' else 'zip'}"

    def rows(self):
        """The json format's list: [{"file_name", "wnid", "frequency", "bin"}, ...]."""
        return [{key: image[key] for key in ("file_name", "wnid", "frequency", "bin")} for image in self.images]

    def class_folder_files(self):
        """(path in the imagenetv2 layout, "<class index>/<file name>"; stored file name) of each image."""
        return [(f"{taxonomy.class_index(image['wnid'])}/{image['file_name']}", image["file"]) for image in self.images]


def revision_export(*, testset_name, revision, fmt):
    """A RevisionExport of the test set's revision (by number) in a format of EXPORT_FORMATS, checked: the
    imagenetv2 format needs every image's file."""
    if fmt not in EXPORT_FORMATS:
        raise DomainError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}", field="format")
    testset = testset_named(testset_name)
    found = revision_numbered(testset, revision)
    images = list(
        RevisionImage.objects.filter(revision=found)
        .order_by("wnid", "candidate__image__file_name")
        .values(
            "wnid", "frequency", "bin", file_name=F("candidate__image__file_name"), file=F("candidate__image__file")
        )
    )
    missing = [image["file_name"] for image in images if not image["file"]] if fmt == "imagenetv2" else []
    if missing:
        raise DomainError(
            f"{len(missing)} images of the revision have no file here (registered from a manifest): "
            f"{', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}",
            field="revision",
        )
    return RevisionExport(testset=testset.name, revision=found.number, fmt=fmt, images=images)


def write_json(export, handle):
    """The json format of a RevisionExport, written to a text handle."""
    json.dump(export.rows(), handle, indent=1)


def copy_stored_file(stored, handle):
    """Copy a stored file (by its storage name) into a binary handle."""
    with default_storage.open(stored, "rb") as source:
        shutil.copyfileobj(source, handle)


def export_testset(*, testset_name, revision, fmt, out):
    """Write a revision to `out`: "imagenetv2", a new folder with a folder per class named by its class index
    holding its images' files (as ImageNetV2 is published); "json", a file with the list of its images
    [{"file_name", "wnid", "frequency", "bin"}, ...]. Either appears whole or not at all. Returns a summary."""
    export = revision_export(testset_name=testset_name, revision=revision, fmt=fmt)
    out = Path(out)
    if fmt == "json":
        _write_json_file(out, export)
    else:
        _write_class_folders(out, export)
    return {
        "testset": export.testset,
        "revision": export.revision,
        "format": fmt,
        "images": len(export.images),
        "out": str(out),
    }


def _write_json_file(out, export):
    if out.is_dir():
        raise DomainError(f"{out} is a folder; the json format writes a file", field="out")
    if not out.parent.is_dir():
        raise DomainError(f"{out.parent} is not a folder", field="out")
    with tempfile.NamedTemporaryFile("w", dir=out.parent, prefix=f".{out.name}.", delete=False) as handle:
        write_json(export, handle)
    Path(handle.name).replace(out)


def _write_class_folders(out, export):
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DomainError(f"{out} exists and is not an empty folder", field="out")
    if not out.parent.is_dir():
        raise DomainError(f"{out.parent} is not a folder", field="out")
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        for path, stored in export.class_folder_files():
            (staging / path).parent.mkdir(exist_ok=True)
            with open(staging / path, "wb") as copy:
                copy_stored_file(stored, copy)
        if out.exists():
            out.rmdir()
        staging.replace(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class _Pipe(io.RawIOBase):
    """A sink that cannot seek and keeps what is written until it is taken: zipfile writes an archive into it, and
    the archive goes out a file at a time."""

    def __init__(self):
        super().__init__()
        self.pending = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.pending += data
        return len(data)

    def take(self):
        data = bytes(self.pending)
        self.pending.clear()
        return data


def zip_chunks(export):
    """The imagenetv2 layout of a RevisionExport as a zip archive (files stored as they are: JPEGs do not shrink),
    in pieces of about a file each, for a streamed download."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED) as archive:
        for path, stored in export.class_folder_files():
            with archive.open(path, "w") as entry:
                copy_stored_file(stored, entry)
            yield pipe.take()
    yield pipe.take()
