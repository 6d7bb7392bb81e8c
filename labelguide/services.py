"""Writes of the labeling guide: pages, revisions, restores, attachments and the generated class pages.

Every change by a person appends a Revision in the same transaction as the change itself.
"""

import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

import taxonomy
from annotate.images import BadImage, ImageTooLarge, check_image
from annotate.served_files import safe_file_name
from config.exceptions import ConflictError, DomainError
from labelguide import generation
from labelguide.models import SLUG_MAX_LENGTH, TITLE_MAX_LENGTH, Attachment, GuidePage, PageClass, PageKind, Revision
from taxonomy.wnids import WNID_PATTERN, parse_wnids

MAX_BODY_BYTES = 200 * 1024
MAX_PAGE_CLASSES = 20
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Formats every browser shows; the stored Content-Type comes from the decoded format, never the upload.
ATTACHMENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
# Path segments of /guide/ that are not page slugs.
RESERVED_SLUGS = {"new", "classes", "wnid", "attachments", "search"}
# update_page's base_revision when the caller does not ask for the check against concurrent edits.
UNCHECKED = object()


class GuideInputError(DomainError):
    """Bad input for a guide page, with one message per field, e.g. {"wnids": "..."}."""

    def __init__(self, errors):
        super().__init__(errors=errors)


class EditConflict(ConflictError):
    """The page changed since the editor loaded it; saving would silently drop the other change."""

    def __init__(self, revision):
        author = revision.author.get_username() if revision and revision.author else "someone"
        when = f" at {revision.created_at:%Y-%m-%d %H:%M} UTC" if revision else ""
        super().__init__(
            f"{author} changed this page{when} after you opened it. "
            "Copy your text, reload the page and apply your change again."
        )


@dataclass(frozen=True)
class PageContent:
    title: str
    body: str
    wnids: tuple


# --- validation ---------------------------------------------------------------------------------


def clean_title(title):
    title = " ".join((title or "").split())
    if not title:
        raise GuideInputError({"title": "give the page a title"})
    if len(title) > TITLE_MAX_LENGTH:
        raise GuideInputError({"title": f"the title has {len(title)} characters; at most {TITLE_MAX_LENGTH}"})
    return title


def clean_body(body):
    body = (body or "").replace("\r\n", "\n")
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise GuideInputError(
            {"body": f"the text is {size / 1024:.0f} KB; a page holds at most {MAX_BODY_BYTES // 1024} KB"}
        )
    if "\x00" in body:
        raise GuideInputError({"body": "the text contains a NUL character"})
    return body


def clean_wnids(wnids, *, kind, slug=None):
    """The page's classes in order, each once; every wnid must be one of the 1,000 classes."""
    cleaned = []
    for wnid in parse_wnids(wnids):
        if not WNID_PATTERN.match(wnid) or not taxonomy.exists(wnid):
            raise GuideInputError({"wnids": f"{wnid!r} is not a WordNet synset of the class hierarchy"})
        if not taxonomy.is_class(wnid):
            raise GuideInputError(
                {
                    "wnids": f"{wnid} ({taxonomy.label(wnid)}) is a category of the class hierarchy, "
                    "not one of the 1,000 classes"
                }
            )
        if wnid not in cleaned:
            cleaned.append(wnid)
    if kind == PageKind.CLASS and cleaned != [slug]:
        raise GuideInputError({"wnids": f"a class page is about its own class only ({slug})"})
    if kind == PageKind.COMPARISON and len(cleaned) < 2:
        raise GuideInputError({"wnids": "a comparison page needs at least two classes"})
    if len(cleaned) > MAX_PAGE_CLASSES:
        raise GuideInputError({"wnids": f"{len(cleaned)} classes; a page is about at most {MAX_PAGE_CLASSES}"})
    return tuple(cleaned)


def _content_of(page):
    return PageContent(page.title, page.body, tuple(page.classes.values_list("wnid", flat=True)))


