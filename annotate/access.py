"""Who may see an image and what reviewers said of it: the one policy every page, API endpoint, file response and
feed asks.

Two things can be closed to a user:

- **An image**, with everything about it (labels, candidates, verdicts, history, flag, suggestions, lease, files,
  its place in guide examples and training). The apps above this one say which images are closed to whom by
  registering a rule (`close_images_with`); evaluation closes an open phase's images to its participants. Closing
  goes by content: every image carrying the same file is closed with it, since the same photo under another id
  would show the same answers. A closed image answers exactly like a missing one (404), so probing ids tells
  nothing.
- **The answers on an item** where reviewers answer blind: several reviewers decide its dataset's items, or it is a
  golden item. A reviewer sees their own verdict there and nobody else's; training feedback on such an image shows
  the original label only (`blind_image_ids`).
"""

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from accounts.roles import is_admin
from annotate.models import Image, LabelSource, ReviewItem, Rule
from annotate.policies import policy_of

_closing_rules = []


def close_images_with(rule):
    """Register `rule(user)`: a queryset of the ids of the images closed to the user, or None where none are."""
    if rule not in _closing_rules:
        _closing_rules.append(rule)


class ImageNotFound(Http404):
    """A missing image, or one closed to the user: the two read the same."""

    def __init__(self, image_id):
        super().__init__(f"image {image_id} does not exist")


def closed_image_ids(user):
    """A queryset of the ids of every image closed to the user, each closed image's twins by content included.

    The rules are asked once per user object, that is once per request (like the user's roles)."""
    cached = getattr(user, "_closed_image_ids", None)
    if cached is not None:
        return cached
    closed = (
        [ids for ids in (rule(user) for rule in _closing_rules) if ids is not None] if user.is_authenticated else []
    )
    if not closed:
        ids = Image.objects.none().values_list("pk", flat=True)
    else:
        by_id = Q()
        for rule_ids in closed:
            by_id |= Q(pk__in=rule_ids)
        same_files = Image.objects.filter(by_id).exclude(sha256="").values("sha256")
        ids = Image.objects.filter(by_id | Q(sha256__in=same_files)).values_list("pk", flat=True)
    if user.is_authenticated:
        user._closed_image_ids = ids
    return ids


def is_closed(user, image_id):
    return closed_image_ids(user).filter(pk=image_id).exists()


def check_image_visible(user, image_id):
    """Raise ImageNotFound where the image is closed to the user (a missing image is the caller's 404)."""
    if is_closed(user, image_id):
        raise ImageNotFound(image_id)


def visible_image_or_404(user, image_id, queryset=None):
    """The image by id from `queryset` (all images by default), unless it is missing or closed to the user."""
    # Both asked whatever the first answer, so that a closed image costs what a missing one does.
    closed = is_closed(user, image_id)
    image = (queryset if queryset is not None else Image.objects).filter(pk=image_id).first()
    if image is None or closed:
        raise ImageNotFound(image_id)
    return image


def answers_blind(item, several_reviewers):
    """Whether reviewers answer this item blind (`several_reviewers`: its dataset's consensus rule asks for
    several)."""
    return several_reviewers or item.source == LabelSource.GOLDEN


def hides_others_answers(viewer, item, several_reviewers, author_id):
    """Whether `viewer` (None for an admin's full view) must not see what `author_id` said of the item."""
    return viewer is not None and author_id != viewer.pk and answers_blind(item, several_reviewers)


def blind_images(user):
    """A filter of the images whose reviewers' answers are blind to the user, or None for an admin (who sees them
    all): images of datasets that several reviewers decide, and images with a golden item."""
    if is_admin(user):
        return None
    golden = ReviewItem.objects.filter(image=OuterRef("pk")).filter(
        Q(golden__isnull=False) | Q(source=LabelSource.GOLDEN)
    )
    several = Q(dataset__consensus_policy__isnull=False) & ~Q(dataset__consensus_policy__rule=Rule.SINGLE)
    return several | Q(Exists(golden))


def blind_images_in(dataset, user):
    """blind_images within one dataset, as a filter cheap enough to test on each of its images: None where none is
    blind to the user (an admin, or no golden item in a dataset one reviewer decides), every image where several
    reviewers decide its items, else its images with a golden item (few: found once per user object, that is once
    per request, as closed_image_ids)."""
    if is_admin(user):
        return None
    if policy_of(dataset).several_reviewers:
        return Q(dataset=dataset)
    found = getattr(user, "_golden_image_ids", None)
    if found is None:
        found = user._golden_image_ids = {}
    if dataset.pk not in found:
        items = ReviewItem.objects.filter(dataset=dataset).order_by().values_list("image_id", flat=True)
        found[dataset.pk] = set(items.filter(golden__isnull=False).union(items.filter(source=LabelSource.GOLDEN)))
    return Q(pk__in=found[dataset.pk]) if found[dataset.pk] else None


def with_answers_visible(images, user):
    """The images of the queryset that the user may see together with what reviewers said of them: none closed to
    the user, none whose answers are blind to them. For feeds that rank or count images by their verdicts (guide
    examples, confusions), where being shown, left out or counted tells a verdict."""
    images = images.exclude(pk__in=closed_image_ids(user))
    blind = blind_images(user)
    return images if blind is None else images.exclude(blind)


def blind_image_ids(user, image_ids):
    """Those of `image_ids` whose reviewers' answers are blind to the user (see blind_images)."""
    blind = blind_images(user)
    if blind is None or not image_ids:
        return set()
    return set(Image.objects.filter(pk__in=image_ids).filter(blind).values_list("pk", flat=True))
