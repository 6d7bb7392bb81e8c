"""Reads of the final review of a revision: its classes with their marks (a revision's own, or carried from the
revision it was sampled from while the class's images are the same) and the review's progress; one class's sampled
images, each with its nearest neighbours, beside a sample of the class's reference images. Each read costs a fixed
number of queries, however many classes, images or revisions in the chain."""

from django.db.models import Count, Q

from finalreview.models import ClassReview
from nearduplicates.models import Threshold
from nearduplicates.selectors import neighbours_of
from testsets.browse import class_label, display_url, reference_images
from testsets.models import Revision, RevisionImage
from testsets.revisions import revision_numbered
from testsets.selectors import testset_named

# Reference images shown beside a class's sampled images, spread over their frequencies.
REFERENCE_SAMPLE = 12
# Neighbours shown per metric and sampled image: the nearest.
NEAREST_SHOWN = 3
UNMARKED = {
    "reviewed": False,
    "problematic": False,
    "note": "",
    "updated_by": None,
    "updated_at": None,
    "marked_in": None,
    "carried": False,
}


def revision_under_review(testset_name, number):
    """The test set's revision of this number (with its test set); 404 for either missing."""
    return revision_numbered(testset_named(testset_name), number)


def _chain(revision):
    """[(id, number)] of the revision and those it was sampled from, the revision first, its parent next: one query
    for all the test set's revisions, however long the chain."""
    revisions = {
        pk: (number, parent)
        for pk, number, parent in Revision.objects.filter(testset_id=revision.testset_id).values_list(
            "pk", "number", "parent_id"
        )
    }
    chain, seen, pk = [], set(), revision.pk
    while pk in revisions and pk not in seen:
        seen.add(pk)
        chain.append((pk, revisions[pk][0]))
        pk = revisions[pk][1]
    return chain


def marks_of(review, number, carried=False):
    """The marks of a ClassReview row of revision `number`, as effective_marks gives them."""
    return {
        "reviewed": review.reviewed,
        "problematic": review.problematic,
        "note": review.note,
        "updated_by": review.updated_by.username if review.updated_by else None,
        "updated_at": review.updated_at,
        "marked_in": number,
        "carried": carried,
    }


def effective_marks(revision, wnids=None):
    """{wnid: marks} of the revision's classes that have any: its own ClassReview row; else, while the class's
    sampled candidates are the same as in the revision it was sampled from, that revision's marks (and so on up the
    chain). Marks are a dict as UNMARKED, "marked_in" the number of the revision whose row they are, "carried" whether
    that is an earlier revision. `wnids`: those classes only. Three queries at most."""
    chain = _chain(revision)
    reviews = ClassReview.objects.filter(revision_id__in=[pk for pk, _ in chain]).select_related("updated_by")
    if wnids is not None:
        reviews = reviews.filter(wnid__in=list(wnids))
    rows = {(review.revision_id, review.wnid): review for review in reviews}
    marks = {wnid: marks_of(review, revision.number) for (pk, wnid), review in rows.items() if pk == revision.pk}
    # Only classes marked in an earlier revision can carry, and only as far up as such a mark.
    carrying = {wnid for pk, wnid in rows if pk != revision.pk} - marks.keys()
    if not carrying:
        return marks
    depth = max(index for index, (pk, _) in enumerate(chain) if any((pk, wnid) in rows for wnid in carrying))
    images = {}
    for pk, wnid, candidate in RevisionImage.objects.filter(
        revision_id__in=[pk for pk, _ in chain[: depth + 1]], wnid__in=carrying
    ).values_list("revision_id", "wnid", "candidate_id"):
        images.setdefault((pk, wnid), set()).add(candidate)
    for wnid in carrying:
        for (child, _), (pk, number) in zip(chain[:depth], chain[1 : depth + 1], strict=True):
            if images.get((child, wnid), set()) != images.get((pk, wnid), set()):
                break
            if (pk, wnid) in rows:
                marks[wnid] = marks_of(rows[pk, wnid], number, carried=True)
                break
    return marks


