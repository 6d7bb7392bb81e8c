"""Reads of the labeling guide: pages with what is computed at view time, search, history.

Example images and "potentially confused with" come from the platform's own datasets, predictions
and verdicts each time a page is shown, so they follow the reviewing as it goes.
"""

import difflib
import re
from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber

import taxonomy
from annotate import access
from annotate.models import Dataset, Image, ReviewItem, Verdict
from labelguide.models import GuidePage, PageClass, PageKind, Revision
from labelguide.rendering import class_page_path

EXAMPLES_PER_CLASS = 6
CONFUSIONS_SHOWN = 5
SEARCH_LIMIT = 20
SEARCH_TERMS = 8
SNIPPET_LENGTH = 180
_MARKDOWN_PUNCTUATION = re.compile(r"[*_`#>|~]+|!?\[|\]\([^)]*\)|\]")
_LINE_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)]|#+|>)\s+")
_TABLE_RULE = re.compile(r"^[\s|:-]*$")


@dataclass
class PageView:
    """A page with everything its view shows."""

    page: GuidePage
    wnids: list
    latest_revision: Revision | None
    examples: list = field(default_factory=list)
    confused_with: list = field(default_factory=list)
    related_pages: list = field(default_factory=list)


def synset_summary(wnid):
    synset = taxonomy.get(wnid)
    return {
        "wnid": wnid,
        "label": synset.label,
        "words": list(synset.words),
        "gloss": synset.gloss,
        "class_index": synset.class_index,
        "guide_url": class_page_path(wnid),
    }


def page_by_slug(slug):
    return GuidePage.objects.select_related("updated_by").filter(slug=slug).first()


def page_wnids(page):
    return list(PageClass.objects.filter(page=page).order_by("position").values_list("wnid", flat=True))


def latest_revision(page):
    return Revision.objects.filter(page=page).select_related("author").order_by("-created_at", "-id").first()


def _dataset_ids():
    # Listing the (few) datasets first lets every per-class lookup use the (dataset, original_wnid) index.
    return list(Dataset.objects.values_list("pk", flat=True))


def example_images_queryset(wnids, *, dataset_ids, per_class=EXAMPLES_PER_CLASS, viewer=None):
    """Per class, a few images whose original label is the class: with a file, not problematic, the
    original label not judged wrong or unclear, not `withheld` (a queryset of image ids); images whose label
    reviewers confirmed come first. Each photo once: of the images with the same file content (sha256, which
    every image with a file has), as in datasets that share files, only the first in that order."""
    label_items = ReviewItem.objects.filter(image=OuterRef("pk"), wnid=OuterRef("original_wnid"))
    images = Image.objects.filter(dataset__in=dataset_ids, original_wnid__in=wnids, problematic__isnull=True)
    if viewer is not None:
        images = access.with_answers_visible(images, viewer)
    candidates = (
        images.exclude(file="")
        .exclude(Exists(label_items.filter(verdict__in=[Verdict.WRONG, Verdict.UNCLEAR])))
        .annotate(confirmed=Exists(label_items.filter(verdict=Verdict.CORRECT)))
    )
    order = [F("confirmed").desc(), F("dataset_id").asc(), F("position").asc()]
    first_copies = (
        candidates.annotate(copy=Window(RowNumber(), partition_by=[F("original_wnid"), F("sha256")], order_by=order))
        .filter(copy=1)
        .values("pk")
    )
    return (
        candidates.filter(pk__in=first_copies)
        .annotate(rank=Window(RowNumber(), partition_by=[F("original_wnid")], order_by=order))
        .filter(rank__lte=per_class)
        .values("pk", "original_wnid", "file_name", "dataset__name", "confirmed", "width", "height")
        .order_by("original_wnid", "rank")
    )


def example_images(wnids, *, dataset_ids, per_class=EXAMPLES_PER_CLASS, viewer=None):
    """{wnid: [image]} for the example images of each class (see example_images_queryset)."""
    found = {wnid: [] for wnid in wnids}
    if not wnids or not dataset_ids:
        return found
    for row in example_images_queryset(wnids, dataset_ids=dataset_ids, per_class=per_class, viewer=viewer):
        found[row["original_wnid"]].append(
            {
                "id": row["pk"],
                "dataset": row["dataset__name"],
                "file_name": row["file_name"],
                "confirmed": row["confirmed"],
                "width": row["width"],
                "height": row["height"],
                "url": f"/images/{row['pk']}/display",
            }
        )
    return found


def confusion_queryset(wnid, *, dataset_ids, viewer=None):
    """Per other wnid: how many top-1 predictions of models on images of this class reviewers marked wrong
    (predictions) and on how many images (images); only images whose answers the `viewer` may see."""
    images = Image.objects.filter(dataset__in=dataset_ids, original_wnid=wnid)
    if viewer is not None:
        images = access.with_answers_visible(images, viewer)
    return (
        ReviewItem.objects.filter(
            image__in=images,
            verdict=Verdict.WRONG,
            model_count__gt=0,
        )
        .exclude(wnid=wnid)
        .values("wnid")
        .annotate(predictions=Sum("model_count"), images=Count("pk"))
        .order_by("-predictions", "-images", "wnid")
    )


