"""Raw reviewer votes from outside: the ReaL raters' answers ("Are we done with ImageNet?") as reviewers, review
items and verdicts, in bulk."""

import zipfile
from datetime import UTC, datetime

import numpy as np
from django.db import transaction

from annotate import bulk, taxonomy
from annotate.errors import ImportFailed
from annotate.importers import dataset_named, review_item_ids, reviewer_accounts
from annotate.models import Image, ReviewerVerdict, ReviewItem, Verdict, VerdictChange
from consensus import services

FORMATS = ("real-raters",)
# The raters answered no / maybe / yes to "does this class fit this image?".
ANSWERS = (Verdict.WRONG, Verdict.UNCLEAR, Verdict.CORRECT)
# The release has no answer times: every imported verdict is dated at this instant, the day it was published.
REAL_RATERS_DATE = datetime(2020, 6, 12, tzinfo=UTC)


def read_real_raters(path):
    """(file names [Q], class indices [Q], rater ids [R], votes (rater index, question index, answer index)) of
    a raters.npz file, every array checked."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"tensor", "info", "ids"} - set(archive.files)
            if missing:
                raise ImportFailed(f"{path}: missing array(s) {', '.join(sorted(missing))}; expected tensor, info, ids")
            tensor, info, ids = archive["tensor"], archive["info"], archive["ids"]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ImportFailed(f"{path}: not a readable .npz file of rater votes ({exc})") from None
    if tensor.ndim != 3 or tensor.shape[2] != len(ANSWERS):
        raise ImportFailed(f"{path}: tensor must have shape (raters, questions, 3), not {tensor.shape}")
    raters, questions, _ = tensor.shape
    if info.shape != (questions, 2):
        raise ImportFailed(f"{path}: info must have shape ({questions}, 2) (file name, class index), not {info.shape}")
    if ids.shape != (raters,) or len(np.unique(ids)) != raters:
        raise ImportFailed(f"{path}: ids must hold {raters} distinct rater ids, not shape {ids.shape}")
    if not np.isin(tensor, (0, 1)).all() or (tensor.sum(axis=2) > 1).any():
        raise ImportFailed(f"{path}: each rater's answer must be one-hot over (no, maybe, yes), or all zeros")
    try:
        classes = info[:, 1].astype(np.int64)
    except ValueError:
        raise ImportFailed(f"{path}: info[:, 1] must hold class indices") from None
    bad = np.flatnonzero((classes < 0) | (classes >= len(taxonomy.class_wnids())))
    if len(bad):
        raise ImportFailed(f"{path}: question {bad[0]} has class index {classes[bad[0]]}, outside 0-999")
    rater, question, answer = np.nonzero(tensor)
    return info[:, 0].astype(str), classes, ids.astype(np.int64), (rater, question, answer)


def import_votes(*, dataset_name, path, fmt="real-raters", rule="majority", overlap=5, reviewer_prefix="rater-"):
    """Each rater becomes a reviewer, each question a review item, each answer that reviewer's verdict; then the
    dataset takes `rule` and `overlap` and every label is recomputed. The images must be registered already (the
    questions name their files); all or nothing. Returns a summary."""
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown vote format {fmt!r}; expected one of {', '.join(FORMATS)}")
    try:
        services.check_policy(rule, overlap, 0.0)
    except services.ConsensusError as exc:
        raise ImportFailed(str(exc)) from None
    file_names, classes, rater_ids, (rater, question, answer) = read_real_raters(path)
    dataset = dataset_named(dataset_name)
    images = dict(Image.objects.filter(dataset=dataset).values_list("file_name", "pk"))
    missing = sorted(set(file_names) - images.keys())
    if missing:
        raise ImportFailed(
            f"{len(missing)} image(s) of the votes are not registered in dataset {dataset.name!r}, first "
            f"{missing[0]!r}: register them first (import_images, or import_images --manifest)"
        )
    wnids = np.array(taxonomy.class_wnids())[classes]
    with transaction.atomic():
        usernames = [f"{reviewer_prefix}{rater_id}" for rater_id in rater_ids]
        accounts, _ = reviewer_accounts(usernames)
        reviewers = np.array([accounts[name] for name in usernames], dtype=np.int64)
        pairs = list(zip([images[name] for name in file_names], wnids.tolist(), strict=True))
        items = review_item_ids(dataset, set(pairs))
        item_ids = np.array([items[pair] for pair in pairs], dtype=np.int64)
        question_items = item_ids[question]
        existing = set(
            ReviewerVerdict.objects.filter(item__dataset=dataset, reviewer_id__in=reviewers).values_list(
                "item_id", "reviewer_id"
            )
        )
        # By item: the history's item index then grows at its end instead of everywhere.
        order = np.argsort(question_items, kind="stable")
        answers = [verdict.value for verdict in ANSWERS]
        new = [
            (item, reviewer, answers[a])
            for item, reviewer, a in zip(
                question_items[order].tolist(), reviewers[rater[order]].tolist(), answer[order].tolist(), strict=True
            )
            if (item, reviewer) not in existing
        ]
        date = REAL_RATERS_DATE.isoformat()
        with bulk.foreign_keys_checked_at_end(ReviewerVerdict, VerdictChange):
            bulk.insert_rows(
                ReviewerVerdict,
                ["item", "reviewer", "value", "updated_at"],
                ((item, reviewer, value, date) for item, reviewer, value in new),
            )
            bulk.insert_rows(
                VerdictChange,
                ["item", "reviewer", "old", "new", "created_at"],
                ((item, reviewer, Verdict.UNREVIEWED.value, value, date) for item, reviewer, value in new),
            )
        bulk.analyze(ReviewItem, ReviewerVerdict, VerdictChange)
        consensus = services.set_policy(dataset=dataset, rule=rule, overlap=overlap)
    return {
        "dataset": dataset.name,
        "reviewers": len(reviewers),
        "questions": len(file_names),
        "images": len(set(file_names)),
        "verdicts_added": len(new),
        "verdicts_already_there": len(question_items) - len(new),
        "consensus": consensus,
    }
