"""Pages of the admins' sampling workflow: annotator quality, the sampling form with its preview beside the tasks
and selections of the crowd, the revisions, one revision's images, and two revisions compared. They read through
selectors and write through the API (testset-revisions.js)."""

import inspect
import secrets

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

import taxonomy
from accounts.permissions import IsAdmin
from accounts.roles import is_admin, require_role
from testsets import sampling
from testsets.frequency_tasks import annotator_quality, create_frequency_tasks
from testsets.models import Assignment, SamplingStrategy
from testsets.revisions import compare_revisions, revision_numbered
from testsets.selectors import revision_classes, revisions_listed, testset_classes, testset_named

# Classes of a revision per page: ten images each, as thumbnails.
REVISION_CLASSES_PER_PAGE = 20
# What the tasks form starts from: create_frequency_tasks' own defaults, so that the two never disagree.
TASK_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(create_frequency_tasks).parameters.items()
    if name not in ("testset_name", "seed")
}
# Seeds offered by the sampling form: any of these is a valid seed, and short enough to note down.
OFFERED_SEEDS = 2**31


def admin_testset(request, name):
    require_role(request.user, is_admin, IsAdmin.message)
    return testset_named(name)


@login_required
@require_GET
def annotators_page(request, name):
    """Per annotator: assignments, accuracy on controls, assignments left out under the quality threshold and why,
    and accuracy per day."""
    testset = admin_testset(request, name)
    people = annotator_quality(testset)
    return render(request, "testsets/annotators.html", {"testset": testset, "people": people})


@login_required
@require_GET
def revisions_page(request, name):
    """The sampling form with its preview, the revisions (two of them compared), and the crowd's tasks."""
    testset = admin_testset(request, name)
    context = {
        "testset": testset,
        "revisions": list(revisions_listed(testset)),
        "strategies": SamplingStrategy.choices,
        "seed": secrets.randbelow(OFFERED_SEEDS),
        "default_threshold": sampling.DEFAULT_THRESHOLD,
        "task_defaults": TASK_DEFAULTS,
        "tasks": testset.tasks.count(),
        "assignments": Assignment.objects.filter(task__testset=testset).count(),
        "class_labels": {wnid: taxonomy.label(wnid) for wnid in testset_classes(testset)},
    }
    return render(request, "testsets/revisions.html", context)


@login_required
@require_GET
def revision_page(request, name, number):
    """A revision's images per class, with their frequencies and bins; making it a dataset, and exporting it."""
    testset = admin_testset(request, name)
    revision = revision_numbered(testset, number)
    classes = revision_classes(revision)
    page = Paginator(classes, REVISION_CLASSES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "testset": testset,
        "revision": revision,
        "classes": len(classes),
        "images": sum(len(images) for _, images in classes),
        "blacklisted": sum(1 for _, images in classes for image in images if image["blacklisted"]),
        "page": page,
    }
    return render(request, "testsets/revision.html", context)


@login_required
@require_GET
def compare_page(request, name, number, other):
    """What changed from one revision to another, per class: file names added, removed and kept."""
    testset = admin_testset(request, name)
    first, second = (revision_numbered(testset, each) for each in (number, other))
    comparison = compare_revisions(first, second)
    show_all = request.GET.get("all") == "1"
    classes = [
        (wnid, changes)
        for wnid, changes in comparison["classes"].items()
        if show_all or changes["added"] or changes["removed"]
    ]
    context = {"testset": testset, "first": first, "second": second, "comparison": comparison}
    return render(request, "testsets/compare.html", {**context, "classes": classes, "show_all": show_all})
