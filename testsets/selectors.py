"""Reads of new test sets."""

from django.db.models import Count, Q

from config.exceptions import NotFoundError
from testsets.models import Candidate, TestSet


class TestSetNotFound(NotFoundError):
    """No test set has the name asked for."""


def testset_named(name):
    """The test set of this name, with its reference and pool datasets."""
    testset = TestSet.objects.select_related("reference", "pool").filter(name=name).first()
    if testset is None:
        raise TestSetNotFound(f"test set {name!r} does not exist")
    return testset


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
        "name": testset.name,
        "reference": testset.reference.name,
        "pool": testset.pool.name,
        "per_class": testset.per_class,
        "min_annotations": testset.min_annotations,
        "quality_threshold": testset.quality_threshold,
        "classes": len(per_class),
        "candidates": sum(row["candidates"] for row in per_class.values()),
        "blacklisted": sum(row["blacklisted"] for row in per_class.values()),
        "tasks": testset.tasks.count(),
        "assignments": testset.tasks.aggregate(n=Count("assignments"))["n"],
        "revisions": testset.revisions.count(),
        "classes_detail": per_class,
    }
