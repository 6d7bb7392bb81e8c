"""Pages of the labeling guide for people in a browser; editing goes through the API."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

import taxonomy
from accounts.roles import can_edit_guide, open_to_annotators, require_role
from annotate.served_files import file_response
from labelguide import selectors, services
from labelguide.models import Attachment, PageKind
from labelguide.serializers import page_html

EDITOR_ROLE_MESSAGE = "Editing the labeling guide needs the guide_editor or admin role."


def _page_or_404(slug):
    page = selectors.page_by_slug(slug)
    if page is None:
        raise Http404(f"No guide page {slug!r}.")
    return page


def _require_editor(user):
    require_role(user, can_edit_guide, EDITOR_ROLE_MESSAGE)


@open_to_annotators
@login_required
@require_GET
def guide_index(request):
    query = request.GET.get("q", "").strip()
    context = {
        "query": query,
        "results": selectors.search_pages(query) if query else None,
        "topic_pages": selectors.topic_pages(),
        "recent": selectors.recently_edited(),
        "can_edit": can_edit_guide(request.user),
    }
    return render(request, "labelguide/index.html", context)


@open_to_annotators
@login_required
@require_GET
def class_list(request):
    classes = selectors.class_pages()
    return render(
        request,
        "labelguide/classes.html",
        {"classes": classes, "edited": sum(entry["edited"] for entry in classes)},
    )


@open_to_annotators
@login_required
@require_GET
def page_detail(request, slug):
    view = selectors.page_view(_page_or_404(slug), viewer=request.user)
    body_html, generated_html = page_html(view.page)
    context = {
        "view": view,
        "page": view.page,
        # Rendered by labelguide.rendering with raw HTML off: inert, so it can go in the page as it is.
        "body_html": mark_safe(body_html),
        "generated_html": mark_safe(generated_html),
        "can_edit": can_edit_guide(request.user),
        "is_class_page": view.page.kind == PageKind.CLASS,
    }
    return render(request, "labelguide/page.html", context)


def _editor(request, page=None):
    _require_editor(request.user)
    context = {"page": page, "classes": []}
    if page is not None:
        revision = selectors.latest_revision(page)
        _, generated_html = page_html(page)
        wnids = selectors.page_wnids(page)
        context.update(
            wnids=wnids,
            classes=[{"wnid": wnid, "label": taxonomy.label(wnid)} for wnid in wnids],
            base_revision=revision.pk if revision else "",
            generated_html=mark_safe(generated_html),
        )
    return render(request, "labelguide/edit.html", context)


@login_required
@require_GET
def page_edit(request, slug):
    return _editor(request, _page_or_404(slug))


@login_required
@require_GET
def page_new(request):
    return _editor(request)


@login_required
@require_GET
def page_history(request, slug):
    page = _page_or_404(slug)
    return render(
        request,
        "labelguide/history.html",
        {"page": page, "history": selectors.revision_history(page), "can_edit": can_edit_guide(request.user)},
    )


@open_to_annotators
@login_required
@require_GET
def class_redirect(request, wnid):
    """/guide/wnid/<wnid>/: the one address of a class's guide page, used by every wnid link in the app."""
    if not taxonomy.is_class(wnid):
        raise Http404(f"{wnid!r} is not one of the 1,000 classes.")
    return redirect("guide-page", slug=services.class_page_for(wnid).slug)


@open_to_annotators
@login_required
@require_GET
def attachment_file(request, pk):
    """An uploaded image, always with the image type found when it was checked, never sniffed or run."""
    attachment = get_object_or_404(Attachment.objects.only("file", "name", "content_type"), pk=pk)
    with attachment.file.open("rb") as handle:
        data = handle.read()
    return file_response(data, content_type=attachment.content_type, download_name=attachment.name)