def confusions(wnid, *, dataset_ids, viewer=None, limit=CONFUSIONS_SHOWN):
    """The classes models most often predicted (top-1) for images of this class where reviewers marked the
    prediction wrong: [{wnid, label, ..., predictions, images}], most predictions first."""
    if not dataset_ids:
        return []
    return [
        {**synset_summary(row["wnid"]), "predictions": row["predictions"], "images": row["images"]}
        for row in confusion_queryset(wnid, dataset_ids=dataset_ids, viewer=viewer)[:limit]
        if taxonomy.is_class(row["wnid"])
    ]


def pages_about(wnids, *, exclude_page):
    """Other comparison and general pages about any of these classes, each with all its wnids."""
    if not wnids:
        return []
    about = PageClass.objects.filter(wnid__in=wnids, page__kind__in=[PageKind.COMPARISON, PageKind.GENERAL])
    rows = (
        PageClass.objects.filter(page__in=about.values("page_id"))
        .exclude(page=exclude_page)
        .order_by("page__title", "page_id", "position")
        .values("page_id", "page__slug", "page__title", "page__kind", "wnid")
    )
    pages = {}
    for row in rows:
        entry = pages.setdefault(
            row["page_id"],
            {"slug": row["page__slug"], "title": row["page__title"], "kind": row["page__kind"], "wnids": []},
        )
        entry["wnids"].append(row["wnid"])
    return list(pages.values())


def page_view(page, viewer=None):
    """The page with its classes, latest revision, example images (those the `viewer` may see) and, for
    class pages, its confusions."""
    wnids = page_wnids(page)
    view = PageView(page=page, wnids=wnids, latest_revision=latest_revision(page))
    dataset_ids = _dataset_ids()
    examples = example_images(wnids, dataset_ids=dataset_ids, viewer=viewer)
    view.examples = [{**synset_summary(wnid), "images": examples[wnid]} for wnid in wnids]
    view.related_pages = pages_about(wnids, exclude_page=page)
    if page.kind == PageKind.CLASS and wnids:
        view.confused_with = confusions(wnids[0], dataset_ids=dataset_ids, viewer=viewer)
        comparisons = [related for related in view.related_pages if related["kind"] == PageKind.COMPARISON]
        for entry in view.confused_with:
            entry["comparison"] = next(
                ({"slug": c["slug"], "title": c["title"]} for c in comparisons if entry["wnid"] in c["wnids"]), None
            )
    return view


# --- lists and search ------------------------------------------------------------------------------


def topic_pages():
    """Comparison and general pages, by title, each with its wnids."""
    pages = list(GuidePage.objects.filter(kind__in=[PageKind.COMPARISON, PageKind.GENERAL]).order_by("kind", "title"))
    wnids = {}
    for row in PageClass.objects.filter(page__in=pages).order_by("position").values("page_id", "wnid"):
        wnids.setdefault(row["page_id"], []).append(row["wnid"])
    for page in pages:
        page.wnid_list = wnids.get(page.pk, [])
    return pages


def recently_edited(limit=8):
    return list(
        GuidePage.objects.filter(updated_at__isnull=False).select_related("updated_by").order_by("-updated_at")[:limit]
    )


def class_pages():
    """The 1,000 class pages in class-index order: [{wnid, class_index, title, words, synonyms, edited}]."""
    pages = {
        row["slug"]: row
        for row in GuidePage.objects.filter(kind=PageKind.CLASS).values("slug", "title", "updated_at").order_by()
    }
    listed = []
    for wnid in taxonomy.class_wnids():
        row = pages.get(wnid)
        synset = taxonomy.get(wnid)
        listed.append(
            {
                "wnid": wnid,
                "class_index": synset.class_index,
                "title": row["title"] if row else synset.label,
                "words": " ".join(synset.words).lower(),
                "synonyms": ", ".join(synset.words[1:]),
                "edited": bool(row and row["updated_at"]),
            }
        )
    return listed


def _plain(markdown):
    """Markdown as one line of text, for search snippets: no markers, link targets or table rules."""
    lines = [_LINE_MARKER.sub("", line) for line in markdown.split("\n") if not _TABLE_RULE.match(line)]
    return " ".join(_MARKDOWN_PUNCTUATION.sub(" ", " ".join(lines)).split())


