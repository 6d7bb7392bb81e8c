"""The image browser's reads: a dataset's images filtered, searched and sorted, a page at a time.

Pages are cut by keyset, never by offset, so that a page deep in 50,000 images costs what the first one does: a page
starts after (or ends before) an image named by its id, wherever that image sorts now. An image that left the list
meanwhile (reviewed while browsing the unreviewed ones) still marks the place, so the review page walks a list by
asking for the image after or before the one on screen.

Who may see what follows annotate.access: images closed to the user are never listed, and where reviewers answer
blind an image's review state is the user's own (whether the queue would still hand it to them), so that the list
tells neither another reviewer's verdict nor which items are golden.
"""

from dataclasses import asdict, dataclass

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from rest_framework.exceptions import ValidationError

import taxonomy
from annotate import access
from annotate.models import (
    ClassifierModel,
    Image,
    LabelSource,
    Prediction,
    PredictorKind,
    ReviewerVerdict,
    ReviewItem,
    Suggestion,
    Verdict,
)
from config.query import query_choice, query_text

STATUSES = {
    "reviewed": "Reviewed",
    "unreviewed": "Unreviewed",
    "problematic": "Problematic",
    "suggested": "With a suggestion",
}
# Each sort as the fields of its keyset, '-' for descending; every one ends in a field unique within the dataset.
SORTS = {
    "position": ("position",),
    "-position": ("-position",),
    "file_name": ("file_name",),
    "-file_name": ("-file_name",),
    "recent": ("-latest_verdict_at", "-pk"),
}
SORT_LABELS = {
    "position": "Dataset order",
    "-position": "Dataset order, last first",
    "file_name": "File name, A to Z",
    "-file_name": "File name, Z to A",
    "recent": "Your latest verdicts first",
}
MODEL_TOP1 = {
    "any": "any",
    "matches": "top-1 is the original label",
    "differs": "top-1 is not the original label",
}
# "My recent" lists the images of the user's latest verdicts in the dataset: recent work, at a bounded cost.
RECENT_VERDICTS = 1000
PAGE_SIZE = 60
MAX_PAGE_SIZE = 200
MAX_SEARCH_LENGTH = 100
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class ImageList:
    """What a list keeps and how it sorts them (the query parameters of the browser, the API and the review page)."""

    status: str = ""
    wnid: str = ""
    model: str = ""
    model_top1: str = "any"
    disagree: bool = False
    q: str = ""
    sort: str = "position"

    def query(self):
        """The list as query parameters, defaults left out."""
        defaults = asdict(ImageList())
        return {
            name: "true" if value is True else value for name, value in asdict(self).items() if value != defaults[name]
        }

    def describe(self):
        """The list in words, for the review page: 'Unreviewed · under dog · file name has "n02"'."""
        parts = [STATUSES[self.status]] if self.status else []
        if self.wnid:
            parts.append(f"under {taxonomy.label(self.wnid)}")
        if self.model:
            parts.append(self.model if self.model_top1 == "any" else f"{self.model}: {MODEL_TOP1[self.model_top1]}")
        if self.disagree:
            parts.append("models disagree")
        if self.q:
            parts.append(f'file name has "{self.q}"')
        if self.sort == "recent":
            parts.insert(0, "Your recent images")
        parts = parts or ["All images"]
        if self.sort not in ("position", "recent"):
            parts.append(SORT_LABELS[self.sort])
        return " · ".join(parts)


def _flag(params, name):
    value = params.get(name, "").strip().lower()
    if value not in TRUE_WORDS | FALSE_WORDS:
        raise ValidationError({name: f"must be true or false; got {value[:40]!r}"})
    return value in TRUE_WORDS


