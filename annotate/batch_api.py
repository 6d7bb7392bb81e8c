"""REST API of import batches: a dataset's imports, newest first, and undoing one."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate import batches, selectors
from annotate.api import raise_not_found
from annotate.models import ImportBatch
from annotate.selectors import dataset_named
from annotate.serializers import ImportBatchSerializer


def batch_data(batch):
    undone_by = getattr(batch, "undone_by", None)
    return {
        "id": batch.pk,
        "kind": batch.kind,
        "source": batch.source,
        "created_by": batch.created_by.username if batch.created_by else None,
        "created_at": batch.created_at,
        "overwrite": batch.overwrite,
        "summary": batch.summary,
        "undoes": batch.undoes_id,
        "undone_by": undone_by.pk if undone_by else None,
    }


class ImportBatchList(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses={200: ImportBatchSerializer(many=True)},
        summary="The dataset's imports and undos, newest first",
    )
    def get(self, request, name):
        return Response([batch_data(batch) for batch in selectors.import_batches(dataset_named(name))])


class ImportBatchUndo(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={201: ImportBatchSerializer, 404: None, 409: None},
        summary="Undo an import in one step: a new batch that restores what it changed, unless changed since",
    )
    def post(self, request, pk):
        if not ImportBatch.objects.filter(pk=pk).exists():
            raise_not_found(f"import {pk}")
        summary = batches.undo_import(batch_id=pk, user=request.user)
        undo = ImportBatch.objects.select_related("created_by").get(pk=summary["batch"])
        return Response(batch_data(undo), status=status.HTTP_201_CREATED)