def _append_revision(page, content, *, author, at, restored_from=None):
    return Revision.objects.create(
        page=page,
        author=author,
        created_at=at,
        title=content.title,
        body=content.body,
        wnids=list(content.wnids),
        restored_from=restored_from,
    )


def _set_classes(page, wnids):
    PageClass.objects.filter(page=page).delete()
    PageClass.objects.bulk_create(
        [PageClass(page=page, wnid=wnid, position=position) for position, wnid in enumerate(wnids)]
    )


def _latest_revision(page):
    return Revision.objects.filter(page=page).select_related("author").order_by("-created_at", "-id").first()


# --- pages --------------------------------------------------------------------------------------


def unique_slug(title):
    """A slug from the title that no page has, is no reserved path and cannot be mistaken for a wnid."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = slugify(ascii_title)[: SLUG_MAX_LENGTH - 6].strip("-") or "page"
    if base in RESERVED_SLUGS or WNID_PATTERN.match(base):
        base = f"{base}-page"
    slug, number = base, 1
    while GuidePage.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def create_page(*, author, title, body="", wnids=(), kind=PageKind.COMPARISON):
    """A new comparison or general page, with its first revision."""
    if kind not in (PageKind.COMPARISON, PageKind.GENERAL):
        raise GuideInputError(
            {"kind": "new pages are comparison or general pages; every class already has its class page"}
        )
    content = PageContent(clean_title(title), clean_body(body), clean_wnids(wnids, kind=kind))
    now = timezone.now()
    for _ in range(3):  # two editors may pick the same slug at the same moment
        try:
            with transaction.atomic():
                page = GuidePage.objects.create(
                    slug=unique_slug(content.title),
                    title=content.title,
                    kind=kind,
                    body=content.body,
                    updated_at=now,
                    updated_by=author,
                )
                _set_classes(page, content.wnids)
                _append_revision(page, content, author=author, at=now)
                return page
        except IntegrityError:
            continue
    raise GuideInputError({"title": "another page with this title was created at the same moment; try again"})


def update_page(*, page, author, title=None, body=None, wnids=None, base_revision=UNCHECKED, restored_from=None):
    """Change a page's title, text or classes (None keeps one as it is); returns the new Revision or None
    when nothing changed. base_revision: the id of the revision the editor started from (None for a page
    without revisions); a different current revision raises EditConflict. Leave it out to skip the check.
    """
    with transaction.atomic():
        page = GuidePage.objects.select_for_update().get(pk=page.pk)
        current = _content_of(page)
        new = PageContent(
            clean_title(title) if title is not None else current.title,
            clean_body(body) if body is not None else current.body,
            clean_wnids(wnids, kind=page.kind, slug=page.slug) if wnids is not None else current.wnids,
        )
        latest = _latest_revision(page)
        if base_revision is not UNCHECKED and base_revision != (latest.pk if latest else None):
            raise EditConflict(latest)
        if new == current:
            return None
        now = timezone.now()
        if latest is None:
            # A generated class page has no history yet: keep its state before this first change, so that
            # the history shows it and a restore can go back to it.
            _append_revision(page, current, author=None, at=page.created_at)
        page.title, page.body, page.updated_at, page.updated_by = new.title, new.body, now, author
        page.save(update_fields=["title", "body", "updated_at", "updated_by"])
        if new.wnids != current.wnids:
            _set_classes(page, new.wnids)
        return _append_revision(page, new, author=author, at=now, restored_from=restored_from)


def restore_revision(*, page, revision_id, author):
    """Make an earlier revision's content current again: a new revision, the history stays as it was."""
    try:
        revision = Revision.objects.get(pk=revision_id, page=page)
    except Revision.DoesNotExist:
        raise GuideInputError({"revision": f"revision {revision_id} is not a revision of this page"}) from None
    restored = update_page(
        page=page,
        author=author,
        title=revision.title,
        body=revision.body,
        wnids=revision.wnids,
        restored_from=revision,
    )
    if restored is None:
        raise GuideInputError({"revision": "the page already has the content of this revision"})
    return restored