def image_list(params):
    """The ImageList of query parameters (a QueryDict); a 400 naming the parameter at fault otherwise."""
    wnid = params.get("wnid", "").strip()
    if wnid and not taxonomy.exists(wnid):
        raise ValidationError({"wnid": f"{wnid[:40]!r} is not a WordNet synset of the class hierarchy"})
    model = params.get("model", "").strip()
    if model and not ClassifierModel.objects.filter(name=model, kind=PredictorKind.MODEL).exists():
        raise ValidationError({"model": f"there is no classifier model named {model[:200]!r}"})
    model_top1 = query_choice(params, "model_top1", MODEL_TOP1, "any")
    if model_top1 != "any" and not model:
        raise ValidationError({"model_top1": "name the model whose top-1 to compare (model=...)"})
    q = query_text(params, "q", max_length=MAX_SEARCH_LENGTH)
    return ImageList(
        status=query_choice(params, "status", STATUSES, ""),
        wnid=wnid,
        model=model,
        model_top1=model_top1,
        disagree=_flag(params, "disagree"),
        q=q,
        sort=query_choice(params, "sort", SORTS, "position"),
    )


def dataset_models(dataset):
    """The names of the classifier models with predictions on the dataset, for the model filter."""
    predicted = Prediction.objects.filter(model=OuterRef("pk"), image__dataset=dataset)
    return list(
        ClassifierModel.objects.filter(kind=PredictorKind.MODEL)
        .filter(Exists(predicted))
        .order_by("name")
        .values_list("name", flat=True)
    )


def _reviewed(dataset, user):
    """Whether an image counts as reviewed for the user: none of its items is left to review and no suggestion is
    open; where its reviewers' answers are blind to the user, none of its items still awaits the user's answer (an
    undecided or a golden item the user has not answered), as the queue sees it."""
    done = Q(pending_items=0)
    blind = access.blind_images_in(dataset, user)
    if blind is None:
        return done
    answered = ReviewerVerdict.objects.filter(item=OuterRef("pk"), reviewer=user)
    awaiting = (
        ReviewItem.objects.filter(image=OuterRef("pk"))
        .filter(Q(verdict=Verdict.UNREVIEWED) | Q(golden__isnull=False) | Q(source=LabelSource.GOLDEN))
        .exclude(Exists(answered))
    )
    return (~blind & done) | (blind & ~Exists(awaiting))


def _my_verdicts(user):
    return ReviewerVerdict.objects.filter(reviewer=user).order_by("-updated_at")


def _with_latest_verdict(images, user):
    latest = _my_verdicts(user).filter(item__image=OuterRef("pk")).values("updated_at")[:1]
    return images.annotate(latest_verdict_at=Subquery(latest))


def listed_images(*, dataset, user, listing):
    """The dataset's images that the list keeps, of those the user may see; unordered."""
    images = Image.objects.filter(dataset=dataset).exclude(pk__in=access.closed_image_ids(user))
    if listing.status in ("reviewed", "unreviewed"):
        reviewed = _reviewed(dataset, user)
        images = images.filter(reviewed if listing.status == "reviewed" else ~reviewed)
    elif listing.status == "problematic":
        images = images.filter(problematic__isnull=False)
    elif listing.status == "suggested":
        images = images.filter(Exists(Suggestion.objects.filter(image=OuterRef("pk"), resolved_at__isnull=True)))
    if listing.wnid:
        images = images.filter(original_wnid__in=sorted(taxonomy.descendant_classes(listing.wnid)))
    if listing.model:
        predicted = Prediction.objects.filter(image=OuterRef("pk"), model__name=listing.model)
        if listing.model_top1 == "matches":
            predicted = predicted.filter(top1_wnid=OuterRef("original_wnid"))
        elif listing.model_top1 == "differs":
            predicted = predicted.exclude(top1_wnid=OuterRef("original_wnid"))
        images = images.filter(Exists(predicted))
    if listing.disagree:
        # Counted image by image: PostgreSQL would turn an EXISTS into a join over every prediction of the dataset.
        # Humans' predictions are no classifier model's.
        top1s = (
            Prediction.objects.filter(image=OuterRef("pk"), model__kind=PredictorKind.MODEL)
            .values("image")
            .annotate(n=Count("top1_wnid", distinct=True))
            .values("n")
        )
        images = images.alias(model_top1s=Subquery(top1s)).filter(model_top1s__gt=1)
    if listing.q:
        images = images.filter(file_name__icontains=listing.q)
    if listing.sort == "recent":
        recent = _my_verdicts(user).filter(item__dataset=dataset).values("item__image_id")[:RECENT_VERDICTS]
        images = _with_latest_verdict(images.filter(pk__in=recent), user)
    return images


