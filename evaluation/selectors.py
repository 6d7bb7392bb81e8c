"""Reads of evaluation phases: lists with progress, a phase's sample and participants, who saw what, who may
see results."""

from django.contrib.admin.models import LogEntry
from django.db import connection
from django.db.models import Count, Sum

from accounts.roles import is_admin
from annotate.models import ConsensusPolicy, Dataset, FlagChange, ImportBatch, Prediction, VerdictChange
from consensus.models import Adjudication
from evaluation.models import Participant, ParticipantImage, Phase, PhaseImage, PhaseState

# What moves when data behind the figures changes: the latest row (or time) of each, with what writes it.
FIGURES_MARKERS = [
    (VerdictChange, "id"),  # every verdict (annotate.services.set_verdict)
    (FlagChange, "id"),  # every problematic flag set or cleared
    (ImportBatch, "id"),  # every import (labels, votes, flags, predictions) and every undoing of one
    (Prediction, "id"),  # prediction jobs, closed phases (their answers become predictions again)
    (Adjudication, "id"),
    (ConsensusPolicy, "updated_at"),  # rule changes, and labels changed without a history row (consensus.services)
    (Dataset, "id"),  # a new dataset is one of "every dataset"
    (LogEntry, "id"),  # whatever an admin changes or deletes by hand
]


def phase_or_none(pk):
    return Phase.objects.filter(pk=pk).first()


def participant_of(phase, user):
    """The user's participation in the phase, or None. A draft phase has no participants yet: its sample and
    list of participants may still change, so its pages and API stay closed to them until it opens."""
    if not user.is_authenticated or phase.state == PhaseState.DRAFT:
        return None
    return Participant.objects.filter(phase=phase, user=user).first()


def listed_in(phase, user):
    """Whether the user is on the phase's list of participants, whatever the phase's state."""
    return user.is_authenticated and Participant.objects.filter(phase=phase, user=user).exists()


def figures_fingerprint():
    """The latest row of each of FIGURES_MARKERS, in one query of index lookups: any write that can change a
    score moves one of them, so that cached figures (evaluation.figures_cache) are known to be current."""
    quote = connection.ops.quote_name
    latest = ", ".join(
        f"(SELECT MAX({quote(model._meta.get_field(name).column)}) FROM {quote(model._meta.db_table)})"
        for model, name in FIGURES_MARKERS
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {latest}")
        return cursor.fetchone()


def results_closed_to(user):
    """Whether scores, results and multi-labels are kept from the user: a participant, not an admin, of a phase
    that is open. They would show the labels of the images the participant is labeling blind."""
    if is_admin(user):
        return False
    return Participant.objects.filter(user=user, phase__state=PhaseState.OPEN).exists()


def phase_images_closed_to(user):
    """The ids of the images of the open phases the user takes part in (not as an admin), or None: their labels,
    history and files would give away the answers, and the phase serves them by token. Evaluation registers this
    rule with annotate.access, which closes them, and every image with the same file, everywhere else."""
    if not user.is_authenticated or is_admin(user):
        return None
    open_phases = list(
        Participant.objects.filter(user=user, phase__state=PhaseState.OPEN).values_list("phase_id", flat=True)
    )
    if not open_phases:
        return None
    return PhaseImage.objects.filter(phase_id__in=open_phases).values("image_id")


def progress(participant):
    """The figures of "Completed 12 of 100"."""
    images, answered = participant.image_count, participant.answered
    return {
        "images": images,
        "answered": answered,
        "finished": answered >= images,
        "text": f"{answered} of {images}",
    }


def phases_for(user):
    """Admins: every phase with its participants' progress totals. Others: the phases they take part in,
    each with their own progress (`phase.mine`). Two queries."""
    if is_admin(user):
        phases = list(
            Phase.objects.annotate(
                participant_count=Count("participants"),
                answered=Sum("participants__answered"),
                assigned=Sum("participants__image_count"),
            )
        )
        mine = {p.phase_id: p for p in Participant.objects.filter(user=user)}
    else:
        mine = {p.phase_id: p for p in Participant.objects.filter(user=user).exclude(phase__state=PhaseState.DRAFT)}
        phases = list(Phase.objects.filter(pk__in=mine))
    for phase in phases:
        participant = mine.get(phase.pk)
        phase.mine = progress(participant) if participant else None
    return phases


def sample_summary(phase):
    """Images of the sample per dataset and split: [{"dataset", "split", "images"}]."""
    rows = (
        PhaseImage.objects.filter(phase=phase)
        .values("dataset__name", "split")
        .annotate(images=Count("pk"))
        .order_by("dataset__name", "split")
    )
    return [{"dataset": row["dataset__name"], "split": row["split"], "images": row["images"]} for row in rows]


def participants_summary(phase):
    """Each participant with their progress and how many of their images they had seen before. Two queries."""
    participants = list(phase.participants.select_related("user", "model").order_by("user__username"))
    seen = dict(
        ParticipantImage.objects.filter(participant__phase=phase, seen=True)
        .values_list("participant_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    excluded = phase.image_count
    for participant in participants:
        participant.progress = progress(participant)
        participant.seen_count = seen.get(participant.pk, 0)
        participant.excluded = excluded - participant.image_count
    return participants


def participant_images(phase):
    """(participant user, image, seen) for every image of every participant's list, in list order."""
    rows = (
        ParticipantImage.objects.filter(participant__phase=phase)
        .select_related("participant__user", "phase_image__image")
        .order_by("participant__user__username", "position")
    )
    return [(row.participant.user, row.phase_image.image, row.seen) for row in rows]


def answers_of(participant):
    """The participant's answered images, in list order (tokens, not image ids)."""
    return (
        ParticipantImage.objects.filter(participant=participant, answered_at__isnull=False)
        .select_related("phase_image")
        .order_by("position")
    )


def phase_progress_totals(phase):
    totals = phase.participants.aggregate(answered=Sum("answered"), images=Sum("image_count"))
    return {"answered": totals["answered"] or 0, "images": totals["images"] or 0}
