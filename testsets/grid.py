"""The grid page's server side: which selection-frequency task an annotator answers next, their progress, and the
task images, served under opaque tokens and all resized to one size so that the controls look like the candidates."""

import io

from django.db import connection
from django.db.models import Count, F, Q
from django.http import Http404
from django.urls import reverse
from PIL import Image as PILImage
from PIL import ImageOps

import taxonomy
from annotate import access
from annotate.served_files import cached_rendition
from testsets.models import Assignment, FrequencyTask, TaskImage

# ImageNetV2 resized every image to the most common size of ImageNet's validation images. Letterboxed, not cropped:
# a crop could cut away the very object the annotator is asked about.
TASK_IMAGE_SIZE = (500, 375)
LETTERBOX_COLOR = (128, 128, 128)
JPEG_QUALITY = 85
# Tokens never change what they name: browsers may keep the image a week.
TASK_IMAGE_MAX_AGE = 7 * 86400
# The tasks a client may ask to leave out of the next one: the one on its screen, and one or two it holds.
MAX_SKIPPED = 10
# Tokens are hexadecimal: this one is none.
TOKEN_PLACEHOLDER = "token"
INSTRUCTIONS = (
    "Select every image that contains at least one object of this class, regardless of occlusion, other objects, "
    "clutter or text in the image. Do not select drawings, paintings or renders of it."
)


def _open_tasks(testset, annotator):
    """(SQL, params) of the rows (id, number, wnid, answered) of the test set's tasks the annotator may answer now:
    not answered by them, wanting more assignments, and holding no image closed to them (annotate.access: an open
    evaluation phase's images, whose class a positive control would tell).

    A task's assignments are counted in its `answered` as they are written: the open tasks are read along the
    frequency_task_open index, whatever the number of assignments the test set holds."""
    task, task_image, assignment = (
        connection.ops.quote_name(model._meta.db_table) for model in (FrequencyTask, TaskImage, Assignment)
    )
    params = [testset.pk, annotator.pk]
    closed = access.closed_image_ids(annotator)
    unseen = ""
    if not closed.query.is_empty():
        closed_sql, closed_params = closed.query.sql_with_params()
        unseen = (
            f"AND NOT EXISTS (SELECT 1 FROM {task_image} i WHERE i.task_id = t.id AND i.image_id IN ({closed_sql}))"
        )
        params += closed_params
    sql = f"""SELECT t.id, t.number, t.wnid, t.answered FROM {task} t
        WHERE t.testset_id = %s AND t.answered < t.assignments_wanted
        AND NOT EXISTS (SELECT 1 FROM {assignment} m WHERE m.task_id = t.id AND m.annotator_id = %s)
        {unseen}"""
    return sql, params


def holds_closed_image(task, annotator):
    """Whether the task holds an image closed to the annotator: the check of _open_tasks, for a task asked for by
    id (its answer reads as that of a missing task)."""
    closed = access.closed_image_ids(annotator)
    return not closed.query.is_empty() and TaskImage.objects.filter(task=task, image_id__in=closed).exists()


def _answered_sql():
    """(SQL, its parameters but the test set's and the annotator's) of the number of the test set's tasks the
    annotator answered, along the assignment_annotator index."""
    task, assignment = (connection.ops.quote_name(model._meta.db_table) for model in (FrequencyTask, Assignment))
    return f"""SELECT COUNT(*) FROM {assignment} a JOIN {task} t ON t.id = a.task_id
        WHERE a.annotator_id = %s AND t.testset_id = %s"""


def next_task(testset, annotator, skip=()):
    """(the task the annotator answers next, their progress_data): an open task with the fewest assignments, but
    for those in `skip` (the ones the client holds already); None when no other is left. One query: the open tasks
    are counted by a window over the rows the task is chosen from.

    Among the tasks with the fewest assignments, each annotator goes in an order of their own (the task ids hashed
    with the annotator's id as seed): annotators working at once get different tasks, where one order for all would
    hand each task to everyone working then, and it would get as many answers as there are annotators, not the
    number it wants."""
    open_sql, open_params = _open_tasks(testset, annotator)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT chosen.id, chosen.number, chosen.wnid, COALESCE(chosen.open_count, 0), mine.answered
            FROM ({_answered_sql()}) AS mine (answered) LEFT JOIN LATERAL (
                SELECT id, number, wnid, COUNT(*) OVER () AS open_count FROM ({open_sql}) AS open_tasks
                ORDER BY id = ANY(%s), answered, hashint8extended(id, %s) LIMIT 1
            ) AS chosen ON TRUE""",
            [annotator.pk, testset.pk, *open_params, list(skip), annotator.pk],
        )
        pk, number, wnid, open_count, answered = cursor.fetchone()
    task = None if pk is None or pk in skip else FrequencyTask(pk=pk, testset=testset, number=number, wnid=wnid)
    return task, progress_data(answered, open_count)


def progress_data(answered, open_count):
    """The figures of "12 of 40 tasks": answered so far, and available (answered plus those open to them now)."""
    available = answered + open_count
    return {"answered": answered, "available": available, "text": f"{answered} of {available} tasks"}


def progress(testset, annotator):
    """The annotator's progress_data as it stands now (after a submit, say), in one query."""
    open_sql, open_params = _open_tasks(testset, annotator)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ({_answered_sql()}), (SELECT COUNT(*) FROM ({open_sql}) AS open_tasks)",
            [annotator.pk, testset.pk, *open_params],
        )
        answered, open_count = cursor.fetchone()
    return progress_data(answered, open_count)


