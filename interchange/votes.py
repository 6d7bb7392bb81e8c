"""Raw reviewer votes from outside: the ReaL raters' answers ("Are we done with ImageNet?") as reviewers, review
items and verdicts, in bulk."""

import io
import math
import zipfile
import zlib
from datetime import UTC, datetime

import numpy as np
from django.utils import timezone

import taxonomy
from accounts.services import reviewer_accounts
from annotate import batches, bulk, labelling, labels
from annotate.errors import ImportFailed
from annotate.models import ConsensusPosterior, Image, ImportKind, ReviewerVerdict, ReviewItem, Verdict, VerdictChange
from annotate.policies import policy_for
from annotate.review_items import review_items
from annotate.selectors import dataset_named

FORMATS = ("real-raters",)
# The raters answered no / maybe / yes to "does this class fit this image?".
ANSWERS = (Verdict.WRONG, Verdict.UNCLEAR, Verdict.CORRECT)
# Verdicts travel as their index in VERDICTS.
VERDICTS = list(Verdict.values)
ANSWER_CODES = np.array([VERDICTS.index(answer) for answer in ANSWERS])
# The same as codes of annotate.labels.VERDICTS_BY_CODE.
ANSWER_LABEL_CODES = np.array([labels.VERDICTS_BY_CODE.index(answer) for answer in ANSWERS])
UNREVIEWED = VERDICTS.index(Verdict.UNREVIEWED)
# The release has no answer times: every imported verdict is dated at this instant, the day it was published.
REAL_RATERS_DATE = datetime(2020, 6, 12, tzinfo=UTC)


def read_real_raters(path):
    """(file names [Q], class indices [Q], rater ids [R], votes (rater index, question index, answer index)) of
    a raters.npz file, every array checked."""
    try:
        arrays = _npz_arrays(path, ("tensor", "info", "ids"))
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise ImportFailed(f"{path}: not a readable .npz file of rater votes ({exc})") from None
    missing = {"tensor", "info", "ids"} - arrays.keys()
    if missing:
        raise ImportFailed(f"{path}: missing array(s) {', '.join(sorted(missing))}; expected tensor, info, ids")
    tensor, info, ids = arrays["tensor"], arrays["info"], arrays["ids"]
    if tensor.ndim != 3 or tensor.shape[2] != len(ANSWERS):
        raise ImportFailed(f"{path}: tensor must have shape (raters, questions, 3), not {tensor.shape}")
    raters, questions, _ = tensor.shape
    if info.shape != (questions, 2):
        raise ImportFailed(f"{path}: info must have shape ({questions}, 2) (file name, class index), not {info.shape}")
    if ids.shape != (raters,) or len(np.unique(ids)) != raters:
        raise ImportFailed(f"{path}: ids must hold {raters} distinct rater ids, not shape {ids.shape}")
    rater, question, answer = np.nonzero(tensor)
    # The answers come by rater, then question: two answers to one question follow each other.
    twice = (rater[1:] == rater[:-1]) & (question[1:] == question[:-1])
    # Every entry is 0 or 1 when every entry that is not 0 is 1: checked on the few of them.
    if not (tensor[rater, question, answer] == 1).all() or twice.any():
        raise ImportFailed(f"{path}: each rater's answer must be one-hot over (no, maybe, yes), or all zeros")
    try:
        classes = info[:, 1].astype(np.int64)
    except ValueError:
        raise ImportFailed(f"{path}: info[:, 1] must hold class indices") from None
    bad = np.flatnonzero((classes < 0) | (classes >= len(taxonomy.class_wnids())))
    if len(bad):
        raise ImportFailed(f"{path}: question {bad[0]} has class index {classes[bad[0]]}, outside 0-999")
    return info[:, 0].astype(str), classes, ids.astype(np.int64), (rater, question, answer)


