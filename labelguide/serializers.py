"""Input checks and output shapes of the guide API; the rules about pages live in services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.roles import can_edit_guide
from labelguide.models import PageKind
from labelguide.rendering import render_markdown
from taxonomy.wnids import parse_wnids


@extend_schema_field({"type": "array", "items": {"type": "string", "example": "n01484850"}})
class WnidsField(serializers.Field):
    """A list of wnids, or one text with wnids separated by commas or spaces."""

    default_error_messages = {"invalid": "give a list of wnids or a text of wnids separated by commas"}

    def to_internal_value(self, data):
        if isinstance(data, str) or (isinstance(data, list) and all(isinstance(item, str) for item in data)):
            return parse_wnids(data)
        self.fail("invalid")

    def to_representation(self, value):
        return list(value)


class PageInput(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    wnids = WnidsField(required=False)
    base_revision = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The latest revision the editor saw (null if the page had none); a newer one gives 409.",
    )


class NewPageInput(serializers.Serializer):
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    wnids = WnidsField(required=False, default=list)
    kind = serializers.ChoiceField(
        choices=[PageKind.COMPARISON, PageKind.GENERAL], required=False, default=PageKind.COMPARISON
    )


class PreviewInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


def user_name(user):
    return user.get_username() if user else None


def page_html(page):
    """(experts' text, generated part) as inert HTML."""
    return render_markdown(page.body), render_markdown(page.generated)


def page_data(view, *, user):
    """The JSON of a page (selectors.page_view) for the API and the side panel."""
    page = view.page
    body_html, generated_html = page_html(page)
    sections = [f'<div class="guide-body">{body_html}</div>' if body_html else ""]
    if generated_html:
        sections.append(f'<section class="guide-generated">{generated_html}</section>')
    revision = view.latest_revision
    return {
        "slug": page.slug,
        "title": page.title,
        "kind": page.kind,
        "wnids": view.wnids,
        "body": page.body,
        "generated": page.generated,
        "html": "".join(sections),
        "body_html": body_html,
        "generated_html": generated_html,
        "examples": view.examples,
        "confused_with": view.confused_with,
        "related_pages": [
            {"slug": related["slug"], "title": related["title"], "kind": related["kind"], "wnids": related["wnids"]}
            for related in view.related_pages
        ],
        "updated_at": page.updated_at,
        "updated_by": user_name(page.updated_by),
        "revision": revision.pk if revision else None,
        "url": f"/guide/{page.slug}/",
        "edit_url": f"/guide/{page.slug}/edit/",
        "history_url": f"/guide/{page.slug}/history/",
        "can_edit": can_edit_guide(user),
    }


def search_result_data(result):
    page = result["page"]
    return {
        "slug": page.slug,
        "title": page.title,
        "kind": page.kind,
        "wnids": result["wnids"],
        "snippet": result["snippet"],
        "rank": result["rank"],
        "url": f"/guide/{page.slug}/",
    }


def revision_data(entry):
    revision = entry["revision"]
    return {
        "id": revision.pk,
        "number": entry["number"],
        "current": entry["current"],
        "author": user_name(revision.author),
        "created_at": revision.created_at,
        "title": revision.title,
        "body": revision.body,
        "wnids": revision.wnids,
        "restored_from": revision.restored_from_id,
        "diff": [{"kind": kind, "line": line} for kind, line in entry["diff"]],
        "added": entry["added"],
        "removed": entry["removed"],
    }


def attachment_data(attachment):
    url = f"/guide/attachments/{attachment.pk}/"
    caption = attachment.name.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").strip() or "image"
    return {
        "id": attachment.pk,
        "url": url,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "markdown": f"![{caption}]({url})",
    }
