"""JSON Lines: one line per image with everything about it (original label, problematic flag, and per review item
its label, where the label comes from, the consensus posterior and every reviewer's current verdict).

An import restores reviewers' verdicts, flags, adjudications and golden answers; labels, posteriors and
needs_adjudication are then recomputed under the dataset's consensus rule (they come out the same under the rule of
the dataset that was exported). Verdict histories are not carried: each restored verdict is one change.
"""

import json

from annotate.errors import ImportFailed
from annotate.labelling import FIXED_SOURCES
from annotate.models import DecidedVerdict, LabelSource, ProblemReason, Verdict
from interchange import checks, selectors
from interchange.services import FixedLabel, Flag, ImportPlan, Vote

LINE_KEYS = ("file_name", "original_wnid", "problematic", "items")
FLAG_KEYS = ("reason", "note", "reviewer", "time_marked", "time_reviewed")
ITEM_KEYS = ("wnid", "label", "source", "decided_by", "posterior", "needs_adjudication", "verdicts")
POSTERIOR_KEYS = ("correct", "wrong", "unclear")
VERDICT_KEYS = ("reviewer", "verdict", "at")
# Plain tuples: the choices' `values` are rebuilt at each use, and a file has a value per item.
LABELS, SOURCES, REASONS = tuple(Verdict.values), tuple(LabelSource.values), tuple(ProblemReason.values)
FIXED_LABELS = tuple(DecidedVerdict.values)
REVIEWER_VERDICTS = tuple(value for value in LABELS if value != Verdict.UNREVIEWED)
# Text yielded at once: a streamed response writes few large chunks rather than a line at a time.
CHUNK_CHARACTERS = 1 << 16


def export_chunks(dataset):
    """The lines, streamed (selectors.images_with_labels) and yielded about CHUNK_CHARACTERS at a time."""
    names = selectors.usernames_by_id()
    chunk, size = [], 0
    for file_name, original_wnid, flag, labels in selectors.images_with_labels(dataset):
        line = {
            "file_name": file_name,
            "original_wnid": original_wnid,
            "problematic": flag and _flag(*flag),
            "items": [
                {
                    "wnid": label.wnid,
                    "label": label.label,
                    "source": label.source,
                    "decided_by": names.get(label.decided_by),
                    "posterior": label.posterior and dict(zip(POSTERIOR_KEYS, label.posterior, strict=True)),
                    "needs_adjudication": label.needs_adjudication,
                    "verdicts": [
                        {"reviewer": names[reviewer], "verdict": value, "at": at.isoformat()}
                        for reviewer, value, at in verdicts
                    ],
                }
                for label, verdicts in labels
            ],
        }
        chunk.append(json.dumps(line, separators=(",", ":")) + "\n")
        size += len(chunk[-1])
        if size >= CHUNK_CHARACTERS:
            yield "".join(chunk)
            chunk, size = [], 0
    yield "".join(chunk)


def _flag(reason, note, reviewer, time_marked, time_reviewed):
    return {
        "reason": reason,
        "note": note,
        "reviewer": reviewer,
        "time_marked": time_marked.isoformat(),
        "time_reviewed": time_reviewed.isoformat(),
    }


def read(text, *, source, dataset, reviewer=None):
    """The ImportPlan of a JSON Lines file; every line is checked before anything is written. The file names its
    reviewers, so `reviewer` (the importing account) is not needed."""
    images = selectors.image_ids_by_name(dataset)
    originals = selectors.original_wnids_by_name(dataset)
    plan = ImportPlan(source=source, images=0, labels={})
    line_of = {}
    # Not splitlines(): JSON strings may hold U+2028 and other line breaks, never a raw "\n".
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        record = checks.json_document(line, where)
        checks.object_keys(record, LINE_KEYS, (), where)
        name = record["file_name"]
        image_id = checks.image_named(images, name, dataset, where)
        if name in line_of:
            raise ImportFailed(f"{where}: {name} is on line {line_of[name]} already")
        line_of[name] = number
        if record["original_wnid"] != originals[name]:
            raise ImportFailed(
                f"{where}: original_wnid {record['original_wnid']!r} is not the original label of {name} in "
                f"dataset {dataset.name!r} ({originals[name]})"
            )
        if record["problematic"] is not None:
            plan.flags.append(_read_flag(record["problematic"], image_id, f"{where}: problematic"))
        if not isinstance(record["items"], list):
            raise ImportFailed(f"{where}: items must be a list")
        wnids = set()
        for index, item in enumerate(record["items"]):
            wnid = _read_item(item, image_id, plan, f"{where}: items[{index}]")
            if wnid in wnids:
                raise ImportFailed(f"{where}: items[{index}]: {wnid} is listed twice")
            wnids.add(wnid)
    plan.images = len(line_of)
    return plan


