"""REST API: thin views over selectors (reads) and services (writes)."""

import tempfile
from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

import taxonomy
from accounts.permissions import IsAdmin, IsReviewer
from accounts.roles import is_admin
from annotate import access, image_import, prediction_import, selectors, services
from annotate.models import Dataset, Image, ReviewItem, Suggestion
from annotate.selectors import dataset_named
from annotate.serializers import (
    ClassifierModelSerializer,
    DatasetSerializer,
    FlagBase,
    ProblematicInput,
    ResolutionInput,
    VerdictInput,
    flag_data,
    image_review_data,
    item_data,
)
from config.exceptions import ConflictError
from config.query import int_schema, query_int, query_ints, query_text


def review_image_or_404(image_id, reviewer):
    """The image as the review page shows it, unless it is missing or closed to the reviewer (annotate.access)."""
    access.check_image_visible(reviewer, image_id)
    image = selectors.image_for_review(image_id, reviewer)
    if image is None:
        raise access.ImageNotFound(image_id)
    return image


def raise_not_found(what):
    raise NotFound(f"{what} does not exist")


def class_filter(wnid):
    """The classes at or under a hierarchy node, for queue filters; None for no filter."""
    if not wnid:
        return None
    if not taxonomy.exists(wnid):
        raise ValidationError({"wnid": f"{wnid!r} is not a WordNet synset of the class hierarchy"})
    return sorted(taxonomy.descendant_classes(wnid))


def idempotency_key(request):
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > 64 or not key.isprintable():
        raise ValidationError({"Idempotency-Key": "must be at most 64 printable characters"})
    return key


def saved_upload(upload, suffix):
    """An uploaded file written to a temporary path, for importers that read paths."""
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return Path(handle.name)


ONE_FILE_UPLOAD = {
    "multipart/form-data": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    }
}
IMPORT_REPORT = inline_serializer(
    "ImportReport",
    {
        "added": serializers.IntegerField(),
        "attached": serializers.IntegerField(),
        "skipped": serializers.IntegerField(),
        "failed": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
    },
)
PREDICTION_IMPORT = inline_serializer(
    "PredictionImport",
    {
        "model": serializers.CharField(),
        "dataset": serializers.CharField(),
        "predictions": serializers.IntegerField(),
        "predictions_replaced": serializers.IntegerField(),
        "model_created": serializers.BooleanField(),
        "new_review_items": serializers.IntegerField(),
        "batch": serializers.IntegerField(allow_null=True, help_text="the import's number, for undoing it"),
        "dry_run": serializers.BooleanField(),
    },
)


def required_upload(request, what):
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": f"attach the {what} as 'file'"})
    return upload


def upload_name(upload):
    """How error messages name an uploaded file: by the name it was sent with, never the temporary path it was
    saved to."""
    return Path(upload.name or "").name or "the upload"


def prediction_format(fmt):
    """The format of a predictions upload, one of prediction_import.PREDICTION_FORMATS, checked before anything is
    written: it becomes the temporary file's suffix."""
    fmt = str(fmt).strip().lower()
    if fmt not in prediction_import.PREDICTION_FORMATS:
        formats = ", ".join(prediction_import.PREDICTION_FORMATS)
        raise ValidationError({"format": f"unknown predictions format {fmt[:40]!r}; use one of {formats}"})
    return fmt


YES, NO = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def form_flag(request, name):
    """A yes/no field of a form or JSON body (true, 1, yes or on; false, 0, no, off or absent); anything else is
    refused rather than read as no: `dry_run=maybe` must not import for real."""
    value = str(request.data.get(name, "")).strip().lower()
    if value not in YES | NO:
        raise ValidationError({name: f"must be true or false, not {value!r}"})
    return value in YES


class DatasetList(ListAPIView):
    serializer_class = DatasetSerializer
    queryset = Dataset.objects.all()


class DatasetDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A dataset's status figures")
    def get(self, request, name):
        return Response(selectors.dataset_status(dataset_named(name), viewer=request.user))


