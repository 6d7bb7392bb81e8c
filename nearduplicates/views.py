"""Pages of near-duplicate search (admins only): the searches, thresholds and groups of duplicates, and the review of
pairs under the thresholds. They render the frame; near-duplicates.js and near-duplicate-review.js talk to the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import IsAdmin
from accounts.roles import is_admin, require_role
from annotate.models import Dataset
from nearduplicates import services
from nearduplicates.index_choice import DEFAULT_NPROBE, MAX_NPROBE
from nearduplicates.models import Metric, SearchIndex
from testsets.selectors import testset_named


def _admin_testset(request, name):
    require_role(request.user, is_admin, IsAdmin.message)
    return testset_named(name)


@login_required
@require_GET
def near_duplicates_page(request, name):
    """The searches with their live progress and the form to start one, each metric's threshold, the groups of
    duplicates and the export."""
    testset = _admin_testset(request, name)
    # The candidates' own dataset is searched anyway, as the other candidates.
    datasets = Dataset.objects.exclude(pk=testset.pool_id).order_by("name").values_list("name", flat=True)
    context = {
        "testset": testset,
        "metrics": Metric.choices,
        "indexes": SearchIndex.choices,
        "default_nprobe": DEFAULT_NPROBE,
        "max_nprobe": MAX_NPROBE,
        "datasets": list(datasets),
        "default_k": services.DEFAULT_K,
        "max_k": services.MAX_K,
        "default_architecture": services.DEFAULT_ARCHITECTURE,
    }
    return render(request, "nearduplicates/near_duplicates.html", context)


@login_required
@require_GET
def review_page(request, name):
    """One waiting candidate at a time beside its neighbours under the thresholds, judged by keyboard."""
    testset = _admin_testset(request, name)
    return render(request, "nearduplicates/review.html", {"testset": testset})
