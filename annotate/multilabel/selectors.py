"""Reads of the interchange: a dataset's images, labels, reviewers' verdicts and flags, each in one query."""

from collections import defaultdict
from operator import itemgetter
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count

from annotate.models import Image, ProblematicFlag, ReviewerVerdict, ReviewItem
from consensus.services import FIXED_SOURCES

ROWS_PER_FETCH = 20_000


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


def labels_by_image(dataset):
    """{image id: [Label]} in wnid order. The posterior is None where there is none and where the label is fixed
    (an adjudication or golden answer), which no posterior decides."""
    labels = defaultdict(list)
    rows = (
        ReviewItem.objects.filter(dataset=dataset)
        .order_by("image_id", "wnid")
        .values_list(
            "pk", "image_id", "wnid", "verdict", "source", "verdict_by", "needs_adjudication",
            "posterior__p_correct", "posterior__p_wrong", "posterior__p_unclear",
        )
    )  # fmt: skip
    for pk, image_id, wnid, label, source, decided_by, needs, *posterior in rows.iterator(chunk_size=ROWS_PER_FETCH):
        known = posterior[0] is not None and source not in FIXED_SOURCES
        labels[image_id].append(Label(pk, wnid, label, source, decided_by, tuple(posterior) if known else None, needs))
    return labels


def item_wnids_by_image(dataset):
    """{image id: {wnid of each of its review items}}."""
    wnids = defaultdict(set)
    for image_id, wnid in (
        ReviewItem.objects.filter(dataset=dataset).values_list("image_id", "wnid").iterator(chunk_size=ROWS_PER_FETCH)
    ):
        wnids[image_id].add(wnid)
    return wnids


def verdicts_by_item(dataset):
    """{item id: [(reviewer id, verdict, time)]}: every reviewer's current verdict, each item's in the order they
    were given."""
    verdicts = defaultdict(list)
    rows = (
        ReviewerVerdict.objects.filter(item__dataset=dataset)
        .order_by("updated_at", "pk")
        .values_list("item_id", "reviewer_id", "value", "updated_at")
    )
    for item_id, reviewer_id, value, at in rows.iterator(chunk_size=ROWS_PER_FETCH):
        verdicts[item_id].append((reviewer_id, value, at))
    return verdicts


def verdict_counts(dataset):
    """{item id: how many reviewers have a current verdict on it}."""
    rows = ReviewerVerdict.objects.filter(item__dataset=dataset).values("item_id").annotate(n=Count("pk"))
    return {row["item_id"]: row["n"] for row in rows}


def flags_by_image(dataset):
    """{image id: (reason, note, reviewer username, time marked, time reviewed)} of the problematic images."""
    rows = ProblematicFlag.objects.filter(image__dataset=dataset).values_list(
        "image_id", "reason", "note", "reviewer__username", "time_marked", "time_reviewed"
    )
    return {image_id: tuple(flag) for image_id, *flag in rows}


def usernames_by_id():
    return dict(get_user_model().objects.values_list("pk", "username"))
