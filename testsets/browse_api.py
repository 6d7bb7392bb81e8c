"""REST API of the admins' class overview and candidate browser: thin views over testsets.browse."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config.query import int_schema, number_schema
from testsets import browse
from testsets.models import BIN_EDGES
from testsets.selectors import testset_named
from testsets.serializers import BrowsedCandidate, BrowsedImage, TestSetClasses

ANY_YES_NO_SCHEMA = {"type": "string", "enum": ["", *browse.ANY_YES_NO]}


class TestSetClassList(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_classes_list",
        responses=TestSetClasses,
        summary="Per class: the eligible candidates' and the reference images' frequency histograms, and the "
        "candidates eligible, blacklisted and short of annotations",
    )
    def get(self, request, name):
        testset = testset_named(name)
        answer = {
            "bin_edges": list(BIN_EDGES),
            "per_class": testset.per_class,
            "min_annotations": testset.min_annotations,
            "classes": browse.class_figures(testset),
        }
        return Response(TestSetClasses(answer).data)


class ClassCandidates(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_classes_candidates_list",
        parameters=[
            OpenApiParameter("min_frequency", number_schema(0, 1), description="frequency at least this"),
            OpenApiParameter("max_frequency", number_schema(0, 1), description="frequency at most this"),
            OpenApiParameter(
                "bin",
                int_schema(0, browse.BIN_COUNT - 1),
                description=f"frequency in this bin ({', '.join(browse.bin_ranges())}; an edge is the bin above's)",
            ),
            OpenApiParameter("blacklisted", ANY_YES_NO_SCHEMA, description="on the blacklist (default any)"),
            OpenApiParameter(
                "near_duplicate", ANY_YES_NO_SCHEMA, description="blacklisted as a near-duplicate (default any)"
            ),
            OpenApiParameter("min_annotations", int_schema(), description="annotated at least this often"),
            OpenApiParameter(
                "sort",
                {"type": "string", "enum": ["", *browse.CANDIDATE_SORTS]},
                description="default -frequency; unannotated candidates (no frequency) and unknown dates last",
            ),
        ],
        responses=BrowsedCandidate(many=True),
        summary="A class's candidates, filtered and sorted, with their frequencies and blacklist (paginated); "
        "unannotated candidates have no frequency and no bin, so frequency filters leave them out",
    )
    def get(self, request, name, wnid):
        testset = testset_named(name)
        filters = browse.candidate_filters(request)
        page = self.paginate_queryset(browse.class_candidates(testset, browse.testset_class(testset, wnid), filters))
        return self.get_paginated_response(BrowsedCandidate(browse.candidate_data(page), many=True).data)


class ClassReference(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_classes_reference_list",
        responses=BrowsedImage(many=True),
        summary="The class's reference images with their frequencies, the highest first, unannotated ones last",
    )
    def get(self, request, name, wnid):
        testset = testset_named(name)
        images = browse.reference_images(testset, browse.testset_class(testset, wnid))
        return Response(BrowsedImage(images, many=True).data)
