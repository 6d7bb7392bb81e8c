"""REST API of interchange: a dataset's multi-label annotation downloaded and imported."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate.api import form_flag, import_upload_schema, required_upload, upload_name
from annotate.selectors import dataset_named
from interchange import formats


def multilabel_format(fmt, known):
    if fmt not in known:
        raise ValidationError({"format": f"unknown format {fmt!r}; use one of {', '.join(known)}"})
    return fmt


class MultilabelExport(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(formats.EXPORT_FORMATS), default="tfds")],
        responses={
            (200, "application/json"): {
                "description": "tfds: an object of the TFDS builder's keys; real: one list of class indices per image",
                "oneOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                ],
            },
            (200, "application/jsonl"): {"type": "string", "description": "jsonl: one JSON object per line"},
            (200, "text/csv"): {"type": "string", "description": "csv: one row per image and class"},
        },
        summary="Download the dataset's multi-label annotation (TFDS JSON, ReaL JSON, JSON Lines or CSV)",
    )
    def get(self, request, name):
        fmt = multilabel_format(request.query_params.get("format", "tfds"), formats.EXPORT_FORMATS)
        dataset = dataset_named(name)
        spec = formats.FORMATS[fmt]
        # Streamed: a JSON Lines export of a large dataset is read and written a chunk at a time.
        response = StreamingHttpResponse(formats.export(dataset, fmt), content_type=spec.content_type)
        response["Content-Disposition"] = f'attachment; filename="{dataset.name}-multilabel-{fmt}.{spec.extension}"'
        return response


class MultilabelImport(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=import_upload_schema(
            format={"type": "string", "enum": list(formats.IMPORT_FORMATS), "default": "tfds"},
            overwrite={"type": "boolean", "description": "replace verdicts and flags already given"},
        ),
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
        summary="Import a multi-label file (TFDS JSON, ReaL JSON or JSON Lines) into the dataset; the labels of a "
        "TFDS or ReaL file become the caller's verdicts",
    )
    def post(self, request, name):
        upload = required_upload(request, "multi-label file")
        fmt = multilabel_format(request.data.get("format") or "tfds", formats.IMPORT_FORMATS)
        dataset = dataset_named(name)
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"file": "the file is not UTF-8 text"}) from None
        summary = formats.load(
            dataset=dataset,
            fmt=fmt,
            text=text,
            source=upload_name(upload),
            reviewer=request.user.username,
            user=request.user,
            dry_run=form_flag(request, "dry_run"),
            overwrite=form_flag(request, "overwrite"),
        )
        return Response(summary, status=status.HTTP_200_OK if summary["dry_run"] else status.HTTP_201_CREATED)
