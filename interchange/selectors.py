"""Reads of the interchange: a dataset's images, labels, reviewers' verdicts and flags, each in one query, or
streamed image by image (images_with_labels) where a whole dataset would not fit in memory."""

from collections import defaultdict
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.db.models.functions import Collate

from annotate.labelling import FIXED_SOURCES
from annotate.models import Image, ReviewerVerdict, ReviewItem

ROWS_PER_FETCH = 20_000
# Rows a streamed read holds at once; its queries run on server-side cursors on PostgreSQL.
STREAMED_ROWS = 2_000


class Label(NamedTuple):
    """A review item's label as exported."""

    item_id: int
    wnid: str
    label: str
    source: str
    decided_by: int | None
    posterior: tuple[float, float, float] | None  # P(correct), P(wrong), P(unclear)
    needs_adjudication: bool


def images_by_file_name(dataset):
    """[(image id, file name, original wnid)] of the dataset, in code-point order of the file names: the same order
    on every database, whatever its collation."""
    rows = Image.objects.filter(dataset=dataset).values_list("pk", "file_name", "original_wnid")
    return sorted(rows, key=itemgetter(1))


def image_ids_by_name(dataset):
    return dict(Image.objects.filter(dataset=dataset).values_list("file_name", "pk"))


def original_wnids_by_name(dataset):
    return dict(Image.objects.filter(dataset=dataset).values_list("file_name", "original_wnid"))


def by_code_point(field):
    """`field` to order by in code-point order, as Python sorts text, on every database: PostgreSQL's "C"
    collation compares the UTF-8 bytes, as SQLite's default one does."""
    return Collate(field, "C" if connection.vendor == "postgresql" else "BINARY")


LABEL_COLUMNS = ("wnid", "verdict", "source", "verdict_by", "needs_adjudication",
                 "posterior__p_correct", "posterior__p_wrong", "posterior__p_unclear")  # fmt: skip


def _label(pk, wnid, label, source, decided_by, needs, *posterior):
    """The Label of a review item's LABEL_COLUMNS. The posterior is None where there is none and where the label is
    fixed (an adjudication or golden answer), which no posterior decides."""
    known = posterior[0] is not None and source not in FIXED_SOURCES
    return Label(pk, wnid, label, source, decided_by, tuple(posterior) if known else None, needs)


def labels_by_image(dataset):
    """{image id: [Label]} in wnid order."""
    labels = defaultdict(list)
    rows = (
        ReviewItem.objects.filter(dataset=dataset)
        .order_by("image_id", "wnid")
        .values_list("image_id", "pk", *LABEL_COLUMNS)
    )
    for image_id, *columns in rows.iterator(chunk_size=ROWS_PER_FETCH):
        labels[image_id].append(_label(*columns))
    return labels


FLAG_COLUMNS = ("reason", "note", "reviewer__username", "time_marked", "time_reviewed")
ITEM_COLUMN = 3 + len(FLAG_COLUMNS)  # where a row of images_with_labels' query has its review item


def images_with_labels(dataset):
    """Yields (file name, original wnid, flag, [(Label, verdicts)]) of each image of the dataset, in the order of
    images_by_file_name: its labels in wnid order, and each label's verdicts [(reviewer id, verdict, time)] in the
    order they were given. The flag is (reason, note, reviewer username, time marked, time reviewed), or None.

    Images with their flags and labels, and the verdicts, are two queries read side by side in the same order, a
    few thousand rows at a time (STREAMED_ROWS): a dataset of any size takes as little memory as a small one.
    """
    images = (
        Image.objects.filter(dataset=dataset)
        .order_by(by_code_point("file_name"), "review_items__wnid")
        .values_list(
            "pk", "file_name", "original_wnid", *(f"problematic__{column}" for column in FLAG_COLUMNS),
            "review_items__pk", *(f"review_items__{column}" for column in LABEL_COLUMNS),
        )
    )  # fmt: skip
    verdicts = (
        ReviewerVerdict.objects.filter(item__dataset=dataset)
        .order_by(by_code_point("item__image__file_name"), "item__wnid", "updated_at", "pk")
        .values_list("item_id", "reviewer_id", "value", "updated_at")
    )
    verdicts_by_item = groupby(verdicts.iterator(chunk_size=STREAMED_ROWS), key=itemgetter(0))
    next_item, next_verdicts = next(verdicts_by_item, (None, ()))
    for _, rows in groupby(images.iterator(chunk_size=STREAMED_ROWS), key=itemgetter(0)):
        rows = list(rows)  # the image's: one per review item
        _, file_name, original_wnid, *flag = rows[0][:ITEM_COLUMN]
        labels = []
        for row in rows:
            item_id = row[ITEM_COLUMN]
            if item_id is None:  # the outer join's one row of an image without review items
                continue
            # An item's verdicts are the next ones in their order, unless it has none.
            found = []
            if item_id == next_item:
                found = [(reviewer, value, at) for _, reviewer, value, at in next_verdicts]
                next_item, next_verdicts = next(verdicts_by_item, (None, ()))
            labels.append((_label(*row[ITEM_COLUMN:]), found))
        yield file_name, original_wnid, tuple(flag) if flag[0] is not None else None, labels


def item_wnids_by_image(dataset):
    """{image id: {wnid of each of its review items}}."""
    wnids = defaultdict(set)
    for image_id, wnid in (
        ReviewItem.objects.filter(dataset=dataset).values_list("image_id", "wnid").iterator(chunk_size=ROWS_PER_FETCH)
    ):
        wnids[image_id].add(wnid)
    return wnids


def verdict_counts(dataset):
    """{item id: how many reviewers have a current verdict on it}."""
    rows = ReviewerVerdict.objects.filter(item__dataset=dataset).values("item_id").annotate(n=Count("pk"))
    return {row["item_id"]: row["n"] for row in rows}


def usernames_by_id():
    return dict(get_user_model().objects.values_list("pk", "username"))
