"""REST API of the scores: the rows of evaluation/scores.py, the same as `manage.py score --json`."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import taxonomy
from evaluation import scores, scoring

DATASET = OpenApiParameter(
    "dataset", str, many=True, description="A dataset to score; repeat for several (default: every dataset)."
)
FILTERS = [
    OpenApiParameter("split", str, enum=taxonomy.SPLITS, description="Only this split."),
    OpenApiParameter("metric", str, enum=scoring.METRICS, description="Only this metric."),
]


def _figure(help_text):
    return serializers.FloatField(allow_null=True, help_text=help_text)


def _row_fields():
    return {
        "predictor": serializers.CharField(),
        "kind": serializers.CharField(help_text=", ".join(scoring.KINDS)),
        "split": serializers.ChoiceField(choices=taxonomy.SPLITS),
        "metric": serializers.ChoiceField(choices=scoring.METRICS),
        "averaging": serializers.ChoiceField(choices=scoring.AVERAGINGS),
    }


SCORE_ROW = inline_serializer(
    "ScoreRow",
    {
        **_row_fields(),
        "dataset": serializers.CharField(),
        "value": _figure("Accuracy (0-1); null where some predictions are not reviewed yet, or n is 0."),
        "lower": _figure("Lower bound: undecided predictions counted as wrong."),
        "upper": _figure("Upper bound: undecided predictions counted as right."),
        "ci_low": _figure("95% Clopper-Pearson interval, low end (per-image figures only)."),
        "ci_high": _figure("95% Clopper-Pearson interval, high end (per-image figures only)."),
        "n": serializers.IntegerField(help_text="Images behind the figure."),
    },
    many=True,
)
DROP_ROW = inline_serializer(
    "ScoreDropRow",
    {
        **_row_fields(),
        "reference": serializers.CharField(help_text="The first dataset named."),
        "dataset": serializers.CharField(),
        "value": _figure("Reference figure minus this dataset's; null where either is."),
        "lower": _figure("The least drop the bounds allow."),
        "upper": _figure("The greatest drop the bounds allow."),
        "n_reference": serializers.IntegerField(),
        "n": serializers.IntegerField(),
    },
    many=True,
)


def _filters(request):
    return {"split": request.query_params.get("split") or None, "metric": request.query_params.get("metric") or None}


class ScoreList(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[DATASET, *FILTERS],
        responses=SCORE_ROW,
        summary="Scores: one flat row per predictor, dataset, split, metric and averaging",
        description="Multi-label accuracy (strict and lenient), top-1 and top-5 (models), per image and per class; "
        "see evaluation/scoring.py for the definitions.",
    )
    def get(self, request):
        try:
            rows = scores.score_rows(request.query_params.getlist("dataset"), **_filters(request))
        except scores.ScoreError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(rows)


class ScoreDrops(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[DATASET, *FILTERS],
        responses=DROP_ROW,
        summary="Drops of each figure from the first dataset named to each of the others",
        description="Needs at least two datasets; the first is the reference.",
    )
    def get(self, request):
        try:
            rows = scores.drop_rows(request.query_params.getlist("dataset"), **_filters(request))
        except scores.ScoreError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(rows)