def _snippet(page, terms):
    """A piece of the page's text around the first search term found in it: experts' text first."""
    for source in (page.body, page.generated):
        text = _plain(source)
        lowered = text.lower()
        hits = [lowered.find(term) for term in terms if term in lowered]
        if hits:
            start = max(0, min(hits) - SNIPPET_LENGTH // 3)
            if start:  # begin at a word
                start = text.find(" ", start) + 1 or start
            piece = text[start : start + SNIPPET_LENGTH]
            return ("…" if start else "") + piece + ("…" if start + SNIPPET_LENGTH < len(text) else "")
    text = _plain(page.body or page.generated)
    return text[:SNIPPET_LENGTH] + ("…" if len(text) > SNIPPET_LENGTH else "")


def search_pages(query, limit=SEARCH_LIMIT):
    """Pages whose title, text or generated part hold every term of the query (case-insensitive), ranked:
    the class page of a wnid; title equal to, holding as a whole word, starting with, holding the query, holding
    every term; the query in the experts' text; the rest. Where no page matches, the query read with one typo
    fixed, as the class search reads it ("tabbby"). [{page, rank, snippet, wnids}]"""
    found = _pages_matching(query, limit)
    for corrected in [] if found else taxonomy.typo_corrections(query):
        found = _pages_matching(corrected, limit)
        if found:
            break
    return found


def _pages_matching(query, limit):
    terms = [term.lower() for term in query.split()][:SEARCH_TERMS]
    if not terms:
        return []
    phrase = " ".join(terms)
    matches = Q()
    for term in terms:
        matches &= Q(title__icontains=term) | Q(body__icontains=term) | Q(generated__icontains=term)
    about_wnid = Exists(PageClass.objects.filter(page=OuterRef("pk"), wnid=phrase))
    title_has_every_term = Q()
    for term in terms:
        title_has_every_term &= Q(title__icontains=term)
    # A whole word of the title ("tiger cat" for "cat") before a word that only starts so ("catamaran"), as the
    # class search ranks; a pattern both PostgreSQL's and SQLite's regular expressions read alike.
    whole_word = rf"(^|[^a-z0-9]){re.escape(phrase)}([^a-z0-9]|$)"
    rank = Case(
        When(slug=phrase, then=Value(0)),
        When(title__iexact=phrase, then=Value(1)),
        When(title__iregex=whole_word, then=Value(2)),
        When(title__istartswith=phrase, then=Value(3)),
        When(title__icontains=phrase, then=Value(4)),
        When(title_has_every_term, then=Value(5)),
        When(about_wnid, then=Value(6)),
        When(body__icontains=phrase, then=Value(7)),
        default=Value(8),
        output_field=IntegerField(),
    )
    pages = list(
        GuidePage.objects.filter(matches | Q(about_wnid))
        .annotate(rank=rank)
        .order_by("rank", "title", "slug")
        .only("slug", "title", "kind", "body", "generated")[:limit]
    )
    wnids = {}
    for row in PageClass.objects.filter(page__in=pages).order_by("position").values("page_id", "wnid"):
        wnids.setdefault(row["page_id"], []).append(row["wnid"])
    return [
        {"page": page, "rank": page.rank, "snippet": _snippet(page, terms), "wnids": wnids.get(page.pk, [])}
        for page in pages
    ]


# --- history --------------------------------------------------------------------------------------


def _revision_lines(revision):
    """What a diff compares: the title, the classes and the text, line by line."""
    if revision is None:
        return []
    lines = [f"Title: {revision.title}", f"Classes: {', '.join(revision.wnids) or '-'}"]
    return lines + ([""] + revision.body.split("\n") if revision.body else [])


def unified_diff(older, newer, context=3):
    """[(kind, line)] with kind in header, hunk, added, removed, same; older may be None (empty)."""
    lines = difflib.unified_diff(
        _revision_lines(older),
        _revision_lines(newer),
        fromfile="before",
        tofile="after",
        n=context,
        lineterm="",
    )
    kinds = {"@": "hunk", "+": "added", "-": "removed", " ": "same"}
    diff = []
    for number, line in enumerate(lines):
        kind = "header" if number < 2 else kinds.get(line[:1], "same")
        if kind != "header":
            diff.append((kind, line))
    return diff


def revision_history(page, limit=100):
    """The newest revisions first, each with its number (1 = oldest), the diff from the one before it and
    how many lines it added and removed."""
    revisions = list(
        Revision.objects.filter(page=page)
        .select_related("author", "restored_from")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    total = Revision.objects.filter(page=page).count() if len(revisions) > limit else len(revisions)
    history = []
    for index, revision in enumerate(revisions[:limit]):
        older = revisions[index + 1] if index + 1 < len(revisions) else None
        diff = unified_diff(older, revision)
        history.append(
            {
                "revision": revision,
                "number": total - index,
                "current": index == 0,
                "first": older is None,
                "diff": diff,
                "added": sum(kind == "added" for kind, _ in diff),
                "removed": sum(kind == "removed" for kind, _ in diff),
            }
        )
    numbers = {entry["revision"].pk: entry["number"] for entry in history}
    for entry in history:
        restored = entry["revision"].restored_from_id
        entry["restored_from_number"] = numbers.get(restored) if restored else None
    return history