def _npz_arrays(path, names):
    """{name: array} of the named arrays that an .npz file holds, each decompressed in one piece and read in place
    (np.load copies an array out in pieces of 256 KB, which takes longer than decompressing the 377 MB tensor of
    the raters file)."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        held = set(archive.namelist())
        for name in names:
            if f"{name}.npy" not in held:
                continue
            data = archive.read(f"{name}.npy")
            header = io.BytesIO(data)
            version = np.lib.format.read_magic(header)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(header)
            else:
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(header)
            if dtype.hasobject:
                raise ValueError(f"{name} holds Python objects")
            array = np.frombuffer(data, dtype, count=math.prod(shape), offset=header.tell())
            arrays[name] = array.reshape(shape, order="F" if fortran_order else "C")
    return arrays


def import_votes(
    *,
    dataset_name,
    path,
    fmt="real-raters",
    rule="majority",
    overlap=5,
    reviewer_prefix="rater-",
    source=None,
    user=None,
    dry_run=False,
    overwrite=False,
):
    """Each rater becomes a reviewer, each question a review item, each answer that reviewer's verdict; then the
    dataset takes `rule` and `overlap` and every label is recomputed. The images must be registered already (the
    questions name their files); all or nothing, as one import batch (annotate.batches: a dry run says what it would
    do; undoing it also gives the dataset its rule back). A rater's verdict already there and different is kept
    unless `overwrite`. Returns a summary."""
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown vote format {fmt!r}; expected one of {', '.join(FORMATS)}")
    try:
        labelling.check_policy(rule, overlap, 0.0)
    except labelling.ConsensusError as exc:
        raise ImportFailed(str(exc)) from None
    file_names, classes, rater_ids, (rater, question, answer) = read_real_raters(path)
    dataset = dataset_named(dataset_name)
    images = dict(Image.objects.filter(dataset=dataset).values_list("file_name", "pk"))
    names, image_of_question = np.unique(file_names, return_inverse=True)
    missing = [name for name in names.tolist() if name not in images]
    if missing:
        raise ImportFailed(
            f"{len(missing)} image(s) of the votes are not registered in dataset {dataset.name!r}, first "
            f"{missing[0]!r}: register them first (import_images, or import_images --manifest)"
        )
    question_images = np.array([images[name] for name in names.tolist()], dtype=np.int64)[image_of_question]

    def store(batch):
        policy = policy_for(dataset.pk)
        batch.undo_data["policy"] = {"rule": policy.rule, "overlap": policy.overlap}
        usernames = [f"{reviewer_prefix}{rater_id}" for rater_id in rater_ids.tolist()]
        accounts, _ = reviewer_accounts(usernames)
        reviewers = np.array([accounts[name] for name in usernames], dtype=np.int64)
        # The items, verdicts, history and labels written here are checked against what they refer to once at the
        # end, in one pass per key: rows inserted and then updated in one transaction (the new items, when the
        # labels are recomputed) would otherwise be looked up once per insert and again per update.
        with (
            bulk.foreign_keys_checked_at_end(ReviewItem, ReviewerVerdict, VerdictChange, ConsensusPosterior),
            bulk.indexes_built_at_end({ReviewItem: len(file_names)}),
        ):
            wnids = taxonomy.class_wnids()
            # The items the votes create get their label at once: aggregate then finds them labelled already.
            vote_keys = (question_images * len(wnids) + classes)[question]
            created_keys = []

            def labelled(keys):
                created_keys.append(keys)
                return labels.new_item_labels(
                    rule,
                    overlap,
                    keys,
                    vote_keys=vote_keys,
                    reviewers=reviewers[rater],
                    codes=ANSWER_LABEL_CODES[answer],
                    at=timezone.now(),
                )

            question_items = review_items(dataset, question_images, classes, wnids, batch=batch, labels=labelled)
            # By item, then reviewer: the indexes on them then grow at their end instead of everywhere.
            order = np.lexsort((reviewers[rater], question_items[question]))
            items, voters = question_items[question][order], reviewers[rater][order]
            values = ANSWER_CODES[answer][order]
            on_created = np.isin(vote_keys[order], created_keys[0]) if created_keys else np.zeros(len(order), bool)
            batch_votes = labelling.BatchVotes(
                batch.pk, items[on_created], voters[on_created], ANSWER_LABEL_CODES[answer][order][on_created]
            )
            pks, old = _current_verdicts(dataset, reviewers, items, voters)
            new = pks == 0
            differs = ~new & (old != values)
            updated = differs & overwrite
            changed = new | updated
            with bulk.indexes_built_at_end({ReviewerVerdict: int(new.sum()), VerdictChange: int(changed.sum())}):
                _write_verdicts(items[new], voters[new], values[new])
                bulk.update_columns(
                    ReviewerVerdict,
                    pks[updated],
                    {"value": bulk.Coded(values[updated], VERDICTS), "updated_at": REAL_RATERS_DATE},
                )
                _write_history(batch, items[changed], voters[changed], old[changed], values[changed])
                bulk.analyze(ReviewItem, ReviewerVerdict, VerdictChange)
                consensus = labelling.set_policy(dataset=dataset, rule=rule, overlap=overlap, batch_votes=batch_votes)
        return {
            "dataset": dataset.name,
            "reviewers": len(reviewers),
            "questions": len(file_names),
            "images": len(names),
            "items_created": ReviewItem.objects.filter(batch=batch).count(),
            "verdicts_added": int(new.sum()),
            "verdicts_changed": int(updated.sum()),
            "verdicts_kept": int((differs & ~updated).sum()),
            "verdicts_already_there": int((~new & ~differs).sum()),
            "consensus": consensus,
        }

    return batches.run_import(
        dataset=dataset,
        kind=ImportKind.VOTES,
        source=source or path,
        user=user,
        dry_run=dry_run,
        overwrite=overwrite,
        write=store,
    )


def _write_verdicts(items, voters, values):
    """The reviewers `voters` give the items their verdicts `values` (indices in VERDICTS), on the day of the
    release."""
    bulk.insert_columns(
        ReviewerVerdict,
        {"item": items, "reviewer": voters, "value": bulk.Coded(values, VERDICTS), "updated_at": REAL_RATERS_DATE},
    )


def _write_history(batch, items, voters, old, new):
    """The verdict changes old -> new (indices in VERDICTS) of the reviewers `voters` on the items, made by the
    import batch."""
    bulk.insert_columns(
        VerdictChange,
        {
            "item": items,
            "reviewer": voters,
            "old": bulk.Coded(old, VERDICTS),
            "new": bulk.Coded(new, VERDICTS),
            "created_at": REAL_RATERS_DATE,
            "batch": batch.pk,
        },
    )


def _current_verdicts(dataset, reviewers, items, voters):
    """(id, 0 where there is none; index in VERDICTS of its value, unreviewed where there is none) of the verdict
    that each reviewer `voters[i]` has on each item `items[i]` of the dataset; `reviewers` lists them all."""
    verdict, item = ReviewerVerdict._meta.db_table, ReviewItem._meta.db_table
    pks, verdict_items, verdict_reviewers, codes = bulk.read_columns(
        f"""SELECT v.id, v.item_id, v.reviewer_id, {bulk.coded_sql("v.value", VERDICTS)}
        FROM {verdict} v JOIN {item} r ON r.id = v.item_id
        WHERE r.dataset_id = %s AND v.reviewer_id IN ({", ".join(["%s"] * len(reviewers))})""",
        [dataset.pk, *reviewers.tolist()],
        [">i8", ">i8", ">i4", ">i4"],
    )
    base = int(reviewers.max()) + 1
    # A last row stands for the missing verdicts.
    keys = np.append(verdict_items * base + verdict_reviewers, -1)
    pks, codes = np.append(pks, 0), np.append(codes, UNREVIEWED)
    wanted = items * base + voters
    sorter = np.argsort(keys)
    at = sorter[np.searchsorted(keys, wanted, sorter=sorter).clip(max=len(keys) - 1)]
    at[keys[at] != wanted] = len(keys) - 1
    return pks[at], codes[at]
