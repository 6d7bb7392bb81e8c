"""REST API of quality control (admins only): agreement statistics and golden items; thin views over
consensus.agreement (reads) and the consensus services (writes)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

import taxonomy
from accounts.permissions import IsAdmin
from annotate import labelling
from annotate.selectors import dataset_named
from consensus import agreement, services
from consensus.serializers import AnswerInput, GoldenItem, ReviewerAccuracy


class GoldenInput(AnswerInput):
    image = serializers.IntegerField(required=False, help_text="the image's id; or give its file_name")
    file_name = serializers.CharField(required=False, max_length=255)
    wnid = serializers.CharField(max_length=20)

    def validate(self, data):
        if ("image" in data) == ("file_name" in data):
            raise serializers.ValidationError("name the image by its id ('image') or its 'file_name', not both")
        return data


def golden_data(golden):
    """One golden item (from consensus.agreement); with each reviewer's answer where they were loaded."""
    item = golden.item
    data = {
        "item": item.pk,
        "image": item.image_id,
        "file_name": item.image.file_name,
        "wnid": item.wnid,
        "words": list(taxonomy.get(item.wnid).words) if taxonomy.exists(item.wnid) else [],
        "answer": golden.answer,
        "answered": golden.answered,
        "right": golden.right,
        "created_by": golden.created_by.username,
        "created_at": golden.created_at,
    }
    if hasattr(item, "answers"):
        data["answers"] = [
            {"reviewer": verdict.reviewer.username, "verdict": verdict.value, "at": verdict.updated_at}
            for verdict in item.answers
        ]
    return data


def golden_or_404(item_id):
    golden = agreement.golden_item(item_id)
    if golden is None:
        raise NotFound(f"review item {item_id} is not golden")
    return golden


class DatasetAgreement(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Agreement between the dataset's reviewers: Cohen's kappa of each pair, Fleiss' kappa, each "
        "reviewer's agreement with the consensus of the other reviewers (also per day or week), reliability and golden "
        "accuracy",
    )
    def get(self, request, name):
        return Response(agreement.dataset_agreement(dataset_named(name)))


class GoldenAccuracy(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=ReviewerAccuracy(many=True), summary="Each reviewer's accuracy on the dataset's golden items"
    )
    def get(self, request, name):
        return Response(agreement.golden_accuracy(dataset_named(name)))


class GoldenList(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=GoldenItem(many=True),
        summary="The dataset's golden items, in image order, with each reviewer's answer (paginated)",
    )
    def get(self, request, name):
        page = self.paginate_queryset(agreement.with_answers(agreement.golden_items(dataset_named(name))))
        return self.get_paginated_response([golden_data(golden) for golden in page])

    @extend_schema(
        request=GoldenInput,
        responses={201: GoldenItem},
        summary="Make an (image, wnid) pair golden with a known answer; its review item is created if missing",
    )
    def post(self, request, name):
        dataset = dataset_named(name)
        data = GoldenInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        item = services.mark_golden_pair(
            dataset=dataset,
            wnid=values["wnid"].strip(),
            answer=values["answer"],
            user=request.user,
            image_id=values.get("image"),
            file_name=values.get("file_name"),
        )
        return Response(golden_data(golden_or_404(item.pk)), status=status.HTTP_201_CREATED)


class GoldenDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=GoldenItem, summary="A golden item with each reviewer's answer")
    def get(self, request, pk):
        return Response(golden_data(golden_or_404(pk)))

    @extend_schema(request=AnswerInput, responses=GoldenItem, summary="Change a golden item's answer")
    def patch(self, request, pk):
        golden_or_404(pk)
        data = AnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.mark_golden(item_id=pk, answer=data.validated_data["answer"], user=request.user)
        return Response(golden_data(golden_or_404(pk)))

    @extend_schema(responses={204: None}, summary="Make a golden item an ordinary one again")
    def delete(self, request, pk):
        golden_or_404(pk)
        try:
            services.unmark_golden(item_id=pk)
        except labelling.ConsensusError as exc:  # unmarked meanwhile
            raise NotFound(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
