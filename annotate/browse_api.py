"""REST API of the image browser: a dataset's images, filtered, searched and sorted, a page at a time by keyset."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

import taxonomy
from accounts.permissions import IsReviewer
from annotate import browse
from annotate.selectors import dataset_named, problematic_flag
from annotate.serializers import ImagePageSerializer
from config.query import int_schema, query_int, text_schema


def listed_image_data(image):
    flag = problematic_flag(image)
    return {
        "id": image.pk,
        "position": image.position,
        "file_name": image.file_name,
        "original_wnid": image.original_wnid,
        "original_label": taxonomy.label(image.original_wnid),
        "display_url": reverse("image-display", args=[image.pk]) if image.available else None,
        "reviewed": image.reviewed,
        "suggested": image.suggested,
        "problematic": flag.reason if flag else None,
        "latest_verdict_at": getattr(image, "latest_verdict_at", None),
    }


def page_link(request, parameter, image_id):
    """The address of the neighbouring page: this request's with `parameter` naming the image at its edge."""
    if image_id is None:
        return None
    url = request.build_absolute_uri()
    for cursor in ("after", "before"):
        url = remove_query_param(url, cursor)
    return replace_query_param(url, parameter, image_id)


def choice_schema(choices):
    return {"type": "string", "enum": ["", *choices]}


class DatasetImages(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", choice_schema(browse.STATUSES), description="review state or flag"),
            OpenApiParameter("wnid", str, description="the original label is this class or lies under this synset"),
            OpenApiParameter("model", str, description="a classifier model predicted the image"),
            OpenApiParameter(
                "model_top1",
                choice_schema(browse.MODEL_TOP1),
                description="with model: its top-1 is (matches) or is not (differs) the original label",
            ),
            OpenApiParameter("disagree", bool, description="the classifier models' top-1 predictions differ"),
            OpenApiParameter("q", text_schema(browse.MAX_SEARCH_LENGTH), description="in the file name"),
            OpenApiParameter(
                "sort",
                choice_schema(browse.SORTS),
                description="recent: only the images of your latest verdicts here, the latest first",
            ),
            OpenApiParameter("after", int_schema(), description="the page starts after this image (its id)"),
            OpenApiParameter("before", int_schema(), description="the page ends before this image (its id)"),
            OpenApiParameter(
                "limit",
                int_schema(1, browse.MAX_PAGE_SIZE),
                description=f"images per page (default {browse.PAGE_SIZE})",
            ),
        ],
        responses=ImagePageSerializer,
        summary="A dataset's images, filtered and sorted, a page at a time (next and previous pages by keyset)",
    )
    def get(self, request, name):
        dataset = dataset_named(name)
        listing = browse.image_list(request.query_params)
        after, before = query_int(request, "after"), query_int(request, "before")
        if after is not None and before is not None:
            raise ValidationError({"before": "give after or before, not both"})
        limit = query_int(request, "limit", default=browse.PAGE_SIZE, minimum=1, maximum=browse.MAX_PAGE_SIZE)
        page = browse.image_page(
            dataset=dataset, user=request.user, listing=listing, after=after, before=before, limit=limit
        )
        return Response(
            {
                "count": page.count,
                "next": page_link(request, "after", page.next_after),
                "previous": page_link(request, "before", page.previous_before),
                "results": [listed_image_data(image) for image in page.images],
            }
        )
