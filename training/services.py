"""Writes of training: creating tasks, recording answers, suggestions from the feedback panel."""

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

import taxonomy
from annotate import access
from annotate import services as annotate_services
from annotate.models import Image, ReviewItem, SuggestionKind, Verdict
from annotate.selectors import DatasetNotFound, dataset_named
from config.exceptions import DomainError
from taxonomy.wnids import parse_wnids
from training.models import DEFAULT_INSTRUCTIONS, TaskSource, TrainingAnswer, TrainingTask
from training.selectors import image_labels

MAX_NAME_LENGTH = 200
MAX_SECONDS_TAKEN = 24 * 3600
# The largest offset a task stores (a PositiveIntegerField).
MAX_OFFSET = 2**31 - 1


class TrainingInputError(DomainError):
    """Input that cannot be used; `field` names what is at fault (for a 400 answer or a form error)."""

    def __init__(self, field, message):
        super().__init__(message, field=field)


def create_training_task(
    *,
    name,
    dataset_name,
    source,
    offset_start=None,
    offset_end=None,
    node_wnid="",
    wnids=(),
    description="",
    instructions="",
    shuffle=None,
    created_by=None,
):
    """A task over the dataset's images with files: a slice of offsets [start, end) in dataset order, the
    images of the classes under a hierarchy node, or those of a confusion group of classes.

    An image belongs to a class when that is its original label or a label reviewed as correct. Class
    tasks are shuffled by default (a fixed order seeded by the name), so that a part mixes the classes.
    """
    name = " ".join((name or "").split())
    if not name:
        raise TrainingInputError("name", "give the task a name")
    if len(name) > MAX_NAME_LENGTH:
        raise TrainingInputError("name", f"the name is longer than {MAX_NAME_LENGTH} characters")
    if TrainingTask.objects.filter(name=name).exists():
        raise TrainingInputError("name", f"a training task named {name!r} already exists")
    try:
        dataset = dataset_named(dataset_name)
    except DatasetNotFound as exc:
        raise TrainingInputError("dataset", str(exc)) from None
    if source not in TaskSource.values:
        raise TrainingInputError("source", f"unknown source {source!r}; expected one of {', '.join(TaskSource.values)}")

    fields = {"offset_start": None, "offset_end": None, "node_wnid": "", "wnids": []}
    if source == TaskSource.SLICE:
        fields["offset_start"], fields["offset_end"] = _offsets(offset_start, offset_end)
        image_ids = _slice_image_ids(dataset, fields["offset_start"], fields["offset_end"])
        what = f"offsets {fields['offset_start']} to {fields['offset_end']}"
    elif source == TaskSource.CLASSES:
        fields["node_wnid"] = _node(node_wnid)
        classes = taxonomy.descendant_classes(fields["node_wnid"])
        image_ids = _class_image_ids(dataset, classes)
        what = f"the {len(classes)} classes under {fields['node_wnid']} ({taxonomy.label(fields['node_wnid'])})"
    else:
        fields["wnids"] = _confusion_group(wnids)
        image_ids = _class_image_ids(dataset, fields["wnids"])
        what = f"the classes {', '.join(fields['wnids'])}"
    if not image_ids:
        raise TrainingInputError("images", f"dataset {dataset.name!r} has no image with a file for {what}")

    shuffled = source != TaskSource.SLICE if shuffle is None else bool(shuffle)
    if shuffled:
        random.Random(name).shuffle(image_ids)
    try:
        with transaction.atomic():
            return TrainingTask.objects.create(
                name=name,
                description=(description or "").strip(),
                instructions=(instructions or "").strip() or DEFAULT_INSTRUCTIONS,
                source=source,
                dataset=dataset,
                shuffled=shuffled,
                image_ids=image_ids,
                image_count=len(image_ids),
                created_by=created_by,
                **fields,
            )
    except IntegrityError:
        raise TrainingInputError("name", f"a training task named {name!r} already exists") from None


def _offsets(start, end):
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError):
        raise TrainingInputError("offset", "a slice needs integer offsets start and end (end exclusive)") from None
    if not 0 <= start < end:
        raise TrainingInputError("offset", f"offsets {start}:{end} are not a range: need 0 <= start < end")
    if end > MAX_OFFSET:
        raise TrainingInputError("offset", f"offset {end} is too large: at most {MAX_OFFSET}")
    return start, end


