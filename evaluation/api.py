"""REST API of evaluation phases: thin views over evaluation.selectors (reads) and evaluation.services (writes).

Participants see only what labeling needs: the instructions, their progress and their next image by
an opaque token. Never a file name, an original label, a review item or anyone else's answers.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from accounts.roles import is_admin
from evaluation import selectors, services
from evaluation.models import PhaseState
from evaluation.serializers import (
    ParticipantImageRow,
    PhaseAnswer,
    PhaseAnswerInput,
    PhaseInput,
    PhaseSummary,
)


class PhaseEdit(PhaseInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


def phase_or_404(pk):
    phase = selectors.phase_or_none(pk)
    if phase is None:
        raise NotFound(f"evaluation phase {pk} does not exist")
    return phase


def participant_or_403(phase, user):
    participant = selectors.participant_of(phase, user)
    if participant is None:
        if phase.state == PhaseState.DRAFT and selectors.listed_in(phase, user):
            raise PermissionDenied("this phase has not opened yet: it opens to its participants when an admin opens it")
        raise PermissionDenied("you are not a participant of this phase")
    return participant


def phase_data(phase, admin, mine=None):
    data = {"id": phase.pk, "name": phase.name, "instructions": phase.instructions, "state": phase.state}
    if mine is not None:
        data["progress"] = mine
    if admin:
        data.update(
            strata=phase.strata,
            seed=phase.seed,
            exclude_seen=phase.exclude_seen,
            images=phase.image_count,
            created_at=phase.created_at,
            opened_at=phase.opened_at,
            closed_at=phase.closed_at,
        )
    return data


def admin_phase_data(phase):
    data = phase_data(phase, admin=True)
    data["sample"] = selectors.sample_summary(phase)
    data["participants"] = [
        {
            "username": p.user.get_username(),
            "progress": p.progress,
            "seen": p.seen_count,
            "excluded": p.excluded,
            "model": p.model.name if p.model else None,
        }
        for p in selectors.participants_summary(phase)
    ]
    return data


def answer_data(item):
    return {
        "image": item.phase_image.token,
        "position": item.position,
        "wnid": item.wnid,
        "started_at": item.started_at,
        "answered_at": item.answered_at,
        "seconds_taken": item.seconds_taken,
    }


class PhaseList(APIView):
    @extend_schema(
        operation_id="evaluation_phases_list",
        responses=PhaseSummary(many=True),
        summary="Phases: every phase for admins, your own phases with your progress for participants",
    )
    def get(self, request):
        admin = is_admin(request.user)
        return Response([phase_data(phase, admin, phase.mine) for phase in selectors.phases_for(request.user)])

    @extend_schema(request=PhaseInput, responses={201: OpenApiTypes.OBJECT}, summary="Create a draft phase (admins)")
    def post(self, request):
        if not is_admin(request.user):
            raise PermissionDenied("only admins create evaluation phases")
        data = PhaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        phase = services.create_phase(created_by=request.user, **data.validated_data)
        return Response(admin_phase_data(phase), status=status.HTTP_201_CREATED)


class PhaseDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A phase: all of it for admins, yours for a participant")
    def get(self, request, pk):
        phase = phase_or_404(pk)
        if is_admin(request.user):
            return Response(admin_phase_data(phase))
        participant = participant_or_403(phase, request.user)
        return Response(phase_data(phase, admin=False, mine=selectors.progress(participant)))

    @extend_schema(
        request=PhaseEdit, responses={200: OpenApiTypes.OBJECT, 409: None}, summary="Edit a draft phase (admins)"
    )
    def patch(self, request, pk):
        if not is_admin(request.user):
            raise PermissionDenied("only admins edit evaluation phases")
        phase = phase_or_404(pk)
        data = PhaseEdit(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        phase = services.update_phase(phase, **data.validated_data)
        return Response(admin_phase_data(phase))


class PhaseOpen(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, 400: None, 409: None},
        summary="Open a draft phase to its participants",
    )
    def post(self, request, pk):
        phase = services.open_phase(phase_or_404(pk))
        return Response(admin_phase_data(phase))


class PhaseClose(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, 400: None, 409: None},
        summary="Close an open phase: answers become human predictions and go to the review queue",
    )
    def post(self, request, pk):
        phase = phase_or_404(pk)
        added = services.close_phase(phase)
        data = admin_phase_data(phase_or_404(pk))
        data["new_review_items"] = added
        return Response(data)


class PhaseNext(APIView):
    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, 204: None, 400: None, 409: None},
        summary="Put your next unanswered image on screen (its start time is recorded); 204 when done",
    )
    def post(self, request, pk):
        phase = phase_or_404(pk)
        participant = participant_or_403(phase, request.user)
        item = services.start_next_image(phase=phase, participant=participant)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        token = item.phase_image.token
        return Response(
            {
                "phase": phase.pk,
                "position": item.position,
                # Only an opaque token: the image id, file name and labels stay on the server.
                "image": {"token": token, "display_url": reverse("evaluation-image", args=[phase.pk, token])},
                "progress": selectors.progress(participant),
            }
        )


class PhaseAnswers(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("participant", str, description="username; only admins may name someone else")],
        responses=PhaseAnswer(many=True),
        summary="A participant's answers with their start and end times (yours; anyone's for admins)",
    )
    def get(self, request, pk):
        phase = phase_or_404(pk)
        username = request.query_params.get("participant", "")
        if username and username != request.user.get_username():
            if not is_admin(request.user):
                raise PermissionDenied("only admins may read another participant's answers")
            user = get_user_model().objects.filter(username=username).first()
            participant = selectors.participant_of(phase, user) if user else None
            if participant is None:
                raise NotFound(f"{username!r} is not a participant of this phase")
        else:
            participant = participant_or_403(phase, request.user)
        return Response([answer_data(item) for item in selectors.answers_of(participant)])

    @extend_schema(
        request=PhaseAnswerInput,
        responses={201: OpenApiTypes.OBJECT},
        summary="Answer one image of your list: one class, final, no feedback; returns your progress",
    )
    def post(self, request, pk):
        phase = phase_or_404(pk)
        participant = participant_or_403(phase, request.user)
        data = PhaseAnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.record_answer(
            phase=phase,
            participant=participant,
            token=data.validated_data["image"],
            wnid=data.validated_data["wnid"],
        )
        return Response(
            {"image": item.phase_image.token, "wnid": item.wnid, "progress": selectors.progress(participant)},
            status=status.HTTP_201_CREATED,
        )


class PhaseParticipantImages(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=ParticipantImageRow(many=True),
        summary="Every participant's images with the seen flag (admins): for splitting results on seen images",
    )
    def get(self, request, pk):
        phase = phase_or_404(pk)
        return Response(
            [
                {"participant": user.get_username(), "image": image.pk, "file_name": image.file_name, "seen": seen}
                for user, image, seen in selectors.participant_images(phase)
            ]
        )