@dataclass
class ImagePage:
    images: list
    count: int | None  # counted on a list's first page only
    next_after: int | None  # the id the next page starts after, None on the last page
    previous_before: int | None  # the id the previous page ends before, None on the first page


def _field(name):
    return name.lstrip("-")


def _beyond(order, key):
    """The images that come after the sort key `key` (values of `order`'s fields) in `order`."""
    condition, equal = Q(), Q()
    for name, value in zip(order, key, strict=True):
        lookup = "lt" if name.startswith("-") else "gt"
        condition |= equal & Q(**{f"{_field(name)}__{lookup}": value})
        equal &= Q(**{_field(name): value})
    return condition


def _reversed(order):
    return tuple(_field(name) if name.startswith("-") else f"-{name}" for name in order)


def _key(image, order):
    return tuple(getattr(image, _field(name)) for name in order)


def _cursor_key(*, dataset, user, listing, image_id, parameter):
    """The sort key of the image a page starts after or ends before; None for an image with no verdict of the user's
    in the recent list (it comes before all of them, as the latest). A 400 where the dataset has no such image for
    the user: closed images read as missing."""
    images = Image.objects.filter(dataset=dataset, pk=image_id).exclude(pk__in=access.closed_image_ids(user))
    if listing.sort == "recent":
        images = _with_latest_verdict(images, user)
    image = images.order_by().first()
    if image is None:
        raise ValidationError({parameter: f"dataset {dataset.name} has no image {image_id}"})
    key = _key(image, SORTS[listing.sort])
    return None if key[0] is None else key


def image_page(*, dataset, user, listing, after=None, before=None, limit=PAGE_SIZE):
    """One page of the list: the `limit` images after the image `after`, before the image `before`, or from the
    start; with the list's count on its first page. Images come with their review state for the user (`reviewed`),
    open suggestions (`suggested`), problematic flag and, in the recent list, the user's latest verdict time."""
    images = listed_images(dataset=dataset, user=user, listing=listing)
    order = SORTS[listing.sort]
    count = images.count() if after is None and before is None else None
    cursor = after if after is not None else before
    key = None
    if cursor is not None:
        key = _cursor_key(
            dataset=dataset,
            user=user,
            listing=listing,
            image_id=cursor,
            parameter="after" if after is not None else "before",
        )
    backwards = before is not None
    walk = _reversed(order) if backwards else order
    page = images
    if key is not None:
        page = page.filter(_beyond(walk, key))
    elif backwards:
        # Nothing comes before an image that is not (yet) in the recent list: it would be the latest.
        page = page.none()
    rows = list(
        page.select_related("problematic")
        .annotate(
            reviewed=ExpressionWrapper(_reviewed(dataset, user), output_field=BooleanField()),
            suggested=Exists(Suggestion.objects.filter(image=OuterRef("pk"), resolved_at__isnull=True)),
        )
        .order_by(*walk)[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_previous = more if backwards else False
    has_next = more if not backwards else False
    if rows and (after is not None or backwards):
        # The other side of a page reached by a cursor: whether anything lies beyond its edge.
        edge, towards = (rows[-1], order) if backwards else (rows[0], _reversed(order))
        beyond = images.filter(_beyond(towards, _key(edge, order))).exists()
        has_next, has_previous = (beyond, has_previous) if backwards else (has_next, beyond)
    return ImagePage(
        images=rows,
        count=count,
        next_after=rows[-1].pk if rows and has_next else None,
        previous_before=rows[0].pk if rows and has_previous else None,
    )
