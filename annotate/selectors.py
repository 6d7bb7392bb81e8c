"""Reads of the review loop: the queue, an image's review state, progress and status."""

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

import taxonomy
from accounts.roles import is_admin
from annotate import access
from annotate.models import (
    ClassifierModel,
    Dataset,
    FlagChange,
    Image,
    ImportBatch,
    JobState,
    Lease,
    Prediction,
    PredictionFailure,
    PredictionJob,
    ProblematicFlag,
    ReviewerVerdict,
    ReviewItem,
    Suggestion,
    Verdict,
    VerdictChange,
)
from annotate.policies import policy_of
from config.exceptions import NotFoundError

DECIDED_OR_DONT_KNOW = [v for v in Verdict.values if v != Verdict.UNREVIEWED]


def dataset_named(name):
    """The dataset of this name: the one way every service, command, page and API view looks one up. A name no
    dataset could have (annotate.checks.check_dataset_name) is simply not found."""
    # With its consensus policy, which most callers ask next (annotate.policies.policy_of).
    dataset = Dataset.objects.select_related("consensus_policy").filter(name=name).first()
    if dataset is None:
        raise DatasetNotFound(f"dataset {name!r} does not exist")
    return dataset


class DatasetNotFound(NotFoundError):
    """No dataset has the name asked for."""


def pending_images(*, dataset, reviewer, now=None, wnids=None, exclude=(), several_reviewers=False):
    """Images of the dataset with unreviewed items, not leased to someone else, in dataset order.

    Where several reviewers decide each item, a reviewer is only given images with unreviewed items they have
    not answered yet (suggested_images holds the rest of that queue).
    """
    images = Image.objects.filter(dataset=dataset, pending_items__gt=0).exclude(_leased_to_others(reviewer, now))
    if several_reviewers:
        mine = ReviewerVerdict.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
        unanswered = ReviewItem.objects.filter(image=OuterRef("pk"), verdict=Verdict.UNREVIEWED).exclude(Exists(mine))
        images = images.filter(Exists(unanswered))
    return _narrowed(images, wnids, exclude)


def suggested_images(*, dataset, reviewer, now=None, wnids=None, exclude=()):
    """Images of the dataset with open suggestions, not leased to someone else, in dataset order."""
    suggested = Suggestion.objects.filter(image=OuterRef("pk"), resolved_at__isnull=True)
    images = Image.objects.filter(dataset=dataset, pending_items__gt=0).filter(Exists(suggested))
    return _narrowed(images.exclude(_leased_to_others(reviewer, now)), wnids, exclude)


def golden_images(*, dataset, reviewer, now=None, wnids=None, exclude=()):
    """Images of the dataset with golden items the reviewer has not answered, not leased to someone else.

    Found from the golden items (few) rather than from the images (many).
    """
    mine = ReviewerVerdict.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    unanswered = ReviewItem.objects.filter(dataset=dataset, golden__isnull=False).exclude(Exists(mine))
    images = Image.objects.filter(pk__in=unanswered.values("image_id")).exclude(_leased_to_others(reviewer, now))
    return _narrowed(images, wnids, exclude)


def leased_to_another(*, image_id, reviewer):
    """Whether someone other than the reviewer holds the image's lease now."""
    return Lease.objects.filter(image_id=image_id, expires_at__gt=timezone.now()).exclude(reviewer=reviewer).exists()


def _leased_to_others(reviewer, now):
    return Exists(
        Lease.objects.filter(image=OuterRef("pk"), expires_at__gt=now or timezone.now()).exclude(reviewer=reviewer)
    )


def _narrowed(images, wnids, exclude):
    if exclude:
        images = images.exclude(pk__in=exclude)
    if wnids:
        images = images.filter(Exists(ReviewItem.objects.filter(image=OuterRef("pk"), wnid__in=wnids)))
    return images.order_by("position")


def image_for_review(image_id, reviewer):
    """One image with its review items, problematic flag and open suggestions, in four queries.

    Where several reviewers decide each item, and on golden items, reviewers answer blind: those items carry
    `own_verdict`, the reviewer's own verdict (None elsewhere).
    """
    image = (
        Image.objects.select_related("dataset", "dataset__consensus_policy", "problematic", "problematic__reviewer")
        .filter(pk=image_id)
        .first()
    )
    if image is None:
        return None
    image.items = list(
        ReviewItem.objects.filter(image=image)
        .select_related("verdict_by", "golden")
        .order_by(*ReviewItem._meta.ordering[1:])
    )
    several = policy_of(image.dataset).several_reviewers
    blind = [item for item in image.items if access.answers_blind(item, several)]
    own = dict(ReviewerVerdict.objects.filter(item__in=blind, reviewer=reviewer).values_list("item_id", "value"))
    for item in image.items:
        item.own_verdict = None
    for item in blind:
        item.own_verdict = own.get(item.pk, Verdict.UNREVIEWED)
    image.open_suggestions = list(open_suggestions(image))
    return image