def _read_flag(flag, image_id, where):
    checks.object_keys(flag, FLAG_KEYS, (), where)
    if flag["reason"] not in REASONS:
        raise ImportFailed(f"{where}.reason: {flag['reason']!r} is not one of {', '.join(REASONS)}")
    if not isinstance(flag["note"], str):
        raise ImportFailed(f"{where}.note must be text")
    return Flag(
        image_id,
        flag["reason"],
        flag["note"],
        checks.username(flag["reviewer"], f"{where}.reviewer"),
        checks.time(flag["time_marked"], f"{where}.time_marked"),
        checks.time(flag["time_reviewed"], f"{where}.time_reviewed"),
    )


def _read_item(item, image_id, plan, where):
    """Add one review item of a line to `plan`; returns its wnid."""
    checks.object_keys(item, ITEM_KEYS, (), where)
    wnid = checks.class_wnid(item["wnid"], f"{where}.wnid")
    label, source, decided_by = item["label"], item["source"], item["decided_by"]
    if label not in LABELS:
        raise ImportFailed(f"{where}.label: {label!r} is not one of {', '.join(LABELS)}")
    if source not in SOURCES:
        raise ImportFailed(f"{where}.source: {source!r} is not one of {', '.join(SOURCES)}")
    if decided_by is not None:
        checks.username(decided_by, f"{where}.decided_by")
    if source in FIXED_SOURCES:
        if label not in FIXED_LABELS or decided_by is None:
            raise ImportFailed(f"{where}: a label from {source} is one of {', '.join(FIXED_LABELS)}, with decided_by")
        plan.fixed_labels.append(FixedLabel(image_id, wnid, source, label, decided_by))
    _check_posterior(item["posterior"], f"{where}.posterior")
    if not isinstance(item["needs_adjudication"], bool):
        raise ImportFailed(f"{where}.needs_adjudication must be true or false")
    if not isinstance(item["verdicts"], list):
        raise ImportFailed(f"{where}.verdicts must be a list")
    reviewers = set()
    for index, verdict in enumerate(item["verdicts"]):
        at = f"{where}.verdicts[{index}]"
        checks.object_keys(verdict, VERDICT_KEYS, (), at)
        reviewer = checks.username(verdict["reviewer"], f"{at}.reviewer")
        if reviewer in reviewers:
            raise ImportFailed(f"{at}: {reviewer} has a verdict on this item already")
        reviewers.add(reviewer)
        if verdict["verdict"] not in REVIEWER_VERDICTS:
            raise ImportFailed(f"{at}.verdict: {verdict['verdict']!r} is not one of {', '.join(REVIEWER_VERDICTS)}")
        plan.votes.append(Vote(image_id, wnid, reviewer, verdict["verdict"], checks.time(verdict["at"], f"{at}.at")))
    plan.items.add((image_id, wnid))
    plan.labels[(image_id, wnid)] = (label, source)
    return wnid


def _check_posterior(posterior, where):
    if posterior is None:
        return
    checks.object_keys(posterior, POSTERIOR_KEYS, (), where)
    for key in POSTERIOR_KEYS:
        value = posterior[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ImportFailed(f"{where}.{key}: {value!r} is not a probability")
