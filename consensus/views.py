"""Pages of consensus: a dataset's policy and the adjudication queue (admins)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import is_admin, require_role
from annotate import labelling, policies
from annotate.models import Rule, Verdict
from annotate.selectors import dataset_named, dataset_status
from consensus import selectors
from consensus.forms import PolicyPageForm


def admin_dataset(request, name):
    require_role(request.user, is_admin, "Only admins manage consensus.")
    return dataset_named(name)


@login_required
@require_http_methods(["GET", "POST"])
def consensus_page(request, name):
    dataset = admin_dataset(request, name)
    policy = policies.policy_of(dataset)
    if request.method == "POST":
        form = PolicyPageForm(request.POST)
        if form.is_valid():
            try:
                if form.cleaned_data["recompute"]:
                    summary = labelling.aggregate(dataset=dataset)
                else:
                    summary = labelling.set_policy(dataset=dataset, user=request.user, **form.policy_arguments())
            except labelling.ConsensusError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"Recomputed {summary['items']} items from {summary['verdicts']} verdicts in {summary['seconds']} "
                    f"s: {summary['changed_items']} changed, {summary['needs_adjudication']} to adjudicate.",
                )
        for message in form.error_texts():
            messages.error(request, message)
        return redirect("consensus", name=dataset.name)
    per_verdict = dataset_status(dataset)["items_per_verdict"]
    return render(
        request,
        "consensus/consensus.html",
        {
            "dataset": dataset,
            "policy": policy,
            "rules": Rule.choices,
            "label_counts": [(verdict.label, per_verdict[verdict.value]) for verdict in Verdict],
            "needs_adjudication": selectors.adjudication_count(dataset),
        },
    )


@login_required
@require_GET
def adjudication_page(request, name):
    dataset = admin_dataset(request, name)
    return render(
        request,
        "consensus/adjudication.html",
        {"dataset": dataset, "needs_adjudication": selectors.adjudication_count(dataset)},
    )
