"""REST API of training: thin views over training.selectors (reads) and training.services (writes)."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from accounts.roles import is_admin
from annotate import access
from annotate.serializers import suggestion_data
from config.query import query_int
from config.schema import list_of
from training import hierarchy, selectors, services, stats
from training.models import PART_SIZE, TrainingAnswer
from training.serializers import AnswerInput, SuggestionInput, TaskInput


class AdminWrites(IsAdmin):
    """Everyone logged in reads; only admins create tasks."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


def task_or_404(pk, with_images=True):
    task = selectors.task_or_none(pk, with_images=with_images)
    if task is None:
        raise NotFound(f"training task {pk} does not exist")
    return task


def trainee_for(request):
    """The trainee named by ?trainee= (the requester when absent); only admins may name someone else."""
    username = request.query_params.get("trainee", "")
    if not username or username == request.user.get_username():
        return request.user
    if not is_admin(request.user):
        raise PermissionDenied("only admins may read another trainee's answers and statistics")
    trainee = get_user_model().objects.filter(username=username).first()
    if trainee is None:
        raise NotFound(f"user {username!r} does not exist")
    return trainee


def task_data(task, progress=None):
    data = {
        "id": task.pk,
        "name": task.name,
        "description": task.description,
        "instructions": task.instructions,
        "source": task.source,
        "dataset": task.dataset.name,
        "offset_start": task.offset_start,
        "offset_end": task.offset_end,
        "node_wnid": task.node_wnid or None,
        "wnids": task.wnids,
        "shuffled": task.shuffled,
        "images": task.image_count,
        "parts": task.part_count,
        "part_size": PART_SIZE,
        "created_at": task.created_at,
    }
    if progress is not None:
        data["progress"] = progress
    return data


def answer_data(answer):
    return {
        "id": answer.pk,
        "image": answer.image_id,
        "position": answer.position,
        "part": answer.part + 1,
        "wnid": answer.wnid,
        "correct": answer.correct,
        "expected_wnid": answer.expected_wnid,
        "answered_at": answer.answered_at,
    }


class TaskList(APIView):
    permission_classes = [AdminWrites]

    @extend_schema(
        operation_id="training_tasks_list",
        responses={
            200: list_of(
                {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "instructions": {"type": "string"},
                    "source": {"type": "string"},
                    "dataset": {"type": "string"},
                    "offset_start": {"type": "integer", "nullable": True},
                    "offset_end": {"type": "integer", "nullable": True},
                    "node_wnid": {"type": "string", "nullable": True},
                    "wnids": {"type": "array", "items": {"type": "string"}},
                    "shuffled": {"type": "boolean"},
                    "images": {"type": "integer"},
                    "parts": {"type": "integer"},
                    "part_size": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "progress": {"type": "object", "description": "yours"},
                },
                required=["id", "name", "source", "dataset", "images", "parts", "progress"],
            )
        },
        summary="Training tasks with your progress",
    )
    def get(self, request):
        return Response([task_data(task, task.progress) for task in selectors.tasks_with_progress(request.user)])

    @extend_schema(request=TaskInput, responses={201: OpenApiTypes.OBJECT}, summary="Create a training task (admins)")
    def post(self, request):
        data = TaskInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        task = services.create_training_task(dataset_name=values.pop("dataset"), created_by=request.user, **values)
        return Response(task_data(task, selectors.task_progress(task, request.user)), status=status.HTTP_201_CREATED)


class TaskDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A training task with the requester's progress")
    def get(self, request, pk):
        task = task_or_404(pk, with_images=False)
        return Response(task_data(task, selectors.task_progress(task, request.user)))


# The feedback would show the labels of images the trainee is labeling blind in an evaluation phase.
WITHHELD_FOR_PHASE = (
    "The rest of this task's images are in an evaluation phase you take part in: they come back when it closes."
)


