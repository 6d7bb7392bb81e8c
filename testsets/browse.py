"""The admins' look into a test set: per class, the selection-frequency histogram of its eligible candidates beside
its reference images' (counted by testsets.sampling, as sampling counts them), with how many candidates are
eligible, blacklisted or still short of annotations; and one class's candidates, filtered, sorted and cut in pages,
beside its reference images.

Each read costs a fixed number of queries whatever the number of classes or candidates: the per-class figures come
from frequencies grouped by (class, annotations, selected), a few dozen groups per class, which numpy spreads into
bins. A candidate's frequency is only known once it has an annotation: until then it has no frequency and no bin,
and filters on either leave it out.
"""

from dataclasses import dataclass

import numpy as np
from django.db.models import Case, Count, F, FloatField, OuterRef, Q, Subquery, When
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from rest_framework.exceptions import ValidationError

import taxonomy
from annotate.models import Image
from config.exceptions import NotFoundError
from config.query import query_choice, query_float, query_int
from testsets import sampling
from testsets.holds import held_back
from testsets.models import BIN_EDGES, BlacklistReason, Candidate, SelectionFrequency, TestSet

BIN_COUNT = len(BIN_EDGES) + 1
ANY_YES_NO = ("any", "yes", "no")
CANDIDATE_SORTS = {
    "-frequency": "Frequency, highest first",
    "frequency": "Frequency, lowest first",
    "-date_taken": "Date taken, newest first",
    "date_taken": "Date taken, oldest first",
}
CLASS_SORTS = {
    "wnid": "Class id (wnid)",
    "label": "Class name",
    "eligible": "Fewest eligible first",
    "-blacklisted": "Most blacklisted first",
    "-unannotated": "Most unannotated first",
}
MAX_CLASS_SEARCH = 100


def bin_ranges():
    """Each bin's frequencies in words: "0–0.2", "0.2–0.4", ..., "0.8–1"."""
    edges = (0, *BIN_EDGES, 1)
    return [f"{low:g}–{high:g}" for low, high in zip(edges, edges[1:], strict=False)]


def class_label(wnid):
    return taxonomy.label(wnid) if taxonomy.exists(wnid) else ""


def testset_names():
    """The names of every test set: what an annotator picks a grid from."""
    return list(TestSet.objects.order_by("name").values_list("name", flat=True))


def testset_class(testset, wnid):
    """The wnid, if it is a class of the test set: one that a candidate or a reference image is labelled with."""
    if not (
        Candidate.objects.filter(testset=testset, wnid=wnid).exists()
        or Image.objects.filter(dataset_id=testset.reference_id, original_wnid=wnid).exists()
    ):
        raise NotFoundError(
            f"test set {testset.name!r} has no class {wnid[:40]!r}: no candidate or reference image is labelled with it"
        )
    return wnid


