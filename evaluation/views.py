"""Evaluation pages: the phases list with the admins' new-phase form, the admins' phase page, the
participants' labeling screen, the phase-scoped image view that serves participants' images, and the results
page (its figures come from the results API)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import taxonomy
from accounts.roles import is_admin, require_role
from annotate.models import Dataset
from annotate.views import display_response
from config.exceptions import DomainError
from evaluation import scoring, selectors, services
from evaluation.forms import PhaseForm
from evaluation.models import ParticipantImage, PhaseImage, PhaseState
from evaluation.permissions import RESULTS_CLOSED


def _phase_or_404(pk):
    phase = selectors.phase_or_none(pk)
    if phase is None:
        raise Http404("No such evaluation phase.")
    return phase


def _require_admin(request):
    require_role(request.user, is_admin, "Only admins manage evaluation phases.")


@login_required
@require_http_methods(["GET", "POST"])
def phase_list(request):
    admin = is_admin(request.user)
    context = {"is_admin": admin, "phases": selectors.phases_for(request.user)}
    if admin:
        datasets = list(Dataset.objects.all())
        # Bound on every POST, an empty one included: create_phase says what is missing.
        form = PhaseForm(request.POST if request.method == "POST" else None, datasets=datasets)
        if form.is_bound and form.is_valid():
            try:
                phase = services.create_phase(created_by=request.user, **form.cleaned_data)
            except services.PhaseInputError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Created the draft phase “{phase.name}” with {phase.image_count} images.")
                return redirect("evaluation-phase", phase.pk)
        values = form.shown_values()
        context.update(
            form=form,
            datasets=[(dataset, values["datasets"].get(dataset.name, "")) for dataset in datasets],
            splits=services.SPLIT_CHOICES,
            users=get_user_model().objects.order_by("username").only("pk", "username"),
            values=values,
        )
    elif request.method == "POST":
        raise PermissionDenied("Only admins create evaluation phases.")
    return render(request, "evaluation/phases.html", context)


@login_required
@require_GET
def phase_page(request, pk):
    phase = _phase_or_404(pk)
    if not is_admin(request.user):
        if selectors.participant_of(phase, request.user) is None:
            raise PermissionDenied("You are not a participant of this phase.")
        return redirect("evaluation-label", phase.pk)
    return render(
        request,
        "evaluation/phase.html",
        {
            "phase": phase,
            "sample": selectors.sample_summary(phase),
            "participants": selectors.participants_summary(phase),
            "totals": selectors.phase_progress_totals(phase),
        },
    )


def _transition(request, pk, action, done):
    _require_admin(request)
    phase = _phase_or_404(pk)
    try:
        result = action(phase)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done(result))
    return redirect("evaluation-phase", phase.pk)


@login_required
@require_POST
def phase_open(request, pk):
    return _transition(request, pk, services.open_phase, lambda phase: f"“{phase.name}” is open to its participants.")


@login_required
@require_POST
def phase_close(request, pk):
    return _transition(
        request,
        pk,
        services.close_phase,
        lambda added: f"Closed. The answers are human predictions now; {added} new review items went to the queue.",
    )


@login_required
@require_GET
def label_page(request, pk):
    phase = _phase_or_404(pk)
    participant = selectors.participant_of(phase, request.user)
    if participant is None:
        raise PermissionDenied("You are not a participant of this phase.")
    return render(
        request,
        "evaluation/label.html",
        {"phase": phase, "progress": selectors.progress(participant), "is_open": phase.state == PhaseState.OPEN},
    )


@login_required
@require_GET
def phase_image(request, pk, token):
    """A phase image's display JPEG by its token: for a participant whose list holds it while the phase is
    open, and for admins. No file name goes with it."""
    phase_image = (
        PhaseImage.objects.select_related("phase", "image")
        .only("pk", "phase__id", "phase__state", "image__id", "image__file", "image__sha256")
        .filter(phase_id=pk, token=token)
        .first()
    )
    # Refused like a missing image: a token tells nothing to whoever may not see it.
    if phase_image is not None and not is_admin(request.user):
        mine = ParticipantImage.objects.filter(phase_image=phase_image, participant__user=request.user).exists()
        if not mine or phase_image.phase.state != PhaseState.OPEN:
            phase_image = None
    if phase_image is None:
        raise Http404("No such image in this phase.")
    if not phase_image.image.file:
        raise Http404("This image's file has not arrived yet.")
    return display_response(phase_image.image)


@login_required
@require_GET
def results_page(request):
    """The leaderboard, plots and mistake analysis of the datasets chosen (?dataset=, repeated; the first is the
    reference of the drops and of the plots' x axis). Closed, with a 403, to participants of open phases."""
    if selectors.results_closed_to(request.user):
        return render(request, "evaluation/results.html", {"closed": RESULTS_CLOSED}, status=403)
    datasets = list(Dataset.objects.order_by("name").values_list("name", flat=True))
    chosen = [name for name in dict.fromkeys(request.GET.getlist("dataset")) if name in datasets] or datasets[:2]
    chosen = chosen[:2]
    return render(
        request,
        "evaluation/results.html",
        {
            "datasets": datasets,
            "reference": chosen[0] if chosen else None,
            "compared": chosen[1] if len(chosen) > 1 else "",
            "query": urlencode([("dataset", name) for name in chosen]),
            "splits": taxonomy.SPLITS,
            "metrics": scoring.METRICS,
        },
    )
