"""REST API of consensus: a dataset's policy, recomputing its labels, and the adjudication queue."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate import labelling, policies
from annotate.models import ReviewItem
from annotate.selectors import dataset_named
from annotate.serializers import item_data
from config.query import int_schema, query_int
from consensus import selectors, services
from consensus.serializers import (
    AdjudicationInput,
    AggregateInput,
    PolicyInput,
    adjudication_item_data,
    policy_data,
)

QUEUE_LIMIT = 200


class DatasetConsensus(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The dataset's overlap and consensus rule")
    def get(self, request, name):
        dataset = dataset_named(name)
        return Response(
            {
                **policy_data(policies.policy_of(dataset)),
                "needs_adjudication": selectors.adjudication_count(dataset),
            }
        )

    @extend_schema(
        request=PolicyInput,
        responses=OpenApiTypes.OBJECT,
        summary="Set the overlap and consensus rule; every label is recomputed (answers the recount's summary)",
    )
    def put(self, request, name):
        dataset = dataset_named(name)
        data = PolicyInput(data=request.data)
        data.is_valid(raise_exception=True)
        summary = labelling.set_policy(dataset=dataset, user=request.user, **data.validated_data)
        return Response(summary)


class DatasetAggregate(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=AggregateInput,
        responses=OpenApiTypes.OBJECT,
        summary="Recompute every consensus label of the dataset (with a method, that becomes its rule)",
    )
    def post(self, request, name):
        dataset = dataset_named(name)
        data = AggregateInput(data=request.data)
        data.is_valid(raise_exception=True)
        summary = labelling.aggregate(dataset=dataset, rule=data.validated_data.get("method"))
        return Response(summary)


class AdjudicationQueue(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int_schema(), description="an item id: the queue goes on after it"),
            OpenApiParameter(
                "limit",
                int_schema(1, QUEUE_LIMIT),
                description=f"at most this many items (default 50, at most {QUEUE_LIMIT})",
            ),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Items whose reviewers reached no consensus, with every vote",
    )
    def get(self, request, name):
        dataset = dataset_named(name)
        after = query_int(request, "after")
        limit = query_int(request, "limit", default=50, minimum=1, maximum=QUEUE_LIMIT)
        items = selectors.adjudication_queue(dataset, after=after, limit=limit)
        return Response(
            {"remaining": selectors.adjudication_count(dataset), "items": [adjudication_item_data(i) for i in items]}
        )


class ItemAdjudication(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=AdjudicationInput,
        responses=OpenApiTypes.OBJECT,
        summary="Decide an item as senior reviewer: its label from now on, recorded as an adjudication",
    )
    def post(self, request, pk):
        data = AdjudicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = services.adjudicate(
                item_id=pk,
                adjudicator=request.user,
                value=data.validated_data["verdict"],
                note=data.validated_data["note"],
            )
        except ReviewItem.DoesNotExist:
            raise NotFound(f"review item {pk} does not exist") from None
        return Response(item_data(item))