class DatasetProgress(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The requesting reviewer's and the dataset's progress")
    def get(self, request, name):
        return Response(selectors.reviewer_progress(reviewer=request.user, dataset=dataset_named(name)))


class ManifestUpload(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=ONE_FILE_UPLOAD,
        responses={201: IMPORT_REPORT},
        summary="Register images from a CSV manifest (filename,wnid[,uri]); the dataset is created if new",
    )
    def post(self, request, name):
        upload = required_upload(request, "manifest CSV")
        path = saved_upload(upload, ".csv")
        try:
            report = image_import.register_manifest(dataset_name=name, manifest_file=path, source=upload_name(upload))
        finally:
            path.unlink()
        return Response(report.as_dict(), status=status.HTTP_201_CREATED)


def import_upload_schema(required=(), **properties):
    """The multipart request of an import: the file, the import's own `properties`, and dry_run."""
    return {
        "multipart/form-data": {
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary"},
                **properties,
                "dry_run": {"type": "boolean", "description": "say what the import would change; write nothing"},
            },
            "required": ["file", *required],
        }
    }


class PredictionUpload(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=import_upload_schema(
            dataset={"type": "string"},
            format={
                "type": "string",
                "enum": list(prediction_import.PREDICTION_FORMATS),
                "description": "the file's format; by default its name's extension",
            },
            replace={"type": "boolean", "description": "replace the model's earlier predictions"},
            required=["dataset"],
        ),
        responses={200: PREDICTION_IMPORT, 201: PREDICTION_IMPORT},
        summary="Import a model's predictions on a dataset; the model is created if new",
    )
    def post(self, request, name):
        upload = required_upload(request, "predictions file")
        if not str(request.data.get("dataset", "")).strip():
            raise ValidationError({"dataset": "give the dataset the predictions are of"})
        fmt = prediction_format(request.data.get("format") or Path(upload.name).suffix.lstrip("."))
        path = saved_upload(upload, f".{fmt}")
        try:
            result = prediction_import.import_predictions(
                model_name=name,
                dataset_name=request.data.get("dataset", ""),
                path=path,
                fmt=fmt,
                replace=form_flag(request, "replace"),
                source=upload_name(upload),
                user=request.user,
                dry_run=form_flag(request, "dry_run"),
            )
        finally:
            path.unlink()
        return Response(result, status=status.HTTP_200_OK if result["dry_run"] else status.HTTP_201_CREATED)


class ModelList(ListAPIView):
    serializer_class = ClassifierModelSerializer

    def get_queryset(self):
        return selectors.listed_models()


class NextImage(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, required=True),
            OpenApiParameter("wnid", str, description="only images with a candidate at or under this synset"),
            OpenApiParameter(
                "after", int_schema(), description="position of the current image; the queue goes on after it"
            ),
            OpenApiParameter(
                "keep",
                {"type": "array", "items": int_schema()},
                description="image ids whose leases the reviewer keeps (repeated: keep=1&keep=2)",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT, 204: None, 404: None},
        summary="Lease the next image to review (204 when the queue is empty)",
    )
    def get(self, request):
        name = query_text(request.query_params, "dataset", max_length=100)
        if not name:
            raise ValidationError({"dataset": "give the dataset to review"})
        dataset = dataset_named(name)
        after = query_int(request, "after")
        keep = query_ints(request, "keep")
        image = services.lease_next_image(
            reviewer=request.user,
            dataset=dataset,
            wnids=class_filter(request.query_params.get("wnid")),
            after_position=after,
            keep=keep,
            withheld=access.closed_image_ids(request.user),
        )
        if image is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(image_review_data(review_image_or_404(image.pk, request.user)))


class ImageReview(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="An image with its review items and problematic flag")
    def get(self, request, pk):
        return Response(image_review_data(review_image_or_404(pk, request.user)))


class ImageLease(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
        summary="Keep an image the queue handed you leased to you for another 10 minutes (409 where you hold no "
        "lease on it: the queue hands leases out, a few per reviewer)",
    )
    def post(self, request, pk):
        access.visible_image_or_404(request.user, pk)
        expires_at = services.renew_lease(reviewer=request.user, image_id=pk)
        if expires_at is None:
            taken = selectors.leased_to_another(image_id=pk, reviewer=request.user)
            detail = (
                "Another reviewer has this image now: your lease on it ran out."
                if taken
                else "You hold no lease on this image: only the queue hands images out."
            )
            raise ConflictError(f"{detail} Your verdicts still save.", leased_to_another=taken)
        return Response({"image": pk, "expires_at": expires_at})


