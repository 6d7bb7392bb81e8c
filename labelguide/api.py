"""REST API of the labeling guide: thin views over selectors (reads) and services (writes).

Every logged-in user reads; admins and guide editors write.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

import taxonomy
from accounts.roles import can_edit_guide
from config.schema import list_of
from labelguide import selectors, services
from labelguide.rendering import render_markdown
from labelguide.serializers import (
    NewPageInput,
    PageInput,
    PreviewInput,
    attachment_data,
    page_data,
    revision_data,
    search_result_data,
)


class GuideEditorOrReadOnly(BasePermission):
    message = "Editing the labeling guide needs the guide_editor or admin role."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or can_edit_guide(request.user)


GUIDE_PERMISSIONS = [IsAuthenticated, GuideEditorOrReadOnly]


def page_or_404(slug):
    page = selectors.page_by_slug(slug)
    if page is None:
        raise NotFound(f"no guide page {slug!r}")
    return page


def page_response(page, request, status_code=status.HTTP_200_OK):
    return Response(
        page_data(selectors.page_view(page, viewer=request.user), user=request.user),
        status=status_code,
    )


class PageList(APIView):
    permission_classes = GUIDE_PERMISSIONS

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="words of the title or text, or a wnid")],
        responses={
            200: list_of(
                {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "kind": {"type": "string"},
                    "wnids": {"type": "array", "items": {"type": "string"}},
                    "snippet": {"type": "string", "description": "search results only"},
                    "rank": {"type": "number", "description": "search results only"},
                    "url": {"type": "string", "description": "search results only"},
                },
                required=["slug", "title", "kind", "wnids"],
            )
        },
        operation_id="guide_pages_list",
        summary="Search guide pages (title matches first); without q, the comparison and general pages",
    )
    def get(self, request):
        query = request.query_params.get("q", "")
        if query.strip():
            return Response([search_result_data(result) for result in selectors.search_pages(query)])
        return Response(
            [
                {"slug": page.slug, "title": page.title, "kind": page.kind, "wnids": page.wnid_list}
                for page in selectors.topic_pages()
            ]
        )

    @extend_schema(
        request=NewPageInput, responses={201: OpenApiTypes.OBJECT}, summary="Create a comparison or general page"
    )
    def post(self, request):
        data = NewPageInput(data=request.data)
        data.is_valid(raise_exception=True)
        page = services.create_page(author=request.user, **data.validated_data)
        return page_response(page, request, status.HTTP_201_CREATED)


class PageDetail(APIView):
    permission_classes = GUIDE_PERMISSIONS

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A page with its rendered HTML, examples and confusions")
    def get(self, request, slug):
        return page_response(page_or_404(slug), request)

    @extend_schema(
        request=PageInput,
        responses={200: OpenApiTypes.OBJECT, 409: None},
        summary="Change a page's title, text or classes",
    )
    def put(self, request, slug):
        page = page_or_404(slug)
        data = PageInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_page(page=page, author=request.user, **data.validated_data)
        return page_response(page_or_404(slug), request)


class PageRevisions(APIView):
    permission_classes = GUIDE_PERMISSIONS

    @extend_schema(
        responses={
            200: list_of(
                {
                    "id": {"type": "integer"},
                    "number": {"type": "integer"},
                    "current": {"type": "boolean"},
                    "author": {"type": "string", "nullable": True},
                    "created_at": {"type": "string", "format": "date-time"},
                    "title": {"type": "string"},
                    "body": {"type": "string"},
                    "wnids": {"type": "array", "items": {"type": "string"}},
                    "restored_from": {"type": "integer", "nullable": True},
                    "diff": {"type": "array", "items": {"type": "object"}},
                    "added": {"type": "integer"},
                    "removed": {"type": "integer"},
                },
                required=["id", "number", "current", "created_at", "title", "body", "diff"],
            )
        },
        summary="A page's revisions, newest first, with diffs",
    )
    def get(self, request, slug):
        history = selectors.revision_history(page_or_404(slug))
        return Response([revision_data(entry) for entry in history])


class RevisionRestore(APIView):
    permission_classes = GUIDE_PERMISSIONS

    @extend_schema(
        request=None,
        responses={201: OpenApiTypes.OBJECT, 400: None, 409: None},
        summary="Make an earlier revision current again",
    )
    def post(self, request, slug, pk):
        page = page_or_404(slug)
        services.restore_revision(page=page, revision_id=pk, author=request.user)
        return page_response(page_or_404(slug), request, status.HTTP_201_CREATED)


class AttachmentUpload(APIView):
    permission_classes = GUIDE_PERMISSIONS
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        responses={201: OpenApiTypes.OBJECT},
        summary="Upload an image (JPEG, PNG, WebP, GIF) for a page; answers its URL and a Markdown snippet",
    )
    def post(self, request, slug):
        page = page_or_404(slug)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "attach the image as 'file'"})
        if upload.size > services.MAX_ATTACHMENT_BYTES:
            raise ValidationError(
                {"file": f"the file is over the limit of {services.MAX_ATTACHMENT_BYTES // 2**20} MB"}
            )
        attachment = services.add_attachment(page=page, data=upload.read(), name=upload.name, uploaded_by=request.user)
        return Response(attachment_data(attachment), status=status.HTTP_201_CREATED)


class ClassPage(APIView):
    permission_classes = GUIDE_PERMISSIONS

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The class page of a class wnid (for the side panel)")
    def get(self, request, wnid):
        if not taxonomy.exists(wnid):
            raise NotFound(f"{wnid!r} is not a WordNet synset of the class hierarchy")
        if not taxonomy.is_class(wnid):
            raise NotFound(f"{wnid} ({taxonomy.label(wnid)}) is a category, not a class: it has no class page")
        return page_response(services.class_page_for(wnid=wnid), request)


class Preview(APIView):
    permission_classes = [IsAuthenticated, GuideEditorOrReadOnly]

    @extend_schema(request=PreviewInput, responses=OpenApiTypes.OBJECT, summary="Render Markdown as a page shows it")
    def post(self, request):
        data = PreviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = services.clean_body(body=data.validated_data["body"])
        return Response({"html": render_markdown(body)})
