"""Reads of training: task lists with progress, the next image to label, an image's correct labels."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Q

import taxonomy
from annotate import access
from annotate.models import DECIDED_VERDICTS, Image, ReviewItem, Suggestion, Verdict
from training.models import PART_SIZE, TrainingAnswer, TrainingTask


@dataclass(frozen=True)
class ImageLabels:
    """What counts as a right answer for one image.

    correct: the wnids a trainee's label must be among. unclear: reviewed as unclear (shown apart,
    never counted correct). source: "reviewed" (the multi-label annotation), "blind" (the original label, as
    reviewers answer the image blind and the trainee may not see what they said) or "original" (the
    original label, for an image nobody has reviewed enough to say otherwise).

    A reviewed image without a correct label has no valid label (as in Shankar et al. 2020, it is problematic
    for scoring): no answer on it is right or wrong, and it counts in no accuracy.
    """

    correct: tuple
    unclear: tuple
    source: str
    expected: str  # the main correct label: the true side of a confusion; "" without a valid label

    @property
    def has_valid_label(self):
        return bool(self.correct)

    def judge(self, wnid):
        """Whether a label is right: True, False, or None where the image has no valid label."""
        return wnid in self.correct if self.has_valid_label else None


def image_labels(images, blind=frozenset()):
    """ImageLabels per image id for Image objects (their original_wnid loaded), in one query.

    The multi-label annotation decides once the image has a label reviewed as correct, or once its
    original label was reviewed as wrong or unclear (then, with no label correct, the image has no valid
    label). Otherwise, with nothing reviewed yet or only other candidates turned down, the original label is
    the answer. So it is for the images in `blind`, whose reviewers' answers the trainee may not see
    (annotate.access).
    """
    originals = {image.pk: image.original_wnid for image in images}
    reviewed = {image_id: {} for image_id in originals}
    decided = ReviewItem.objects.filter(image_id__in=originals, verdict__in=DECIDED_VERDICTS).order_by(
        "image_id", "-is_original", "-model_count", "wnid"
    )
    for image_id, wnid, verdict in decided.values_list("image_id", "wnid", "verdict"):
        reviewed[image_id][wnid] = verdict
    labels = {}
    for image_id, original in originals.items():
        if image_id in blind:
            labels[image_id] = ImageLabels((original,), (), "blind", original)
            continue
        verdicts = reviewed[image_id]
        correct = tuple(wnid for wnid, verdict in verdicts.items() if verdict == Verdict.CORRECT)
        unclear = tuple(wnid for wnid, verdict in verdicts.items() if verdict == Verdict.UNCLEAR)
        if correct or original in verdicts:
            expected = original if original in correct else (correct[0] if correct else "")
            labels[image_id] = ImageLabels(correct, unclear, "reviewed", expected)
        else:
            labels[image_id] = ImageLabels((original,), unclear, "original", original)
    return labels


def label_data(wnid):
    synset = taxonomy.get(wnid)
    return {"wnid": wnid, "label": synset.label, "words": list(synset.words), "gloss": synset.gloss}


# --- progress ------------------------------------------------------------------------------------------

# How a group of answers counts: all of them, those scored (their image had a valid label), the right ones.
ANSWER_COUNTS = {
    "answered": Count("pk"),
    "scored": Count("pk", filter=Q(correct__isnull=False)),
    "right": Count("pk", filter=Q(correct=True)),
}


def accuracy(right, scored):
    """The share of scored answers that are right; None before any."""
    return right / scored if scored else None


def part_size(task, part):
    """Images in a part: PART_SIZE, or fewer in a task's last part."""
    return max(0, min(PART_SIZE, task.image_count - part * PART_SIZE))


def answers_per_part(trainee, task_ids):
    """{task id: {part: (answered, scored, correct)}} for the trainee, in one grouped query."""
    rows = (
        TrainingAnswer.objects.filter(trainee=trainee, task_id__in=task_ids)
        .annotate(part=F("position") / PART_SIZE)
        .values("task_id", "part")
        .annotate(**ANSWER_COUNTS)
        .order_by()
    )
    parts = {task_id: {} for task_id in task_ids}
    for row in rows:
        parts[row["task_id"]][row["part"]] = (row["answered"], row["scored"], row["right"])
    return parts