class ImageHistory(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Every verdict and flag change of an image (where you answer blind, only your own verdicts)",
    )
    def get(self, request, pk):
        image = access.visible_image_or_404(request.user, pk, Image.objects.select_related("dataset"))
        viewer = None if is_admin(request.user) else request.user
        return Response({"image": image.pk, "history": selectors.image_history(image, viewer)})


class ItemVerdict(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=VerdictInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A key unique to this change of this item (up to 64 characters): a retry carrying it "
                "is stored once; the same key with another verdict is refused (422).",
            )
        ],
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT, 422: OpenApiTypes.OBJECT},
        summary="Set the verdict of a review item; answers the item and the reviewer's counts (my_progress), or 409 "
        "with the item's current state where based_on is stale",
    )
    def post(self, request, pk):
        if not ReviewItem.objects.filter(pk=pk).exclude(image_id__in=access.closed_image_ids(request.user)).exists():
            raise_not_found(f"review item {pk}")
        data = VerdictInput(data=request.data)
        data.is_valid(raise_exception=True)
        value = data.validated_data["verdict"]
        try:
            item = services.set_verdict(
                item_id=pk,
                reviewer=request.user,
                value=value,
                based_on=data.validated_data.get("based_on"),
                request_key=idempotency_key(request),
            )
        except ReviewItem.DoesNotExist:
            raise_not_found(f"review item {pk}")
        except services.VerdictConflict as conflict:
            blind = selectors.answers_blind(conflict.item)
            current = item_data(conflict.item, conflict.seen if blind else None)
            who = current["verdict_by"] or "another reviewer"
            raise ConflictError(
                f"This item was changed meanwhile: it is now {conflict.seen} (by {who}). "
                "Your change was not saved; make it again to apply it on top.",
                current=current,
            ) from conflict
        own = value if selectors.answers_blind(item) else None
        # The reviewer's counts as this save leaves them: the page's "You: N items" follows each save at once.
        progress = selectors.reviewer_counts(reviewer=request.user, dataset_id=item.dataset_id)
        return Response({**item_data(item, own), "my_progress": progress})


class ImageProblematic(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=ProblematicInput,
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
        summary="Flag an image as problematic (409 with the current flag where based_on is stale)",
    )
    def put(self, request, pk):
        access.visible_image_or_404(request.user, pk)
        data = ProblematicInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.set_problematic(image_id=pk, reviewer=request.user, **data.validated_data)
        except Image.DoesNotExist:
            raise_not_found(f"image {pk}")
        except services.FlagConflict as conflict:
            raise flag_conflict(conflict) from conflict
        return Response(image_review_data(review_image_or_404(pk, request.user))["problematic"])

    @extend_schema(
        request=FlagBase,
        responses={204: None, 409: OpenApiTypes.OBJECT},
        summary="Clear an image's problematic flag (409 with the current flag where based_on is stale)",
    )
    def delete(self, request, pk):
        access.visible_image_or_404(request.user, pk)
        data = FlagBase(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.clear_problematic(image_id=pk, reviewer=request.user, **data.validated_data)
        except Image.DoesNotExist:
            raise_not_found(f"image {pk}")
        except services.FlagConflict as conflict:
            raise flag_conflict(conflict) from conflict
        return Response(status=status.HTTP_204_NO_CONTENT)


def flag_conflict(conflict):
    """The 409 of a flag change that FlagConflict refused, with the flag as it is now."""
    return ConflictError(
        f"This image's flag was changed meanwhile: {conflict}. "
        "Your change was not saved; make it again to apply it on top.",
        current=flag_data(conflict.flag),
    )


class SuggestionResolve(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=ResolutionInput,
        responses=OpenApiTypes.OBJECT,
        summary="Accept or dismiss a suggestion; answers the image as the review page shows it",
    )
    def post(self, request, pk):
        if not Suggestion.objects.filter(pk=pk).exclude(image_id__in=access.closed_image_ids(request.user)).exists():
            raise_not_found(f"suggestion {pk}")
        data = ResolutionInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            suggestion = services.resolve_suggestion(
                suggestion_id=pk, reviewer=request.user, resolution=data.validated_data["resolution"]
            )
        except Suggestion.DoesNotExist:
            raise_not_found(f"suggestion {pk}")
        return Response(image_review_data(review_image_or_404(suggestion.image_id, request.user)))
