"""REST API of new test sets: thin views over testsets.grid (reads) and testsets.frequency_tasks (writes).

Annotators see what answering a task needs: the class, the instructions, their progress and the images by opaque
tokens. Never a file name, an image id or which images are controls."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAnnotator
from config.exceptions import NotFoundError
from config.query import int_schema, query_ints
from testsets import grid
from testsets.frequency_tasks import submit_assignment
from testsets.models import FrequencyTask
from testsets.selectors import testset_named
from testsets.serializers import AssignmentAnswer, AssignmentInput, NextTaskAnswer


class NextTask(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(
        operation_id="testsets_tasks_next",
        parameters=[
            OpenApiParameter(
                "skip",
                {"type": "array", "items": int_schema()},
                description="ids of tasks you hold already, e.g. the one on your screen (repeated: skip=1&skip=2)",
            )
        ],
        responses=NextTaskAnswer,
        summary="The next task for you: one you have not answered that still wants answers, the least answered "
        "first; task null when none is left",
    )
    def get(self, request, name):
        testset = testset_named(name)
        skip = query_ints(request, "skip", max_count=grid.MAX_SKIPPED)
        return Response(NextTaskAnswer(grid.next_task_answer(testset, request.user, skip)).data)


class TaskAssignment(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(
        request=AssignmentInput,
        responses={201: AssignmentAnswer, 409: None},
        summary="Answer a task: the tokens of the images you selected; once per task (409 the second time)",
    )
    def post(self, request, name, pk):
        testset = testset_named(name)
        task = FrequencyTask.objects.filter(testset=testset, pk=pk).first()
        if task is None:
            raise NotFoundError(f"test set {testset.name!r} has no task {pk}")
        data = AssignmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        submit_assignment(
            task=task,
            annotator=request.user,
            selected_tokens=data.validated_data["selected"],
            started_at=data.validated_data.get("started_at"),
        )
        answer = {"task": task.pk, "progress": grid.progress(testset, request.user)}
        return Response(AssignmentAnswer(answer).data, status=status.HTTP_201_CREATED)
