"""REST API of near-duplicate search (admins only): thin views over nearduplicates.services and selectors."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate.served_files import safe_file_name
from config.exceptions import NotFoundError
from nearduplicates import selectors, services
from nearduplicates.downloads import neighbour_lines
from nearduplicates.models import Metric, ResolutionOverride, SearchJob
from nearduplicates.serializers import (
    CandidateNeighbours,
    DuplicateGroup,
    OverrideInput,
    PairVerdictInput,
    ReviewQueue,
    SearchInput,
    SearchProgress,
    ThresholdInput,
    ThresholdRow,
)
from testsets.models import Candidate
from testsets.selectors import testset_named

RECENT_SEARCHES = 50


def _search(testset, pk):
    job = SearchJob.objects.filter(testset=testset, pk=pk).first()
    if job is None:
        raise NotFoundError(f"test set {testset.name!r} has no near-duplicate search {pk}")
    return job


def _candidate(testset, pk):
    candidate = Candidate.objects.select_related("image__dataset").filter(testset=testset, pk=pk).first()
    if candidate is None:
        raise NotFoundError(f"test set {testset.name!r} has no candidate {pk}")
    return candidate


class Searches(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=SearchProgress(many=True), summary="The test set's latest near-duplicate searches")
    def get(self, request, name):
        testset = testset_named(name)
        jobs = SearchJob.objects.filter(testset=testset).order_by("-pk")[:RECENT_SEARCHES]
        return Response(SearchProgress([selectors.search_progress(job) for job in jobs], many=True).data)

    @extend_schema(
        request=SearchInput,
        responses={201: SearchProgress},
        summary="Start a search for each candidate's k nearest neighbours under a metric (computing the vectors it "
        "lacks first)",
    )
    def post(self, request, name):
        testset = testset_named(name)
        data = SearchInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.find_near_duplicates(testset_name=testset.name, user=request.user, **data.validated_data)
        return Response(SearchProgress(selectors.search_progress(job)).data, status=status.HTTP_201_CREATED)


class SearchDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=SearchProgress, summary="A search's progress and that of the feature jobs it waits for")
    def get(self, request, name, pk):
        job = _search(testset_named(name), pk)
        return Response(SearchProgress(selectors.search_progress(job)).data)


class SearchCancel(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=SearchProgress, summary="Cancel a search and the feature jobs only it needs")
    def post(self, request, name, pk):
        job = _search(testset_named(name), pk)
        services.cancel_search(job.pk)
        return Response(SearchProgress(selectors.search_progress(job)).data)


class Thresholds(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=ThresholdRow(many=True), summary="Each searched metric's threshold and what lies under it")
    def get(self, request, name):
        return Response(ThresholdRow(selectors.thresholds_of(testset_named(name)), many=True).data)


class ThresholdDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=ThresholdInput,
        responses=ThresholdRow(many=True),
        summary="Set a metric's threshold (null: back to the proposal); answers every metric's",
    )
    def put(self, request, name, metric):
        testset = testset_named(name)
        if metric not in Metric.values:
            raise NotFoundError(f"{metric!r} is no metric (one of {', '.join(Metric.values)})")
        data = ThresholdInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.set_threshold(
            testset_name=testset.name, metric=metric, value=data.validated_data["value"], user=request.user
        )
        return Response(ThresholdRow(selectors.thresholds_of(testset), many=True).data)


class ReviewQueueView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_near_duplicates_review_queue",
        responses=ReviewQueue,
        summary="The candidates with a neighbour under a threshold that wants a verdict, nearest pairs first",
    )
    def get(self, request, name):
        queue = selectors.review_queue(testset_named(name))
        return Response(ReviewQueue({"count": len(queue), "candidates": queue}).data)


def candidate_answer(testset, candidate):
    override = ResolutionOverride.objects.filter(candidate=candidate).values_list("decision", flat=True).first()
    return {
        "candidate": candidate.pk,
        "image": candidate.image,
        "wnid": candidate.wnid,
        "source_id": candidate.source_id,
        "date_taken": candidate.date_taken,
        "held_back": selectors.held_back_candidates(testset).get(candidate.pk),
        "override": override or "",
        "neighbours": selectors.candidate_neighbours(testset, candidate),
    }


class CandidateDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_near_duplicates_candidate",
        responses=CandidateNeighbours,
        summary="A candidate's neighbours per metric with the verdicts on them, and whether sampling may take it",
    )
    def get(self, request, name, pk):
        testset = testset_named(name)
        return Response(CandidateNeighbours(candidate_answer(testset, _candidate(testset, pk))).data)


class CandidateVerdict(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=PairVerdictInput,
        responses=CandidateNeighbours,
        summary='Say whether the candidate and one of its neighbours show the same picture ("" takes it back)',
    )
    def post(self, request, name, pk):
        testset = testset_named(name)
        candidate = _candidate(testset, pk)
        data = PairVerdictInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_pair(
            testset_name=testset.name,
            candidate_id=candidate.pk,
            image_id=data.validated_data["image"],
            verdict=data.validated_data["verdict"],
            user=request.user,
        )
        return Response(CandidateNeighbours(candidate_answer(testset, candidate)).data)


class CandidateOverride(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=OverrideInput,
        responses=CandidateNeighbours,
        summary='Keep or reject the candidate whatever the resolution of duplicates says ("" takes it back)',
    )
    def post(self, request, name, pk):
        testset = testset_named(name)
        candidate = _candidate(testset, pk)
        data = OverrideInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.override_resolution(
            testset_name=testset.name, candidate_id=candidate.pk, user=request.user, **data.validated_data
        )
        return Response(CandidateNeighbours(candidate_answer(testset, candidate)).data)


class DuplicateGroups(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=DuplicateGroup(many=True),
        summary="The groups of duplicates and shared source ids, and which candidate of each survives and why",
    )
    def get(self, request, name):
        groups = [{"members": members} for members in selectors.duplicate_groups(testset_named(name))]
        page = self.paginate_queryset(groups)
        return self.get_paginated_response(DuplicateGroup(page, many=True).data)


class NeighbourExport(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(description="candidate,neighbour,neighbour_dataset,metric,distance,rank")
        },
        summary="Every neighbour found, as CSV (names are file names)",
    )
    def get(self, request, name):
        testset = testset_named(name)
        response = StreamingHttpResponse(neighbour_lines(testset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{safe_file_name(testset.name)}-near-duplicates.csv"'
        return response
