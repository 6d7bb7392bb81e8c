"""The final review page of a revision (admins only). It renders the frame; final-review.js talks to the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from testsets.browse import bin_ranges
from testsets.models import BlacklistReason
from testsets.revisions import revision_numbered
from testsets.workflow_views import admin_testset


@login_required
@require_GET
def review_page(request, name, number):
    """Per class, the sampled images beside reference images, marked and blacklisted by keyboard; ?class=WNID opens
    that class, ?show=unreviewed|problematic|all filters the classes."""
    testset = admin_testset(request, name)
    revision = revision_numbered(testset, number)
    parameters = revision.parameters
    # What "Resample from this revision" posts: the revision's own sampling, started from it.
    resample = {
        "strategy": revision.strategy,
        "per_class": parameters.get("per_class"),
        "seed": revision.seed,
        "threshold": parameters.get("threshold"),
        "thresholds": parameters.get("thresholds") or None,
        "from": revision.number,
    }
    context = {
        "testset": testset,
        "revision": revision,
        "reasons": BlacklistReason.choices,
        "bin_ranges": bin_ranges(),
        "resample": resample,
    }
    return render(request, "finalreview/review.html", context)
