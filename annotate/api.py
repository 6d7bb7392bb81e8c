"""REST API: thin views over selectors (reads) and services (writes)."""

import tempfile
from pathlib import Path

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import importers, multilabel, selectors, services, taxonomy
from annotate.errors import ImportFailed
from annotate.models import ClassifierModel, Dataset, Image, ReviewItem, Suggestion
from annotate.permissions import IsAdmin, IsReviewer
from annotate.roles import is_admin
from annotate.serializers import (
    ClassifierModelSerializer,
    DatasetSerializer,
    FlagBase,
    ProblematicInput,
    ResolutionInput,
    SynsetSerializer,
    VerdictInput,
    flag_data,
    image_review_data,
    item_data,
    synset_data,
)
from evaluation.permissions import IMAGE_CLOSED
from evaluation.selectors import image_closed_to, images_closed_to


def dataset_or_404(name):
    return get_object_or_404(Dataset, name=name)


def review_image_or_404(image_id, reviewer):
    image = selectors.image_for_review(image_id, reviewer)
    if image is None:
        raise_not_found(f"image {image_id}")
    return image


def check_not_closed(image_id, user):
    """Participants of an open evaluation phase label its images blind: their labels and history wait for its end."""
    if image_closed_to(user, image_id):
        raise PermissionDenied(IMAGE_CLOSED)


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
    "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
}


def required_upload(request, what):
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": f"attach the {what} as 'file'"})
    return upload


def run_import(function, **kwargs):
    try:
        return function(**kwargs)
    except ImportFailed as exc:
        raise ValidationError({"detail": str(exc)}) from exc


class DatasetList(ListAPIView):
    serializer_class = DatasetSerializer
    queryset = Dataset.objects.all()


class DatasetDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A dataset's status figures")
    def get(self, request, name):
        return Response(selectors.dataset_status(dataset_or_404(name)))


class DatasetProgress(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The requesting reviewer's and the dataset's progress")
    def get(self, request, name):
        return Response(selectors.reviewer_progress(reviewer=request.user, dataset=dataset_or_404(name)))


class ManifestUpload(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=ONE_FILE_UPLOAD,
        responses=OpenApiTypes.OBJECT,
        summary="Register images from a CSV manifest (filename,wnid[,uri]); the dataset is created if new",
    )
    def post(self, request, name):
        upload = required_upload(request, "manifest CSV")
        path = saved_upload(upload, ".csv")
        try:
            report = run_import(importers.register_manifest, dataset_name=name, manifest_file=path)
        finally:
            path.unlink()
        return Response(report.as_dict(), status=status.HTTP_201_CREATED)


class PredictionUpload(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "dataset": {"type": "string"},
                    "format": {"type": "string", "enum": ["csv", "json", "npy"]},
                    "replace": {"type": "boolean"},
                },
            }
        },
        responses=OpenApiTypes.OBJECT,
        summary="Import a model's predictions on a dataset; the model is created if new",
    )
    def post(self, request, name):
        upload = required_upload(request, "predictions file")
        fmt = request.data.get("format") or Path(upload.name).suffix.lstrip(".").lower()
        path = saved_upload(upload, f".{fmt}")
        try:
            result = run_import(
                importers.import_predictions,
                model_name=name,
                dataset_name=request.data.get("dataset", ""),
                path=path,
                fmt=fmt,
                replace=str(request.data.get("replace", "")).lower() in {"1", "true", "yes"},
            )
        finally:
            path.unlink()
        return Response(result, status=status.HTTP_201_CREATED)


class ModelList(ListAPIView):
    serializer_class = ClassifierModelSerializer
    queryset = ClassifierModel.objects.all()


class NextImage(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, required=True),
            OpenApiParameter("wnid", str, description="only images with a candidate at or under this synset"),
            OpenApiParameter("after", int, description="position of the current image; the queue goes on after it"),
            OpenApiParameter("keep", int, many=True, description="image ids whose leases the reviewer keeps"),
        ],
        responses={200: OpenApiTypes.OBJECT, 204: None},
        summary="Lease the next image to review (204 when the queue is empty)",
    )
    def get(self, request):
        dataset = dataset_or_404(request.query_params.get("dataset", ""))
        try:
            after = request.query_params.get("after")
            after = int(after) if after not in (None, "") else None
            keep = [int(value) for value in request.query_params.getlist("keep") if value]
        except ValueError:
            raise ValidationError({"detail": "'after' and 'keep' must be integers"}) from None
        image = services.lease_next_image(
            reviewer=request.user,
            dataset=dataset,
            wnids=class_filter(request.query_params.get("wnid")),
            after_position=after,
            keep=keep,
            withheld=images_closed_to(request.user),
        )
        if image is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(image_review_data(review_image_or_404(image.pk, request.user)))


class ImageReview(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="An image with its review items and problematic flag")
    def get(self, request, pk):
        check_not_closed(pk, request.user)
        return Response(image_review_data(review_image_or_404(pk, request.user)))


class ImageLease(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
        summary="Keep the image on screen leased to you for another 10 minutes (409 where someone else has it now)",
    )
    def post(self, request, pk):
        get_object_or_404(Image, pk=pk)
        check_not_closed(pk, request.user)
        expires_at = services.renew_lease(reviewer=request.user, image_id=pk)
        if expires_at is None:
            return Response(
                {"detail": "Another reviewer has this image now: your lease on it ran out. Your verdicts still save."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response({"image": pk, "expires_at": expires_at})


class ImageHistory(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Every verdict and flag change of an image (where you answer blind, only your own verdicts)",
    )
    def get(self, request, pk):
        image = get_object_or_404(Image, pk=pk)
        check_not_closed(image.pk, request.user)
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
                description="A key unique to this change (up to 64 characters): a retry carrying it is stored once.",
            )
        ],
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
        summary="Set the verdict of a review item (409 with the item's current state where based_on is stale)",
    )
    def post(self, request, pk):
        if ReviewItem.objects.filter(pk=pk, image_id__in=images_closed_to(request.user)).exists():
            raise PermissionDenied(IMAGE_CLOSED)
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
            return Response(
                {
                    "detail": f"This item was changed meanwhile: it is now {conflict.seen} (by {who}). "
                    "Your change was not saved; make it again to apply it on top.",
                    "current": current,
                },
                status=status.HTTP_409_CONFLICT,
            )
        own = value if selectors.answers_blind(item) else None
        return Response(item_data(item, own))


