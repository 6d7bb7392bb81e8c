"""Quality control pages for admins: agreement between a dataset's reviewers, and its golden items."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate.models import DecidedVerdict
from annotate.policies import policy_for
from consensus import agreement
from consensus.views import admin_dataset

# Up to this many reviewers the page shows every pair's kappa as a matrix; beyond, the pairs sharing most items.
MATRIX_MAX_REVIEWERS = 12
TOP_PAIRS = 40


def kappa_matrix(names, pairs):
    """Rows of the kappa matrix: each reviewer with a cell per reviewer, holding their pair (None where they share
    no item) or marking the diagonal."""
    by_pair = {frozenset(pair["reviewers"]): pair for pair in pairs}
    return [
        {
            "reviewer": row,
            "cells": [{"pair": by_pair.get(frozenset((row, column))), "diagonal": row == column} for column in names],
        }
        for row in names
    ]


@login_required
@require_GET
def agreement_page(request, name):
    dataset = admin_dataset(request, name)
    stats = agreement.dataset_agreement(dataset)
    names = [row["reviewer"] for row in stats["reviewers"]]
    context = {
        "dataset": dataset,
        "stats": stats,
        "over_time": {
            **stats["over_time"],
            "reviewers": [{"reviewer": row["reviewer"], **row["over_time"]} for row in stats["reviewers"]],
        },
    }
    if len(names) <= MATRIX_MAX_REVIEWERS:
        context["matrix"] = kappa_matrix(names, stats["pairs"])
    else:
        context["top_pairs"] = stats["pairs"][:TOP_PAIRS]
    return render(request, "consensus/agreement.html", context)


@login_required
@require_GET
def golden_page(request, name):
    dataset = admin_dataset(request, name)
    return render(
        request,
        "consensus/golden.html",
        {
            "dataset": dataset,
            "policy": policy_for(dataset.pk),
            "golden_items": agreement.golden_items(dataset),
            "accuracy": agreement.golden_accuracy(dataset),
            "answers": DecidedVerdict.choices,
        },
    )
