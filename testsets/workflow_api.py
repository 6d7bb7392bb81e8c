"""REST API of the steps of building a test set that the commands take too (admins only): creating its tasks,
downloading the open ones for a crowd platform, importing that crowd's selections, downloading the selection
frequencies; making a revision a dataset and exporting a revision. Thin views over the same functions as the
commands."""

import io

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate.api import required_upload, upload_name
from config.parsers import JSONLinesParser
from testsets import revisions
from testsets.downloads import frequency_lines, task_lines
from testsets.frequency_tasks import create_frequency_tasks, import_selections
from testsets.selectors import testset_named
from testsets.serializers import (
    FrequencyTasksAnswer,
    FrequencyTasksInput,
    RevisionDatasetAnswer,
    SelectionsAnswer,
)

TEXT_FILE = {"type": "string"}


def download(response, file_name):
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


class FrequencyTasks(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_tasks_create",
        request=FrequencyTasksInput,
        responses={201: FrequencyTasksAnswer},
        summary="Create selection-frequency tasks for the eligible candidates, beside hidden controls from the "
        "reference, and the tasks that give each class enough annotated reference images (as create_frequency_tasks)",
    )
    def post(self, request, name):
        testset = testset_named(name)
        data = FrequencyTasksInput(data=request.data)
        data.is_valid(raise_exception=True)
        summary = create_frequency_tasks(testset_name=testset.name, **data.validated_data)
        return Response(FrequencyTasksAnswer(summary).data, status=status.HTTP_201_CREATED)


class FrequencyTasksExport(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses={(200, "application/jsonl"): TEXT_FILE},
        summary='Download the open tasks as JSON Lines, one a line: {"task": id, "wnid": ..., "images": '
        '[{"token": ..., "file_name": ...}, ...]} (as export_frequency_tasks)',
    )
    def get(self, request, name):
        testset = testset_named(name)
        response = StreamingHttpResponse(task_lines(testset), content_type="application/jsonl")
        return download(response, f"{testset.name}-tasks.jsonl")


class SelectionsImport(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, JSONLinesParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "application/jsonl": TEXT_FILE,
        },
        responses={201: SelectionsAnswer},
        summary='Import a crowd\'s answers as JSON Lines (a file, or the body), one a line: {"task": id, "annotator": '
        'name, "selected": [token, ...]}; the whole file is checked first, and nothing is written if a line is at '
        "fault (as import_selections)",
    )
    def post(self, request, name):
        testset = testset_named(name)
        if isinstance(request.data, str):
            text, source = request.data, "the body"
        else:
            upload = required_upload(request, "JSON Lines file of selections")
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError({"file": "the file is not UTF-8 text"}) from None
            source = upload_name(upload)
        summary = import_selections(testset_name=testset.name, text=text, source=source)
        return Response(SelectionsAnswer(summary).data, status=status.HTTP_201_CREATED)


class FrequenciesExport(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses={(200, "text/csv"): TEXT_FILE},
        summary="Download the selection frequencies as CSV file_name,wnid,role,annotations,selected,frequency "
        "(as selection_frequencies)",
    )
    def get(self, request, name):
        testset = testset_named(name)
        response = StreamingHttpResponse(frequency_lines(testset), content_type="text/csv")
        return download(response, f"{testset.name}-frequencies.csv")


class RevisionDataset(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: RevisionDatasetAnswer, 201: RevisionDatasetAnswer, 409: None},
        summary='Make the revision a dataset named "<test set>-r<number>" for review, evaluation phases and scoring: '
        "201 when this call made it, 200 when it was made before",
    )
    def post(self, request, name, number):
        revision = revisions.revision_numbered(testset_named(name), number)
        dataset, created = revisions.revision_dataset(revision)
        answer = RevisionDatasetAnswer({"revision": revision.number, "dataset": dataset.name}).data
        return Response(answer, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RevisionDownload(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(revisions.EXPORT_FORMATS), default="json")],
        responses={
            (200, "application/json"): {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "file_name": {"type": "string"},
                        "wnid": {"type": "string"},
                        "frequency": {"type": "number"},
                        "bin": {"type": "integer"},
                    },
                },
            },
            (200, "application/zip"): {
                "type": "string",
                "format": "binary",
                "description": "imagenetv2: a folder per class, named by its class index, holding its image files",
            },
        },
        summary="Download a revision (as export_testset): json, its images with their frequencies and bins; "
        "imagenetv2, a zip of class-index folders holding the files",
    )
    def get(self, request, name, number):
        export = revisions.revision_export(
            testset_name=name, revision=number, fmt=request.query_params.get("format", "json")
        )
        if export.fmt == "json":
            text = io.StringIO()
            revisions.write_json(export, text)
            response = HttpResponse(text.getvalue(), content_type="application/json")
        else:
            # Streamed: a revision of 10,000 images is a zip of about a gigabyte.
            response = StreamingHttpResponse(revisions.zip_chunks(export), content_type="application/zip")
        return download(response, export.download_name)
