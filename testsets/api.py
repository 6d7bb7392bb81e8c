"""REST API of new test sets: thin views over testsets.grid (reads) and testsets.frequency_tasks (writes), and the
admins' views over the test sets' status, blacklist, revisions and annotators.

Annotators see what answering a task needs: the class, the instructions, their progress and the images by opaque
tokens. Never a file name, an image id or which images are controls."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin, IsAnnotator
from accounts.roles import open_to_annotators
from config.exceptions import NotFoundError
from config.query import int_schema, query_ints
from testsets import grid
from testsets.frequency_tasks import annotator_quality, submit_assignment
from testsets.models import Candidate, FrequencyTask
from testsets.revisions import compare_revisions, revision_numbered, sample_testset
from testsets.selectors import revisions_listed, testset_named, testset_status, testsets_with_figures
from testsets.serializers import (
    AnnotatorQuality,
    AssignmentAnswer,
    AssignmentInput,
    BlacklistAnswer,
    BlacklistInput,
    NextTaskAnswer,
    RevisionComparison,
    RevisionSummary,
    SampleAnswer,
    SampleInput,
    SamplePreview,
    TestSetInput,
    TestSetStatus,
    TestSetSummary,
)
from testsets.services import create_testset, set_blacklisted


@open_to_annotators
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


@open_to_annotators
class TaskAssignment(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(
        request=AssignmentInput,
        responses={201: AssignmentAnswer, 409: None},
        summary="Answer a task: the tokens of the images you selected; once per task (409 the second time, and "
        "once the task has all the answers it wants)",
    )
    def post(self, request, name, pk):
        testset = testset_named(name)
        task = FrequencyTask.objects.filter(testset=testset, pk=pk).first()
        # A task holding an image closed to the annotator is never served to them, and reads as a missing one.
        if task is None or grid.holds_closed_image(task, request.user):
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


class TestSets(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=TestSetSummary(many=True), summary="Every test set with its figures, by name")
    def get(self, request):
        summaries = testsets_with_figures()
        return Response(TestSetSummary(summaries, many=True).data)

    @extend_schema(
        request=TestSetInput,
        responses={201: TestSetStatus},
        summary="Start a new test set against a reference dataset, with an empty pool for its candidates",
    )
    def post(self, request):
        data = TestSetInput(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        reference = options.pop("reference")
        testset = create_testset(reference_name=reference.name, user=request.user, **options)
        return Response(TestSetStatus(testset_status(testset)).data, status=status.HTTP_201_CREATED)


class TestSetDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=TestSetStatus, summary="A test set's figures, and its candidates per class")
    def get(self, request, name):
        return Response(TestSetStatus(testset_status(testset_named(name))).data)


class CandidateBlacklist(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=BlacklistInput,
        responses=BlacklistAnswer,
        summary='Put a candidate on the blacklist with a reason ("other" wants a note), or take it off (reason "")',
    )
    def post(self, request, name, pk):
        testset = testset_named(name)
        if not Candidate.objects.filter(testset=testset, pk=pk).exists():
            raise NotFoundError(f"test set {testset.name!r} has no candidate {pk}")
        data = BlacklistInput(data=request.data)
        data.is_valid(raise_exception=True)
        candidate = set_blacklisted(candidate_id=pk, user=request.user, **data.validated_data)
        answer = {"candidate": candidate.pk, "reason": candidate.blacklist_reason, "note": candidate.blacklist_note}
        return Response(BlacklistAnswer(answer).data)


class TestSetRevisions(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=RevisionSummary(many=True), summary="A test set's revisions, the first first")
    def get(self, request, name):
        return Response(RevisionSummary(revisions_listed(testset_named(name)), many=True).data)

    @extend_schema(
        request=SampleInput,
        responses={201: SampleAnswer},
        summary="Sample a new revision: afresh, or from a revision keeping its images that still qualify",
    )
    def post(self, request, name):
        result = sampled(request, name, dry_run=False)
        return Response(SampleAnswer(result).data, status=status.HTTP_201_CREATED)


class RevisionPreview(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_revisions_preview",
        request=SampleInput,
        responses=SamplePreview,
        summary="Preview a sample: what POST .../revisions/ would answer for the same input (a seed draws the same), "
        "without a revision number and with nothing saved",
    )
    def post(self, request, name):
        return Response(SamplePreview(sampled(request, name, dry_run=True)).data)


def sampled(request, name, *, dry_run):
    """sample_testset over a SampleInput body, saved or (`dry_run`) not."""
    testset = testset_named(name)
    data = SampleInput(data=request.data)
    data.is_valid(raise_exception=True)
    parameters = dict(data.validated_data)
    return sample_testset(
        testset_name=testset.name,
        from_revision=parameters.pop("from", None),
        user=request.user,
        dry_run=dry_run,
        **parameters,
    )


class RevisionCompare(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_revisions_compare",
        responses=RevisionComparison,
        summary="What changed from one revision to another: file names added, removed and kept per class",
    )
    def get(self, request, name, number, other):
        testset = testset_named(name)
        first, second = (revision_numbered(testset, each) for each in (number, other))
        return Response(RevisionComparison(compare_revisions(first, second)).data)


class TestSetAnnotators(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=AnnotatorQuality(many=True),
        summary="Per annotator and per day: assignments, accuracy on controls, those under the quality threshold",
    )
    def get(self, request, name):
        return Response(AnnotatorQuality(annotator_quality(testset_named(name)), many=True).data)