def answers_blind(item):
    """Whether reviewers answer this item blind (see annotate.access)."""
    return access.answers_blind(item, policy_of(item.dataset).several_reviewers)


def open_suggestions(image):
    return Suggestion.objects.filter(image=image, resolved_at__isnull=True).select_related("suggested_by")


def problematic_flag(image):
    try:
        return image.problematic
    except ProblematicFlag.DoesNotExist:
        return None


def reviewer_counts(*, reviewer, dataset_id):
    """How many items and images of the dataset carry this reviewer's current verdict (what a save changes)."""
    mine = ReviewerVerdict.objects.filter(item__dataset_id=dataset_id, reviewer=reviewer)
    return {"my_items": mine.count(), "my_images": mine.values("item__image").distinct().count()}


def has_candidates(dataset, wnid):
    """Whether some review item of the dataset is of the class `wnid` or a class under it."""
    return ReviewItem.objects.filter(dataset=dataset, wnid__in=taxonomy.descendant_classes(wnid)).exists()


def figures_blind_to(viewer, dataset):
    """Whether the dataset's figures of labels are kept from `viewer` (None: nobody's): several reviewers decide
    its items, blind, and its labels (how many items are reviewed, wrong, ...) move when the viewer's vote completes
    a consensus, which would tell what the others answered. Such a viewer gets their own answers' figures instead,
    under the same keys, with figures_of "you"."""
    return viewer is not None and not is_admin(viewer) and policy_of(dataset).several_reviewers


def reviewer_progress(*, reviewer, dataset):
    """The reviewer's counts (reviewer_counts), and how far the dataset is (how far their own answers are, where
    the dataset's figures are blind to them)."""
    items = ReviewItem.objects.filter(dataset=dataset)
    images = Image.objects.filter(dataset=dataset)
    blind = figures_blind_to(reviewer, dataset)
    if blind:
        mine = ReviewerVerdict.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
        reviewed, pending = (
            Q(Exists(mine)),
            Q(Exists(ReviewItem.objects.filter(image=OuterRef("pk")).exclude(Exists(mine)))),
        )
    else:
        reviewed, pending = ~Q(verdict=Verdict.UNREVIEWED), Q(pending_items__gt=0)
    counted = items.aggregate(total=Count("pk"), reviewed=Count("pk", filter=reviewed))
    image_counts = images.aggregate(total=Count("pk"), pending=Count("pk", filter=pending))
    return {
        **reviewer_counts(reviewer=reviewer, dataset_id=dataset.pk),
        "items": counted["total"],
        "reviewed_items": counted["reviewed"],
        "images": image_counts["total"],
        "done_images": image_counts["total"] - image_counts["pending"],
        "figures_of": "you" if blind else "dataset",
    }


def dataset_status(dataset, viewer=None):
    """The figures of `dataset_status` and the dataset page, under the same keys; those of labels are the
    viewer's own answers where they are blind to the viewer (figures_blind_to)."""
    images = Image.objects.filter(dataset=dataset).aggregate(
        images=Count("pk"), with_files=Count("pk", filter=~Q(file=""))
    )
    blind = figures_blind_to(viewer, dataset)
    if blind:
        answers = ReviewerVerdict.objects.filter(item__dataset=dataset, reviewer=viewer)
        verdicts = dict(
            answers.exclude(value=Verdict.UNREVIEWED).values_list("value").annotate(n=Count("pk")).order_by()
        )
        review_items = ReviewItem.objects.filter(dataset=dataset).count()
        verdicts[Verdict.UNREVIEWED] = review_items - sum(verdicts.values())
    else:
        verdicts = dict(
            ReviewItem.objects.filter(dataset=dataset).values_list("verdict").annotate(n=Count("pk")).order_by()
        )
        review_items = sum(verdicts.values())
    per_verdict = {value: verdicts.get(value, 0) for value in Verdict.values}
    models = (
        ClassifierModel.objects.filter(Exists(Prediction.objects.filter(model=OuterRef("pk"), image__dataset=dataset)))
        .order_by("name")
        .values_list("name", flat=True)
    )
    return {
        "dataset": dataset.name,
        "images": images["images"],
        "images_with_files": images["with_files"],
        "images_without_files": images["images"] - images["with_files"],
        "models": len(models),
        "model_names": list(models),
        "review_items": review_items,
        "reviewed_items": review_items - per_verdict[Verdict.UNREVIEWED],
        "unreviewed_items": per_verdict[Verdict.UNREVIEWED],
        "items_per_verdict": per_verdict,
        "figures_of": "you" if blind else "dataset",
        "problematic_images": ProblematicFlag.objects.filter(image__dataset=dataset).count(),
        "slices": {s.name: s.images.count() for s in dataset.slices.order_by("name")},
    }