class ImageProblematic(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=ProblematicInput,
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
        summary="Flag an image as problematic (409 with the current flag where based_on is stale)",
    )
    def put(self, request, pk):
        data = ProblematicInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.set_problematic(image_id=pk, reviewer=request.user, **data.validated_data)
        except Image.DoesNotExist:
            raise_not_found(f"image {pk}")
        except services.FlagConflict as conflict:
            return flag_conflict(conflict)
        except ValueError as exc:
            raise ValidationError({"note": str(exc)}) from exc
        return Response(image_review_data(review_image_or_404(pk, request.user))["problematic"])

    @extend_schema(
        request=FlagBase,
        responses={204: None, 409: OpenApiTypes.OBJECT},
        summary="Clear an image's problematic flag (409 with the current flag where based_on is stale)",
    )
    def delete(self, request, pk):
        data = FlagBase(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.clear_problematic(image_id=pk, reviewer=request.user, **data.validated_data)
        except Image.DoesNotExist:
            raise_not_found(f"image {pk}")
        except services.FlagConflict as conflict:
            return flag_conflict(conflict)
        return Response(status=status.HTTP_204_NO_CONTENT)


def flag_conflict(conflict):
    return Response(
        {
            "detail": f"This image's flag was changed meanwhile: {conflict}. "
            "Your change was not saved; make it again to apply it on top.",
            "current": flag_data(conflict.flag),
        },
        status=status.HTTP_409_CONFLICT,
    )


class SuggestionResolve(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        request=ResolutionInput,
        responses=OpenApiTypes.OBJECT,
        summary="Accept or dismiss a suggestion; answers the image as the review page shows it",
    )
    def post(self, request, pk):
        if Suggestion.objects.filter(pk=pk, image_id__in=images_closed_to(request.user)).exists():
            raise PermissionDenied(IMAGE_CLOSED)
        data = ResolutionInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            suggestion = services.resolve_suggestion(
                suggestion_id=pk, reviewer=request.user, resolution=data.validated_data["resolution"]
            )
        except Suggestion.DoesNotExist:
            raise_not_found(f"suggestion {pk}")
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(image_review_data(review_image_or_404(suggestion.image_id, request.user)))


def multilabel_format(fmt, formats):
    if fmt not in formats:
        raise ValidationError({"format": f"unknown format {fmt!r}; use one of {', '.join(formats)}"})
    return fmt


class MultilabelExport(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(multilabel.EXPORT_FORMATS), default="tfds")],
        responses=OpenApiTypes.BINARY,
        summary="Download the dataset's multi-label annotation (TFDS JSON, ReaL JSON, JSON Lines or CSV)",
    )
    def get(self, request, name):
        fmt = multilabel_format(request.query_params.get("format", "tfds"), multilabel.EXPORT_FORMATS)
        dataset = dataset_or_404(name)
        spec = multilabel.FORMATS[fmt]
        response = HttpResponse(multilabel.export(dataset, fmt), content_type=spec.content_type)
        response["Content-Disposition"] = f'attachment; filename="{dataset.name}-multilabel-{fmt}.{spec.extension}"'
        return response


class MultilabelImport(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "format": {"type": "string", "enum": list(multilabel.IMPORT_FORMATS), "default": "tfds"},
                },
                "required": ["file"],
            }
        },
        responses=OpenApiTypes.OBJECT,
        summary="Import a multi-label file (TFDS JSON, ReaL JSON or JSON Lines) into the dataset; the labels of a "
        "TFDS or ReaL file become the caller's verdicts",
    )
    def post(self, request, name):
        upload = required_upload(request, "multi-label file")
        fmt = multilabel_format(request.data.get("format") or "tfds", multilabel.IMPORT_FORMATS)
        dataset = dataset_or_404(name)
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"file": "the file is not UTF-8 text"}) from None
        summary = run_import(
            multilabel.load, dataset=dataset, fmt=fmt, text=text, source=upload.name, reviewer=request.user.username
        )
        return Response(summary, status=status.HTTP_201_CREATED)


class SynsetSearch(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="wnid, synonym or gloss words"),
            OpenApiParameter("classes_only", bool),
            OpenApiParameter("limit", int),
        ],
        responses=SynsetSerializer(many=True),
        summary="Ranked synset search",
    )
    def get(self, request):
        try:
            limit = min(int(request.query_params.get("limit", 20)), 100)
        except ValueError:
            raise ValidationError({"limit": "must be an integer"}) from None
        classes_only = request.query_params.get("classes_only", "").lower() in {"1", "true", "yes"}
        found = taxonomy.search(request.query_params.get("q", ""), limit=limit, classes_only=classes_only)
        return Response([synset_data(synset.wnid) for synset in found])


class SynsetDetail(APIView):
    @extend_schema(responses=SynsetSerializer, summary="One synset of the class hierarchy")
    def get(self, request, wnid):
        if not taxonomy.exists(wnid):
            raise_not_found(f"synset {wnid}")
        return Response(synset_data(wnid))
