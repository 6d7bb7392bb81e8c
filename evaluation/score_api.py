"""REST API of the scores: the rows of evaluation/scores.py, the same as `manage.py score --json`, also as CSV;
and the data of the results page. Closed to participants of open phases (evaluation.permissions). Figures come
from the cache while the data behind them is unchanged (evaluation.figures_cache), with the time they were
computed: in the results' `computed_at` and `age_seconds`, and in the Computed-At and Age-Seconds headers of the
rows."""

import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

import taxonomy
from annotate.spreadsheets import SafeWriter
from evaluation import figures_cache, results, scores, scoring
from evaluation.permissions import SeesResults

DATASET = OpenApiParameter(
    "dataset", str, many=True, description="A dataset to score; repeat for several (default: every dataset)."
)
FILTERS = [
    OpenApiParameter("split", str, enum=taxonomy.SPLITS, description="Only this split."),
    OpenApiParameter("metric", str, enum=scoring.METRICS, description="Only this metric."),
    OpenApiParameter(
        "subset",
        str,
        enum=scoring.SUBSETS,
        description="Only this subset: all, or for humans of evaluation phases the images they had seen / not seen "
        "before, and their fast / slow ones (at most / above their median seconds per image).",
    ),
]
FORMATS = ("json", "csv")
FORMAT = OpenApiParameter(
    "format", str, enum=FORMATS, description="A download: a JSON or CSV file (one line per row, empty for null)."
)


def _figure(help_text):
    return serializers.FloatField(allow_null=True, help_text=help_text)


def _row_fields():
    return {
        "predictor": serializers.CharField(),
        "kind": serializers.CharField(help_text=", ".join(scoring.KINDS)),
        "split": serializers.ChoiceField(choices=taxonomy.SPLITS),
        "metric": serializers.ChoiceField(choices=scoring.METRICS),
        "averaging": serializers.ChoiceField(choices=scoring.AVERAGINGS),
        "subset": serializers.ChoiceField(choices=scoring.SUBSETS),
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


CSV_FILE = {"type": "string", "description": "With ?format=csv: a header line of the keys, then one line per row."}
COMPUTED_HEADERS = [
    OpenApiParameter(
        "Computed-At",
        str,
        OpenApiParameter.HEADER,
        response=True,
        description="When the figures were computed (ISO 8601); they are served from a cache until the data "
        "behind them changes.",
    ),
    OpenApiParameter("Age-Seconds", float, OpenApiParameter.HEADER, response=True, description="How old they are."),
]


def _filters(request):
    return {name: request.query_params.get(name) or None for name in ("split", "metric", "subset")}


def _cached(kind, names, filters, compute):
    """(figures, computed_at) from the cache of figures; ScoreError (a 400) for an unknown dataset, split, metric or
    subset."""
    return figures_cache.cached(kind, {"datasets": names, **filters}, compute)


def _dated(response, computed_at):
    response["Computed-At"] = computed_at.isoformat()
    response["Age-Seconds"] = str(figures_cache.age_seconds(computed_at))
    return response


def rows_response(request, rows, keys, name):
    """The rows as JSON, or with ?format= as a file to download: JSON or CSV (header keys, null as empty)."""
    fmt = request.query_params.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ValidationError({"format": f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"})
    if fmt == "csv":
        text = io.StringIO()
        writer = SafeWriter(text, lineterminator="\n")
        writer.writeheader(keys)
        writer.writerows([row.get(key) for key in keys] for row in rows)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        response = Response(rows)
    if fmt is not None:
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


class ScoreList(APIView):
    permission_classes = [SeesResults]

    @extend_schema(
        parameters=[DATASET, *FILTERS, FORMAT, *COMPUTED_HEADERS],
        responses={(200, "application/json"): SCORE_ROW, (200, "text/csv"): CSV_FILE, 404: None},
        summary="Scores: one flat row per predictor, dataset, split, metric, averaging and subset",
        description="Multi-label accuracy (strict and lenient), top-1 and top-5 (models), per image and per class; "
        "see evaluation/scoring.py for the definitions.",
    )
    def get(self, request):
        names, filters = request.query_params.getlist("dataset"), _filters(request)
        rows, computed_at = _cached("scores", names, filters, lambda: scores.score_rows(names, **filters))
        return _dated(rows_response(request, rows, scoring.ROW_KEYS, "scores"), computed_at)


class ScoreDrops(APIView):
    permission_classes = [SeesResults]

    @extend_schema(
        parameters=[DATASET, *FILTERS, FORMAT, *COMPUTED_HEADERS],
        responses={(200, "application/json"): DROP_ROW, (200, "text/csv"): CSV_FILE, 404: None},
        summary="Drops of each figure from the first dataset named to each of the others",
        description="Needs at least two datasets; the first is the reference.",
    )
    def get(self, request):
        names, filters = request.query_params.getlist("dataset"), _filters(request)
        rows, computed_at = _cached("drops", names, filters, lambda: scores.drop_rows(names, **filters))
        return _dated(rows_response(request, rows, scoring.DROP_KEYS, "score-drops"), computed_at)


class Results(APIView):
    permission_classes = [SeesResults]

    @extend_schema(
        parameters=[DATASET],
        responses={200: OpenApiTypes.OBJECT, 404: None},
        summary="Everything the results page shows: score rows, drops from the first dataset, predictors, humans' "
        "time per image, and the images every model or every human gets wrong",
        description="`computed_at` says when the figures were computed (ISO 8601) and `age_seconds` how old they "
        "are: they are served from a cache until the data behind them changes.",
    )
    def get(self, request):
        names = request.query_params.getlist("dataset")
        data, computed_at = _cached("results", names, {}, lambda: results.results(names))
        age = figures_cache.age_seconds(computed_at)
        return Response({**data, "computed_at": computed_at.isoformat(), "age_seconds": age})