def _slice_image_ids(dataset, start, end):
    """The images at offsets [start, end) of the dataset in position order, less those without files."""
    rows = Image.objects.filter(dataset=dataset).order_by("position").values_list("pk", "file")[start:end]
    return [pk for pk, file in rows if file]


def _node(wnid):
    wnid = (wnid or "").strip()
    if not wnid:
        raise TrainingInputError("node_wnid", "a class subset needs the wnid of a hierarchy node, e.g. n02084071 (dog)")
    if not taxonomy.exists(wnid):
        raise TrainingInputError("node_wnid", f"{wnid!r} is not a synset of the class hierarchy")
    return wnid


def _confusion_group(wnids):
    wnids = list(dict.fromkeys(parse_wnids(wnids)))
    unknown = [wnid for wnid in wnids if not taxonomy.is_class(wnid)]
    if unknown:
        raise TrainingInputError("wnids", f"not ImageNet classes: {', '.join(unknown)}")
    if len(wnids) < 2:
        raise TrainingInputError("wnids", "a confusion group needs at least two class wnids")
    return wnids


def _class_image_ids(dataset, classes):
    reviewed_correct = ReviewItem.objects.filter(image=OuterRef("pk"), wnid__in=classes, verdict=Verdict.CORRECT)
    images = (
        Image.objects.filter(dataset=dataset)
        .exclude(file="")
        .filter(Q(original_wnid__in=classes) | Exists(reviewed_correct))
        .order_by("position")
    )
    return list(images.values_list("pk", flat=True))


def record_answer(*, task, trainee, image_id, wnid, seconds_taken=None, at=None):
    """Record a trainee's label for one image of a task, judged against the image's labels right now.

    seconds_taken: how long the image was on screen (measured by the browser, whose clock may differ
    from ours). Returns (answer, labels). Each image of a task is answered once per trainee.
    """
    at = at or timezone.now()
    if seconds_taken is not None and not 0 <= seconds_taken <= MAX_SECONDS_TAKEN:
        raise TrainingInputError("seconds_taken", f"seconds_taken must be between 0 and {MAX_SECONDS_TAKEN}")
    if not taxonomy.is_class(wnid):
        raise TrainingInputError("wnid", f"{wnid!r} is not an ImageNet class wnid")
    try:
        position = task.image_ids.index(image_id)
    except ValueError:
        raise TrainingInputError("image", f"image {image_id} is not part of task {task.name!r}") from None
    started_at = at - timedelta(seconds=seconds_taken or 0)
    image = Image.objects.only("pk", "original_wnid").get(pk=image_id)
    labels = image_labels([image], blind=access.blind_image_ids(trainee, [image.pk]))[image.pk]
    try:
        with transaction.atomic():
            answer = TrainingAnswer.objects.create(
                task=task,
                trainee=trainee,
                image=image,
                position=position,
                wnid=wnid,
                correct=labels.judge(wnid),
                expected_wnid=labels.expected,
                started_at=started_at,
                answered_at=at,
            )
    except IntegrityError:
        raise TrainingInputError("image", f"you already answered image {image_id} in this task") from None
    return answer, labels


def suggest_from_answer(*, answer, kind, reason="", note=""):
    """The feedback panel's suggestions: the trainee's label as correct, or the image as problematic.

    Either puts the image back in the reviewers' queue with the suggestion attached.
    """
    if kind == SuggestionKind.LABEL_CORRECT:
        if answer.correct:
            raise TrainingInputError("kind", "your label is already among the correct labels")
        return annotate_services.suggest_label(
            image_id=answer.image_id, wnid=answer.wnid, user=answer.trainee, note=note
        )
    if kind == SuggestionKind.PROBLEMATIC:
        try:
            return annotate_services.suggest_problematic(
                image_id=answer.image_id, reason=reason, note=note, user=answer.trainee
            )
        except ValueError as exc:
            raise TrainingInputError("reason", str(exc)) from exc
    raise TrainingInputError("kind", f"unknown suggestion {kind!r}; expected one of {', '.join(SuggestionKind.values)}")