def task_data(task):
    """A task as the grid shows it: its class, and its images by token in their order. Nothing tells a control from
    a candidate."""
    synset = taxonomy.get(task.wnid) if taxonomy.exists(task.wnid) else None
    tokens = TaskImage.objects.filter(task=task).order_by("position").values_list("token", flat=True)
    # reverse() once, not once per image: it costs a millisecond or two here.
    url = reverse("testset-task-image", args=[TOKEN_PLACEHOLDER])
    return {
        "id": task.pk,
        "number": task.number,
        "synset": {
            "wnid": task.wnid,
            "words": list(synset.words) if synset else [task.wnid],
            "gloss": synset.gloss if synset else "",
            "guide_url": reverse("guide-class", args=[task.wnid]),
        },
        "images": [{"token": token, "url": url.replace(TOKEN_PLACEHOLDER, token)} for token in tokens],
    }


def next_task_answer(testset, annotator, skip=()):
    """What the next-task API answers and the grid page starts from: the task (None when none is left), the
    instructions and the annotator's progress."""
    task, progress_now = next_task(testset, annotator, skip)
    answer = {"task": task_data(task) if task else None, "instructions": INSTRUCTIONS, "progress": progress_now}
    if task is None:
        answer["detail"] = _why_no_task(
            testset, progress_now, held=bool(skip) and progress_now["available"] > progress_now["answered"]
        )
    return answer


def _why_no_task(testset, progress_now, *, held):
    """Why no task is left for the annotator: the test set has none, every task has its answers, or they answered
    (or hold) every task still open to them; never that they answered tasks they were not shown."""
    figures = FrequencyTask.objects.filter(testset=testset).aggregate(
        tasks=Count("pk"), wanting=Count("pk", filter=Q(answered__lt=F("assignments_wanted")))
    )
    if not figures["tasks"]:
        return f"{testset.name} has no tasks yet: there is nothing to answer until an admin creates them."
    if not figures["wanting"] and not held:
        return f"Every task of {testset.name} has all the answers it wants: there is nothing left to answer."
    why = (
        "you answered every task still open to you"
        if progress_now["answered"]
        else "no task that still wants answers is open to you now"
    )
    return f"No task is left for you in {testset.name}: {why}" + (" but the one you hold." if held else ".")


def task_image_jpeg(token, user):
    """The JPEG of the task image with this token (task_jpeg). A missing token and an image closed to the user read
    the same (404)."""
    task_image = (
        TaskImage.objects.select_related("image")
        .only("pk", "image__id", "image__file", "image__sha256")
        .filter(token=token)
        .first()
    )
    if task_image is None or access.is_closed(user, task_image.image_id):
        raise Http404("No such task image.")
    if not task_image.image.file:
        raise Http404("This image's file has not arrived yet.")
    return task_jpeg(task_image.image)


def task_jpeg(image):
    """An image (its file and sha256 loaded) as every task shows it: letterboxed to TASK_IMAGE_SIZE, kept in storage
    after the first time. Whatever makes tasks may call it ahead, so that no annotator waits for a resize."""
    width, height = TASK_IMAGE_SIZE
    # By content, not by token: a control image shown in many tasks is resized once.
    return cached_rendition(
        image, f"task-images/{width}x{height}", lambda data: letterboxed_jpeg(data, TASK_IMAGE_SIZE)
    )


def letterboxed_jpeg(data, size):
    """The image scaled, up or down, to fit `size` whole, centred on a grey canvas of exactly `size`; upright (EXIF
    orientation applied), with no metadata."""
    with PILImage.open(io.BytesIO(data)) as original:
        original.draft("RGB", size)  # a JPEG decodes at a fraction of its size: much faster for large photos
        upright = ImageOps.exif_transpose(original).convert("RGB")
    scale = min(size[0] / upright.width, size[1] / upright.height)
    fitted_size = (max(1, round(upright.width * scale)), max(1, round(upright.height * scale)))
    # reducing_gap: a cheap box reduction first where the image is much larger, then Lanczos.
    fitted = upright.resize(fitted_size, PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = PILImage.new("RGB", size, LETTERBOX_COLOR)
    canvas.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