def _class_counts(revision):
    """{wnid: {"sampled", "blacklisted"}} of the revision's classes: those it sampled images of (how many, and how
    many of them are blacklisted now, as testsets.revisions.blacklisted_since counts them) and those it fell short
    in, even of every image."""
    counts = {wnid: {"sampled": 0, "blacklisted": 0} for wnid in revision.short_classes}
    for row in (
        RevisionImage.objects.filter(revision=revision)
        .order_by()
        .values("wnid")
        .annotate(sampled=Count("pk"), blacklisted=Count("pk", filter=~Q(candidate__blacklist_reason="")))
    ):
        counts[row.pop("wnid")] = row
    return counts


def has_class(revision, wnid):
    """Whether the class is one of the revision's: it sampled images of it, or fell short in it."""
    return wnid in revision.short_classes or RevisionImage.objects.filter(revision=revision, wnid=wnid).exists()


def review_classes(revision):
    """The revision's classes by wnid, each with its label, sampled and blacklisted counts, whether it is short of
    images and its marks (UNMARKED where none); and the progress: classes, those reviewed and problematic, images
    blacklisted since sampling. Four queries at most, and those of the revision."""
    counts = _class_counts(revision)
    marks = effective_marks(revision)
    classes = [
        {
            "wnid": wnid,
            "label": class_label(wnid),
            **counts[wnid],
            "short": wnid in revision.short_classes,
            **marks.get(wnid, UNMARKED),
        }
        for wnid in sorted(counts)
    ]
    progress = {
        "classes": len(classes),
        "reviewed": sum(row["reviewed"] for row in classes),
        "problematic": sum(row["problematic"] for row in classes),
        "blacklisted": sum(row["blacklisted"] for row in classes),
    }
    return {
        "testset": revision.testset.name,
        "revision": revision.number,
        "parent": revision.parent.number if revision.parent else None,
        "progress": progress,
        "classes": classes,
    }


def reference_sample(testset, wnid, size=REFERENCE_SAMPLE):
    """Up to `size` of the class's reference images (testsets.browse.reference_images), taken evenly from the
    highest frequency to the lowest (unannotated ones last): what the class's frequencies look like in the
    reference."""
    images = reference_images(testset, wnid)
    if len(images) <= size:
        return images
    return [images[index] for index in sorted({round(i * (len(images) - 1) / (size - 1)) for i in range(size)})]


def class_review(revision, wnid):
    """One class of the revision as the final review shows it: its marks; its sampled images, the highest
    frequency first, each with the frequency, annotations and bin it was sampled at, whether it was taken upward,
    its source and dates, its blacklist now and its nearest neighbours per metric (NEAREST_SHOWN); the thresholds
    of the metrics searched ({} before any search); and a sample of its reference images. None for a class that is
    not the revision's."""
    testset = revision.testset
    rows = list(
        RevisionImage.objects.filter(revision=revision, wnid=wnid)
        .select_related("candidate__image")
        .order_by("-frequency", "candidate__image__file_name")
    )
    if not rows and wnid not in revision.short_classes:
        return None
    neighbours = neighbours_of(testset, [row.candidate for row in rows], nearest=NEAREST_SHOWN)
    images = [
        {
            "candidate": row.candidate_id,
            "image": row.candidate.image_id,
            "file_name": row.candidate.image.file_name,
            "display_url": display_url(row.candidate.image),
            "frequency": row.frequency,
            "annotations": row.annotations,
            "bin": row.bin,
            "upward": row.upward,
            "source_id": row.candidate.source_id,
            "date_taken": row.candidate.date_taken,
            "date_uploaded": row.candidate.date_uploaded,
            "blacklist_reason": row.candidate.blacklist_reason,
            "blacklist_note": row.candidate.blacklist_note,
            "neighbours": neighbours.get(row.candidate_id, {}),
        }
        for row in rows
    ]
    return {
        "testset": testset.name,
        "revision": revision.number,
        "wnid": wnid,
        "label": class_label(wnid),
        "marks": effective_marks(revision, [wnid]).get(wnid, UNMARKED),
        "thresholds": dict(Threshold.objects.filter(testset=testset).values_list("metric", "value")),
        "images": images,
        "reference": reference_sample(testset, wnid),
    }
