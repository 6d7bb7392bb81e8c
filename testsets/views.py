"""Pages of new test sets and the task images they show; the pages talk to the API."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

import taxonomy
from accounts.permissions import IsAdmin, IsAnnotator
from accounts.roles import can_annotate, is_admin, open_to_annotators, require_role
from annotate.served_files import file_response
from testsets import browse, grid
from testsets.models import BlacklistReason
from testsets.selectors import testset_named, testset_status, testsets_with_figures
from testsets.serializers import NextTaskAnswer


@open_to_annotators
@login_required
@require_GET
def annotate_page(request, name):
    """The grid: one task's images, their class and the instructions; the first task comes with the page."""
    require_role(request.user, can_annotate, IsAnnotator.message)
    testset = testset_named(name)
    first = NextTaskAnswer(grid.next_task_answer(testset, request.user)).data
    return render(
        request, "testsets/annotate.html", {"testset": testset, "first": first, "instructions": grid.INSTRUCTIONS}
    )


@open_to_annotators
@login_required
@require_GET
def task_image(request, token):
    """A task image by its token, as a JPEG of the one size all task images have, with no file name."""
    require_role(request.user, can_annotate, IsAnnotator.message)
    return file_response(
        grid.task_image_jpeg(token, request.user), content_type="image/jpeg", max_age=grid.TASK_IMAGE_MAX_AGE
    )


# ---- The admins' list, overview and class browser (testsets/browse.py) -------------------------------------------

CLASSES_PER_PAGE = 100


@open_to_annotators
@login_required
@require_GET
def testsets_page(request):
    """Every test set: admins see its figures and pages, annotators the grid to answer."""
    require_role(request.user, can_annotate, IsAnnotator.message)
    if not is_admin(request.user):
        return render(request, "testsets/list.html", {"names": browse.testset_names()})
    return render(request, "testsets/list.html", {"testsets": testsets_with_figures(), "admin": True})


@login_required
@require_GET
def testset_page(request, name):
    """A test set's figures and, per class, its candidates' frequency histogram beside its reference's."""
    require_role(request.user, is_admin, IsAdmin.message)
    testset = testset_named(name)
    rows = browse.class_figures(testset)
    listing = browse.class_listing(request.GET)
    page = Paginator(browse.chosen_classes(rows, **listing), CLASSES_PER_PAGE).get_page(request.GET.get("page"))
    for row in page:
        row["chart"] = browse.class_chart(row)
    context = {
        "testset": testset,
        "status": testset_status(testset),
        "classes": len(rows),
        "short": sum(row["short"] for row in rows),
        "page": page,
        "listing": listing,
        "kept": urlencode(
            {"q": listing["query"], "short": "1" if listing["short_only"] else "", "sort": listing["sort"]}
        ),
        "sorts": browse.CLASS_SORTS,
        "bin_ranges": browse.bin_ranges(),
    }
    return render(request, "testsets/overview.html", context)


@login_required
@require_GET
def testset_class_page(request, name, wnid):
    """A class's candidate browser beside its reference images; the candidates come from the API."""
    require_role(request.user, is_admin, IsAdmin.message)
    testset = testset_named(name)
    wnid = browse.testset_class(testset, wnid)
    (row,) = browse.class_figures(testset, wnid)
    context = {
        "testset": testset,
        "row": row,
        "chart": browse.class_chart(row),
        "synset": taxonomy.get(wnid) if taxonomy.exists(wnid) else None,
        "reference": browse.reference_images(testset, wnid),
        "bin_ranges": browse.bin_ranges(),
        "sorts": browse.CANDIDATE_SORTS,
        "reasons": BlacklistReason.choices,
    }
    return render(request, "testsets/class.html", context)
