"""Reads of new test sets."""

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

import taxonomy
from annotate.models import Image
from config.exceptions import NotFoundError
from testsets.models import (
    Assignment,
    BlacklistReason,
    Candidate,
    FrequencyTask,
    Revision,
    RevisionImage,
    TestSet,
)


class TestSetNotFound(NotFoundError):
    """No test set has the name asked for."""


def testset_named(name):
    """The test set of this name, with its reference and pool datasets."""
    testset = TestSet.objects.select_related("reference", "pool").filter(name=name).first()
    if testset is None:
        raise TestSetNotFound(f"test set {name!r} does not exist")
    return testset


def _settings(testset):
    """A test set's name, datasets and settings, as its summaries show them."""
    return {
        "name": testset.name,
        "reference": testset.reference.name,
        "pool": testset.pool.name,
        "per_class": testset.per_class,
        "min_annotations": testset.min_annotations,
        "quality_threshold": testset.quality_threshold,
    }


def testset_status(testset):
    """What a test set holds so far: candidates (all, blacklisted) per class and in all, tasks, assignments,
    revisions."""
    per_class = {
        row["wnid"]: {"candidates": row["candidates"], "blacklisted": row["blacklisted"]}
        for row in Candidate.objects.filter(testset=testset)
        .values("wnid")
        .annotate(candidates=Count("pk"), blacklisted=Count("pk", filter=~Q(blacklist_reason="")))
        .order_by("wnid")
    }
    return {
        **_settings(testset),
        "classes": len(per_class),
        "candidates": sum(row["candidates"] for row in per_class.values()),
        "blacklisted": sum(row["blacklisted"] for row in per_class.values()),
        "tasks": testset.tasks.count(),
        "assignments": testset.tasks.aggregate(n=Count("assignments"))["n"],
        "revisions": testset.revisions.count(),
        "classes_detail": per_class,
    }


FIGURES = ("classes", "candidates", "blacklisted", "tasks", "assignments", "revisions")


def testsets_with_figures():
    """Every test set by name with its settings and figures (classes, candidates, blacklisted, tasks, assignments,
    revisions): one query, each figure a subquery."""
    figures = {
        "classes": _count_per_testset(Candidate.objects.all(), Count("wnid", distinct=True)),
        "candidates": _count_per_testset(Candidate.objects.all()),
        "blacklisted": _count_per_testset(Candidate.objects.filter(~Q(blacklist_reason=""))),
        "tasks": _count_per_testset(FrequencyTask.objects.all()),
        "assignments": _count_per_testset(Assignment.objects.all(), testset_path="task__testset"),
        "revisions": _count_per_testset(Revision.objects.all()),
    }
    # Annotated under names of their own: most figures share their names with the test set's relations.
    testsets = (
        TestSet.objects.select_related("reference", "pool")
        .annotate(**{f"{figure}_count": count for figure, count in figures.items()})
        .order_by("name")
    )
    return [
        {
            **_settings(testset),
            **{figure: getattr(testset, f"{figure}_count") for figure in FIGURES},
        }
        for testset in testsets
    ]


def _count_per_testset(rows, count=None, testset_path="testset"):
    """`count` (default: how many) of `rows` per test set, as an annotation of test sets: one subquery each, where
    joining the candidates, tasks and revisions together would multiply their rows."""
    counted = (
        rows.filter(**{testset_path: OuterRef("pk")})
        .order_by()
        .values(testset_path)
        .annotate(n=count or Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def revisions_listed(testset):
    """The test set's revisions, the first first, each with its parent, who sampled it, its dataset and its number of
    images (`image_count`): one query."""
    return (
        Revision.objects.filter(testset=testset)
        .select_related("parent", "created_by", "dataset")
        .annotate(image_count=Count("images"))
        .order_by("number")
    )


def revision_classes(revision):
    """The revision's images per class: [(wnid, [{"image", "file_name", "frequency", "annotations", "bin",
    "upward", "blacklisted"}, ...]), ...], classes by wnid, images by frequency (highest first), then file name;
    "blacklisted": the label of the reason its candidate is blacklisted for now (put there since the sampling),
    else ""."""
    rows = (
        RevisionImage.objects.filter(revision=revision)
        .order_by("wnid", "-frequency", "candidate__image__file_name")
        .values(
            "wnid",
            "frequency",
            "annotations",
            "bin",
            "upward",
            image=F("candidate__image_id"),
            file_name=F("candidate__image__file_name"),
            blacklisted=F("candidate__blacklist_reason"),
        )
    )
    classes = {}
    for row in rows:
        row["blacklisted"] = BlacklistReason(row["blacklisted"]).label if row["blacklisted"] else ""
        classes.setdefault(row.pop("wnid"), []).append(row)
    return list(classes.items())


def reference_classes(testset):
    """The ImageNet classes of the test set's reference images."""
    wnids = Image.objects.filter(dataset_id=testset.reference_id).order_by().values_list("original_wnid", flat=True)
    return {wnid for wnid in wnids.distinct() if taxonomy.is_class(wnid)}


def testset_classes(testset):
    """The classes a sample of the test set has (its candidates' and its reference's), sorted."""
    candidates = Candidate.objects.filter(testset=testset).order_by().values_list("wnid", flat=True).distinct()
    return sorted(set(candidates) | reference_classes(testset))