def progress(task, parts):
    """The figures of "Completed 100 out of 236 images (10 out of 24 parts)" and the trainee's accuracy."""
    answered = sum(n for n, _, _ in parts.values())
    scored = sum(n for _, n, _ in parts.values())
    correct = sum(right for _, _, right in parts.values())
    parts_done = sum(1 for part, (n, _, _) in parts.items() if n >= part_size(task, part))
    return {
        "images": task.image_count,
        "answered": answered,
        "scored": scored,
        "correct": correct,
        "accuracy": accuracy(correct, scored),
        "parts": task.part_count,
        "parts_done": parts_done,
        "finished": answered >= task.image_count,
        "text": f"Completed {answered} out of {task.image_count} images ({parts_done} out of {task.part_count} parts)",
    }


def task_progress(task, trainee):
    return progress(task, answers_per_part(trainee, [task.pk])[task.pk])


def tasks_with_progress(trainee):
    """Every task (without its image list) with the trainee's progress, in two queries."""
    tasks = list(TrainingTask.objects.defer("image_ids").select_related("dataset"))
    parts = answers_per_part(trainee, [task.pk for task in tasks])
    for task in tasks:
        task.progress = progress(task, parts[task.pk])
    return tasks


def task_or_none(pk, with_images=True):
    tasks = TrainingTask.objects.select_related("dataset")
    if not with_images:
        tasks = tasks.defer("image_ids")
    return tasks.filter(pk=pk).first()


def next_position(task, trainee, withheld=frozenset()):
    """Where the trainee goes on: the first image of the task not answered yet and not `withheld` (ids of images
    the trainee must not see labels of now), or None."""
    answered = set(
        TrainingAnswer.objects.filter(trainee=trainee, task=task).values_list("position", flat=True).order_by()
    )
    return next(
        (
            position
            for position, image_id in enumerate(task.image_ids)
            if position not in answered and image_id not in withheld
        ),
        None,
    )


def image_to_label(task, position):
    """The image at a position of the task, with only what the labeling screen may see of it."""
    return Image.objects.only("pk", "file", "width", "height").get(pk=task.image_ids[position])


# --- feedback -----------------------------------------------------------------------------------------


def answer_feedback(answer, labels, part_answers=None):
    """What the feedback panel shows after an answer (labels: the ImageLabels it was judged against)."""
    task = answer.task
    part = answer.position // PART_SIZE
    if part_answers is None:
        part_answers = answers_per_part(answer.trainee, [task.pk])[task.pk]
    answered, scored, right = part_answers.get(part, (0, 0, 0))
    size = part_size(task, part)
    open_suggestions = Suggestion.objects.filter(
        image_id=answer.image_id, suggested_by=answer.trainee, resolved_at__isnull=True
    ).values_list("kind", flat=True)
    return {
        "answer": answer.pk,
        "image": answer.image_id,
        "position": answer.position,
        "correct": answer.correct,
        "your_label": label_data(answer.wnid),
        "has_valid_label": labels.has_valid_label,
        "your_label_unclear": answer.wnid in labels.unclear,
        "correct_labels": [label_data(wnid) for wnid in labels.correct],
        "unclear_labels": [label_data(wnid) for wnid in labels.unclear],
        "labels_source": labels.source,
        "suggested": sorted(set(open_suggestions)),
        "part": {
            "number": part + 1,
            "of": task.part_count,
            "size": size,
            "answered": answered,
            "scored": scored,
            "correct": right,
            "done": answered >= size,
        },
        "progress": progress(task, part_answers),
    }


def answers_of(trainee, task, viewer):
    """The trainee's answers in a task, in task order, with the images' files; none on images closed to the
    `viewer` (annotate.access)."""
    return (
        TrainingAnswer.objects.filter(trainee=trainee, task=task)
        .exclude(image_id__in=access.closed_image_ids(viewer))
        .select_related("image")
        .only("pk", "position", "wnid", "correct", "expected_wnid", "answered_at", "image__id", "image__file")
        .order_by("position")
    )


# --- who appears on the statistics page -----------------------------------------------------------------


def trainees_with_answers():
    """Everyone who has answered a training image, by name."""
    answered = TrainingAnswer.objects.filter(trainee=OuterRef("pk"))
    return get_user_model().objects.filter(Exists(answered)).order_by("username").only("pk", "username")


def overview():
    """Per trainee and task: answers, scored and correct answers (for the admins' view of everyone)."""
    return list(
        TrainingAnswer.objects.values("trainee__username", "task_id", "task__name")
        .annotate(**ANSWER_COUNTS)
        .order_by("trainee__username", "task__name")
    )