_history_sources = []


def add_history_source(source):
    """Register `source(image, hidden)`: the image's entries of an app above this one for image_history (each a
    dict with at least "kind", "reviewer" and "at"), leaving out those for which `hidden(item, author_id)` is true.
    Consensus adds its adjudications."""
    if source not in _history_sources:
        _history_sources.append(source)


def image_history(image, viewer=None):
    """Every verdict change and flag change of one image, with the entries of the registered history sources
    (adjudications), oldest first.

    For a `viewer` (a reviewer who is not an admin), the items they answer blind (see image_for_review) show only
    their own verdicts: other reviewers' verdicts and adjudications there would give the answers away.
    """
    several = viewer is not None and policy_of(image.dataset).several_reviewers

    def hidden(item, author_id):
        return access.hides_others_answers(viewer, item, several, author_id)

    verdicts = [
        {
            "kind": "verdict",
            "wnid": change.item.wnid,
            "class_name": taxonomy.label(change.item.wnid),
            "old": change.old,
            "new": change.new,
            "reviewer": change.reviewer.username,
            "at": change.created_at,
        }
        for change in VerdictChange.objects.filter(item__image=image).select_related("item", "reviewer")
        if not hidden(change.item, change.reviewer_id)
    ]
    flags = [
        {
            "kind": "problematic",
            "reason": change.reason or None,
            "note": change.note,
            "reviewer": change.reviewer.username,
            "at": change.created_at,
        }
        for change in FlagChange.objects.filter(image=image).select_related("reviewer")
    ]
    others = [entry for source in _history_sources for entry in source(image, hidden)]
    return sorted(verdicts + flags + others, key=lambda entry: entry["at"])


def import_batches(dataset, limit=100):
    """The dataset's latest import batches (imports and undos), newest first, with who made and undid them."""
    return list(
        ImportBatch.objects.filter(dataset=dataset)
        .select_related("created_by", "undone_by")
        .order_by("-created_at")[:limit]
    )


def candidate_label(wnid):
    synset = taxonomy.get(wnid)
    return {"wnid": wnid, "words": list(synset.words), "gloss": synset.gloss}


def listed_models():
    """The models list: models with predictions, and those a job is computing now. A job that failed or was
    cancelled before its first predictions leaves its model empty: the job's history keeps it, the list does not."""
    computing = PredictionJob.objects.filter(model=OuterRef("pk"), state__in=[JobState.QUEUED, JobState.RUNNING])
    return ClassifierModel.objects.filter(Exists(Prediction.objects.filter(model=OuterRef("pk"))) | Exists(computing))


def model_summary(model):
    """Per dataset: the model's predictions, how many of its top-1 are reviewed, how many items it added."""
    reviewed_top1 = ReviewItem.objects.filter(
        image=OuterRef("image"), wnid=OuterRef("top1_wnid"), verdict__in=DECIDED_OR_DONT_KNOW
    )
    only_this_model = ReviewItem.objects.filter(
        image=OuterRef("image"), wnid=OuterRef("top1_wnid"), model_count=1, is_original=False
    )
    rows = (
        Prediction.objects.filter(model=model)
        .values("image__dataset__name")
        .annotate(
            predictions=Count("pk"),
            top1_reviewed=Count("pk", filter=Q(Exists(reviewed_top1))),
            items_only_from_this_model=Count("pk", filter=Q(Exists(only_this_model))),
        )
        .order_by("image__dataset__name")
    )
    added = dict(
        PredictionJob.objects.filter(model=model, state=JobState.DONE)
        .values("dataset__name")
        .annotate(n=Sum("new_review_items"))
        .values_list("dataset__name", "n")
    )
    failures = dict(
        PredictionFailure.objects.filter(model=model)
        .values("image__dataset__name")
        .annotate(n=Count("pk"))
        .values_list("image__dataset__name", "n")
    )
    return [
        {
            "dataset": row["image__dataset__name"],
            "predictions": row["predictions"],
            "top1_reviewed": row["top1_reviewed"],
            "top1_unreviewed": row["predictions"] - row["top1_reviewed"],
            "items_added_by_jobs": added.get(row["image__dataset__name"]),
            "items_only_from_this_model": row["items_only_from_this_model"],
            "failed_images": failures.get(row["image__dataset__name"], 0),
        }
        for row in rows
    ]