def class_figures(testset, wnid=None):
    """Per class of the test set (the classes of its candidates and of its reference images), by wnid: its candidates
    (all, blacklisted, annotated at least once), those eligible (at least min_annotations annotations, not
    blacklisted, not held back as near-duplicates), those not blacklisted but still short of annotations
    ("unannotated"), the bin histogram of the eligible candidates' frequencies beside that of the reference images
    annotated at least min_annotations times (what MatchedFrequency matches), and whether it has fewer eligible
    candidates than a sample takes of it. `wnid`: that class alone. Four queries, and those of testsets.holds."""
    candidates = Candidate.objects.filter(testset=testset)
    frequencies = SelectionFrequency.objects.filter(testset=testset)
    reference = Image.objects.filter(dataset_id=testset.reference_id)
    if wnid is not None:
        candidates, frequencies = candidates.filter(wnid=wnid), frequencies.filter(wnid=wnid)
        reference = reference.filter(original_wnid=wnid)
    counts = {
        row["wnid"]: row
        for row in candidates.order_by()
        .values("wnid")
        .annotate(total=Count("pk"), blacklisted=Count("pk", filter=~Q(blacklist_reason="")))
    }
    candidate_groups = list(
        frequencies.filter(image__candidate__testset=testset, image__candidate__wnid=F("wnid"))
        .order_by()
        .values_list("wnid", "annotations", "selected")
        .annotate(
            count=Count("pk"),
            listed=Count(
                "pk",
                filter=Q(image__candidate__blacklist_reason="") & ~Q(image__candidate__in=list(held_back(testset))),
            ),
        )
    )
    reference_groups = list(
        frequencies.filter(
            image__dataset_id=testset.reference_id,
            wnid=F("image__original_wnid"),
            annotations__gte=testset.min_annotations,
        )
        .order_by()
        .values_list("wnid", "annotations", "selected")
        .annotate(count=Count("pk"))
    )
    reference_classes = reference.order_by().values_list("original_wnid", flat=True).distinct()
    wnids = sorted(
        counts.keys()
        | {row[0] for row in candidate_groups}
        | {w for w in reference_classes if taxonomy.is_class(w)}
        | ({wnid} if wnid is not None else set())
    )
    code = {w: index for index, w in enumerate(wnids)}
    classes, annotations, selected, count, listed = _columns(candidate_groups, code, 5)
    counted = annotations >= testset.min_annotations
    eligible = _histogram(classes[counted], annotations[counted], selected[counted], listed[counted], len(wnids))
    annotated = np.bincount(classes[annotations > 0], weights=count[annotations > 0], minlength=len(wnids))
    reference_bins = _histogram(*_columns(reference_groups, code, 4), len(wnids))
    rows = []
    for index, each in enumerate(wnids):
        total, blacklisted = (counts[each]["total"], counts[each]["blacklisted"]) if each in counts else (0, 0)
        eligible_count = int(eligible[index].sum())
        rows.append(
            {
                "wnid": each,
                "label": class_label(each),
                "candidates": total,
                "blacklisted": blacklisted,
                "annotated": int(annotated[index]),
                "eligible": eligible_count,
                "unannotated": total - blacklisted - eligible_count,
                "candidate_bins": eligible[index].tolist(),
                "reference": int(reference_bins[index].sum()),
                "reference_bins": reference_bins[index].tolist(),
                "short": eligible_count < testset.per_class,
            }
        )
    return rows


def _columns(groups, code, width):
    """The grouped rows (wnid, then integers) as arrays, the wnid as its class code."""
    if not groups:
        return [np.zeros(0, dtype=np.int64) for _ in range(width)]
    return [
        np.array([code[row[0]] for row in groups], dtype=np.int64),
        *(np.array(column, dtype=np.int64) for column in list(zip(*groups, strict=True))[1:]),
    ]


def _histogram(classes, annotations, selected, weights, class_count):
    """Classes × bins: each group of `weights` images with one (annotations, selected) put in its frequency's bin."""
    return sampling.histogram(
        np.repeat(classes, weights),
        np.repeat(sampling.frequencies(selected, annotations), weights),
        class_count,
        BIN_EDGES,
    )


def chosen_classes(rows, *, query="", short_only=False, sort="wnid"):
    """The rows of class_figures whose wnid or name holds `query` (any case), only the short ones if asked, in the
    order of `sort` (one of CLASS_SORTS, the wnid breaking ties)."""
    needle = query.strip().lower()
    kept = [
        row
        for row in rows
        if (not needle or needle in row["wnid"].lower() or needle in row["label"].lower())
        and (row["short"] or not short_only)
    ]
    field = sort.lstrip("-")
    sign = -1 if sort.startswith("-") else 1
    if field == "wnid":
        return kept
    if field == "label":
        return sorted(kept, key=lambda row: (row["label"].lower(), row["wnid"]))
    return sorted(kept, key=lambda row: (sign * row[field], row["wnid"]))


