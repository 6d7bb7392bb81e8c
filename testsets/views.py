"""Pages of new test sets and the task images they show; the pages talk to the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import IsAnnotator
from accounts.roles import can_annotate, require_role
from annotate.served_files import file_response
from testsets import grid
from testsets.selectors import testset_named
from testsets.serializers import NextTaskAnswer


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


@login_required
@require_GET
def task_image(request, token):
    """A task image by its token, as a JPEG of the one size all task images have, with no file name."""
    require_role(request.user, can_annotate, IsAnnotator.message)
    return file_response(
        grid.task_image_jpeg(token, request.user), content_type="image/jpeg", max_age=grid.TASK_IMAGE_MAX_AGE
    )