class TaskNext(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 204: None},
        summary="The requester's next image to label in the task (204 when every image is answered)",
    )
    def get(self, request, pk):
        task = task_or_404(pk)
        withheld = set(access.closed_image_ids(request.user))
        position = selectors.next_position(task, request.user, withheld)
        if position is None:
            if selectors.next_position(task, request.user) is not None:
                raise PermissionDenied(WITHHELD_FOR_PHASE)
            return Response(status=status.HTTP_204_NO_CONTENT)
        image = selectors.image_to_label(task, position)
        progress = selectors.task_progress(task, request.user)
        part = position // PART_SIZE
        return Response(
            {
                "task": task.pk,
                "position": position,
                "part": {
                    "number": part + 1,
                    "of": task.part_count,
                    "size": selectors.part_size(task, part),
                    "image_number": position % PART_SIZE + 1,
                },
                # Only what the screen needs: file names and review data would give the label away.
                "image": {
                    "id": image.pk,
                    "available": image.available,
                    "display_url": reverse("image-display", args=[image.pk]) if image.available else None,
                    "width": image.width,
                    "height": image.height,
                },
                "progress": progress,
            }
        )


class TaskAnswers(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("trainee", str, description="username; only admins may name someone else")],
        responses={
            200: list_of(
                {
                    "id": {"type": "integer"},
                    "image": {"type": "integer"},
                    "position": {"type": "integer"},
                    "part": {"type": "integer"},
                    "wnid": {"type": "string"},
                    "correct": {"type": "boolean", "nullable": True, "description": "null: no valid label"},
                    "expected_wnid": {"type": "string", "description": "empty: the image had no valid label"},
                    "answered_at": {"type": "string", "format": "date-time"},
                },
                required=["id", "image", "position", "part", "wnid", "correct", "answered_at"],
            )
        },
        summary="A trainee's answers in the task, in task order",
    )
    def get(self, request, pk):
        task = task_or_404(pk, with_images=False)
        trainee = trainee_for(request)
        return Response([answer_data(answer) for answer in selectors.answers_of(trainee, task, request.user)])

    @extend_schema(
        request=AnswerInput,
        responses={201: OpenApiTypes.OBJECT},
        summary="Answer one image of the task; returns the feedback (result, correct labels, part progress)",
    )
    def post(self, request, pk):
        task = task_or_404(pk)
        data = AnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if access.is_closed(request.user, values["image"]):
            # As for an image the task does not hold: a closed image reads like a missing one.
            raise ValidationError({"image": f"image {values['image']} is not part of task {task.name!r}"})
        answer, labels = services.record_answer(
            task=task,
            trainee=request.user,
            image_id=values["image"],
            wnid=values["wnid"].strip(),
            seconds_taken=values["seconds_taken"],
        )
        return Response(selectors.answer_feedback(answer, labels), status=status.HTTP_201_CREATED)


class AnswerSuggestions(APIView):
    @extend_schema(
        request=SuggestionInput,
        responses={201: OpenApiTypes.OBJECT},
        summary="From the feedback: suggest your label as correct, or the image as problematic, to the reviewers",
    )
    def post(self, request, pk):
        answer = (
            TrainingAnswer.objects.filter(pk=pk, trainee=request.user)
            .exclude(image_id__in=access.closed_image_ids(request.user))
            .first()
        )
        if answer is None:
            raise NotFound(f"you have no answer {pk}")
        answer.trainee = request.user
        data = SuggestionInput(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = services.suggest_from_answer(answer=answer, **data.validated_data)
        return Response(suggestion_data(suggestion), status=status.HTTP_201_CREATED)


class TraineeStats(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("trainee", str, description="username; only admins may name someone else"),
            OpenApiParameter(
                "task",
                {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                description="one task; all tasks when absent",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT, 404: None},
        summary="A trainee's accuracy over time (per part, per day) and most confused classes",
    )
    def get(self, request):
        trainee = trainee_for(request)
        task = query_int(request, "task")
        if task is not None:
            task = task_or_404(task, with_images=False)
        return Response(stats.trainee_stats(trainee, task, request.user))


class Hierarchy(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("node", str, description="a wnid; the root (entity) when absent")],
        responses={200: OpenApiTypes.OBJECT, 404: None},
        summary="Children of a node of the class hierarchy, with the number of classes under each",
    )
    def get(self, request):
        node = request.query_params.get("node", "").strip()
        try:
            return Response(hierarchy.children(node or None))
        except KeyError:
            raise NotFound(f"{node!r} is not a synset of the class hierarchy") from None