def class_listing(params):
    """The overview's list of classes as its form asks (a QueryDict): the search text, short classes only, the
    sort. A page's form only offers valid values: anything else is read as its default."""
    sort = params.get("sort", "")
    return {
        "query": params.get("q", "").strip()[:MAX_CLASS_SEARCH],
        "short_only": params.get("short", "") == "1",
        "sort": sort if sort in CLASS_SORTS else "wnid",
    }


def class_chart(row, height=40, bar=7, gap=3):
    """A class's two histograms for the overview: per bin its range and both counts, and the bars as SVG rectangles
    (x, y, height), each bin's candidates beside its reference images, each histogram as shares of its own total
    (the shapes MatchedFrequency matches), the highest share the full height."""
    shares = [_shares(row["candidate_bins"]), _shares(row["reference_bins"])]
    top = max(max(each) for each in shares) or 1
    bars = []
    for index in range(BIN_COUNT):
        for side, kind in enumerate(("candidates", "reference")):
            tall = round(height * shares[side][index] / top, 1)
            x = index * (2 * bar + 2 * gap) + side * bar
            bars.append({"kind": kind, "x": x, "y": height - tall, "height": tall, "width": bar})
    bins = [
        {"range": each, "candidates": candidates, "reference": reference}
        for each, candidates, reference in zip(bin_ranges(), row["candidate_bins"], row["reference_bins"], strict=True)
    ]
    return {"bars": bars, "bins": bins, "width": BIN_COUNT * (2 * bar + 2 * gap) - 2 * gap, "height": height}


def _shares(counts):
    total = sum(counts)
    return [count / total if total else 0 for count in counts]


@dataclass(frozen=True)
class CandidateFilters:
    """Which of a class's candidates the browser shows, and in which order (the query parameters of its API)."""

    min_frequency: float | None = None
    max_frequency: float | None = None
    bin: int | None = None
    blacklisted: str = "any"
    near_duplicate: str = "any"
    min_annotations: int | None = None
    sort: str = "-frequency"


def candidate_filters(request):
    """The CandidateFilters of a request's query parameters; a 400 naming the parameter at fault otherwise."""
    params = request.query_params
    filters = CandidateFilters(
        min_frequency=query_float(request, "min_frequency", minimum=0, maximum=1),
        max_frequency=query_float(request, "max_frequency", minimum=0, maximum=1),
        bin=query_int(request, "bin", minimum=0, maximum=BIN_COUNT - 1),
        blacklisted=query_choice(params, "blacklisted", ANY_YES_NO, "any"),
        near_duplicate=query_choice(params, "near_duplicate", ANY_YES_NO, "any"),
        min_annotations=query_int(request, "min_annotations", minimum=0, maximum=2**31 - 1),
        sort=query_choice(params, "sort", CANDIDATE_SORTS, "-frequency"),
    )
    low, high = filters.min_frequency, filters.max_frequency
    if low is not None and high is not None and low > high:
        raise ValidationError({"max_frequency": f"must be at least min_frequency ({low:g}); got {high:g}"})
    return filters


def near_duplicate(testset):
    """The condition on candidates that marks a near-duplicate: blacklisted as one, or held back from sampling by
    near-duplicate search (testsets.holds)."""
    return Q(blacklist_reason=BlacklistReason.NEAR_DUPLICATE) | Q(pk__in=list(held_back(testset)))


def with_frequency(rows, testset, image, wnid):
    """`rows` with the annotations, selections and frequency of their image (the field `image`) for their class
    (the field `wnid`) in the test set; frequency null while unannotated."""
    own = SelectionFrequency.objects.filter(testset=testset, image=OuterRef(image), wnid=OuterRef(wnid))
    return rows.annotate(
        annotations=Coalesce(Subquery(own.values("annotations")[:1]), 0),
        selected=Coalesce(Subquery(own.values("selected")[:1]), 0),
    ).annotate(
        frequency=Case(
            When(annotations__gt=0, then=Cast("selected", FloatField()) / Cast("annotations", FloatField())),
            default=None,
            output_field=FloatField(),
        )
    )