# --- class pages ---------------------------------------------------------------------------------


def _new_class_page(wnid):
    return GuidePage(
        slug=wnid,
        title=generation.class_page_title(wnid),
        kind=PageKind.CLASS,
        generated=generation.class_page_markdown(wnid),
    )


def class_page_for(wnid):
    """The class page of a class wnid, created from WordNet if it is missing (a class added to the
    taxonomy after the migration, or a database emptied by a test) so that every class has one."""
    page = GuidePage.objects.filter(slug=wnid, kind=PageKind.CLASS).select_related("updated_by").first()
    if page is not None:
        return page
    if not taxonomy.is_class(wnid):
        raise GuideInputError({"wnid": f"{wnid!r} is not one of the 1,000 classes"})
    try:
        with transaction.atomic():
            page = _new_class_page(wnid)
            page.save()
            PageClass.objects.create(page=page, wnid=wnid)
    except IntegrityError:  # created by a concurrent request
        page = GuidePage.objects.get(slug=wnid)
    return page


def generate_class_pages():
    """Create the missing class pages and regenerate the generated part of the others; titles and the
    experts' text are never touched. Returns {"created": n, "updated": n, "unchanged": n}."""
    wnids = taxonomy.class_wnids()
    with transaction.atomic():
        existing = {page.slug: page for page in GuidePage.objects.filter(kind=PageKind.CLASS, slug__in=wnids)}
        missing = [_new_class_page(wnid) for wnid in wnids if wnid not in existing]
        GuidePage.objects.bulk_create(missing, batch_size=500)
        created = GuidePage.objects.filter(slug__in=[page.slug for page in missing])
        PageClass.objects.bulk_create([PageClass(page=page, wnid=page.slug) for page in created], batch_size=500)
        changed = []
        for wnid, page in existing.items():
            generated = generation.class_page_markdown(wnid)
            if page.generated != generated:
                page.generated = generated
                changed.append(page)
        GuidePage.objects.bulk_update(changed, ["generated"], batch_size=500)
    return {"created": len(missing), "updated": len(changed), "unchanged": len(existing) - len(changed)}


# --- attachments ---------------------------------------------------------------------------------


def add_attachment(*, page, data, name, uploaded_by):
    """Store an uploaded image for a page under its checksum. GuideInputError for anything but a complete
    JPEG, PNG, WebP or GIF image, whatever its name says."""
    if not data:
        raise GuideInputError({"file": "the file is empty"})
    if len(data) > MAX_ATTACHMENT_BYTES:
        limit = MAX_ATTACHMENT_BYTES // 2**20
        raise GuideInputError({"file": f"the file is {len(data) / 2**20:.1f} MB; images are limited to {limit} MB"})
    try:
        image = check_image(data, settings.MAX_IMAGE_PIXELS)
    except ImageTooLarge as exc:
        raise GuideInputError({"file": f"{safe_file_name(name)} was refused: {exc}"}) from exc
    except BadImage as exc:
        why = "it is not a complete JPEG, PNG, WebP or GIF image"
        raise GuideInputError({"file": f"{safe_file_name(name)} was refused: {why}"}) from exc
    if image.format not in ATTACHMENT_TYPES:
        raise GuideInputError(
            {"file": f"{image.format} images are not shown by every browser; upload a JPEG, PNG, WebP or GIF"}
        )
    storage_name = f"guide/{image.sha256[:2]}/{image.sha256}.{image.extension}"
    if not default_storage.exists(storage_name):
        storage_name = default_storage.save(storage_name, ContentFile(data))
    return Attachment.objects.create(
        page=page,
        file=storage_name,
        name=safe_file_name(name),
        content_type=ATTACHMENT_TYPES[image.format],
        size=len(data),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        uploaded_by=uploaded_by,
    )