def class_candidates(testset, wnid, filters):
    """The class's candidates that `filters` keep, in its order (the candidate's id breaking ties), with their
    images: a query set to cut in pages."""
    candidates = with_frequency(
        Candidate.objects.filter(testset=testset, wnid=wnid).select_related("image"), testset, "image_id", "wnid"
    )
    conditions = Q()
    if filters.min_frequency is not None:
        conditions &= Q(frequency__gte=filters.min_frequency)
    if filters.max_frequency is not None:
        conditions &= Q(frequency__lte=filters.max_frequency)
    if filters.bin is not None:
        # The bins of sampling.bins: a frequency on an edge belongs to the bin above it.
        if filters.bin > 0:
            conditions &= Q(frequency__gte=BIN_EDGES[filters.bin - 1])
        if filters.bin < len(BIN_EDGES):
            conditions &= Q(frequency__lt=BIN_EDGES[filters.bin])
    if filters.blacklisted != "any":
        conditions &= Q(blacklist_reason="") if filters.blacklisted == "no" else ~Q(blacklist_reason="")
    if filters.near_duplicate != "any":
        conditions &= near_duplicate(testset) if filters.near_duplicate == "yes" else ~near_duplicate(testset)
    if filters.min_annotations is not None:
        conditions &= Q(annotations__gte=filters.min_annotations)
    field = filters.sort.lstrip("-")
    order = F(field).desc(nulls_last=True) if filters.sort.startswith("-") else F(field).asc(nulls_last=True)
    return candidates.filter(conditions).order_by(order, "pk")


def candidate_data(candidates):
    """What the browser shows of each candidate of a page (from class_candidates), with its frequency's bin."""
    candidates = list(candidates)
    return [
        {
            "id": candidate.pk,
            "image": candidate.image_id,
            "file_name": candidate.image.file_name,
            "display_url": display_url(candidate.image),
            "uri": candidate.image.source_uri,
            "annotations": candidate.annotations,
            "selected": candidate.selected,
            "frequency": candidate.frequency,
            "bin": frequency_bin,
            "source_id": candidate.source_id,
            "search_key": candidate.search_key,
            "date_taken": candidate.date_taken,
            "date_uploaded": candidate.date_uploaded,
            "blacklist_reason": candidate.blacklist_reason,
            "blacklist_note": candidate.blacklist_note,
        }
        for candidate, frequency_bin in zip(candidates, _bins(candidates), strict=True)
    ]


def reference_images(testset, wnid):
    """The reference images of the class with their annotations, selections, frequency and bin for it, the highest
    frequency first (then by file name), unannotated ones last."""
    images = with_frequency(
        Image.objects.filter(dataset_id=testset.reference_id, original_wnid=wnid).only("pk", "file_name", "file"),
        testset,
        "pk",
        "original_wnid",
    ).order_by(F("frequency").desc(nulls_last=True), "file_name")
    images = list(images)
    return [
        {
            "id": image.pk,
            "file_name": image.file_name,
            "display_url": display_url(image),
            "annotations": image.annotations,
            "selected": image.selected,
            "frequency": image.frequency,
            "bin": frequency_bin,
        }
        for image, frequency_bin in zip(images, _bins(images), strict=True)
    ]


def _bins(rows):
    """The bin of each row's frequency (sampling.bins), None where it has none."""
    known = [row.frequency for row in rows if row.frequency is not None]
    placed = iter(sampling.bins(np.array(known, dtype=float), BIN_EDGES).tolist())
    return [None if row.frequency is None else next(placed) for row in rows]


def display_url(image):
    """Where a page shows the image (None while it has no file)."""
    return reverse("image-display", args=[image.pk]) if image.available else None
