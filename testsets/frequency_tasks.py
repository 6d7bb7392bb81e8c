"""Selection-frequency tasks of a test set: creating them (candidates with hidden controls, and the tasks that give
the reference images their annotations), exporting them for an outside crowd, taking assignments (the grid page's
submit, one at a time; an import of a crowd's answers, in bulk), and the frequencies and annotator quality they give.

Frequencies live in SelectionFrequency: recount_frequencies rebuilds a test set's whole table from its assignments
(testsets.frequencies does the counting); submit_assignment moves the rows of its task's images by one assignment.
The two agree: a submit adds exactly what a recount would count for it.
"""

import functools
import math
import secrets
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

import taxonomy
from accounts import roles
from accounts.services import annotator_accounts
from annotate.bulk import (
    Coded,
    coded_sql,
    foreign_keys_checked_at_end,
    indexes_built_at_end,
    insert_columns,
    insert_rows,
    read_columns,
    read_int_columns,
    update_columns,
)
from annotate.errors import ImportFailed
from annotate.models import Image, Prediction
from config.exceptions import ConflictError, DomainError, NotFoundError
from interchange import checks
from taxonomy.wnids import WNID_LENGTH
from testsets import frequencies
from testsets.models import (
    Assignment,
    AssignmentSource,
    Candidate,
    FrequencyTask,
    ImageRole,
    SelectionFrequency,
    TaskImage,
    TestSet,
)
from testsets.selectors import testset_named

# A task image's role by its code in testsets.frequencies. In a task run for the reference, its reference images
# take the "candidate" places: measured, not scored.
ROLE_CODES = {
    ImageRole.CANDIDATE: frequencies.MEASURED,
    ImageRole.POSITIVE: frequencies.POSITIVE,
    ImageRole.NEGATIVE: frequencies.NEGATIVE,
}
# The roles in the order of their codes (0, 1, 2), as Coded columns and coded_sql take them.
ROLES = sorted(ROLE_CODES, key=ROLE_CODES.get)
MAX_TASK_IMAGES = 200
MAX_ANNOTATORS = 1000
EXPORT_CHUNK_TASKS = 500
ROWS_PER_READ = 10_000
SHOWN_PROBLEMS = 20
SELECTION_KEYS = ("task", "annotator", "selected")
SELECTION_OPTIONAL_KEYS = ("started_at", "submitted_at")
# How far ahead of the server's clock a browser's may run for the grid's started_at.
CLOCK_SKEW = timedelta(minutes=5)


class TaskShape(NamedTuple):
    """What each task holds and how many answers it wants (create_frequency_tasks' parameters)."""

    per_task: int
    positive: int
    negative: int
    annotators: int
    min_reference: int

    @property
    def measured(self):
        """Places for the images a task measures."""
        return self.per_task - self.positive - self.negative


class PlannedTask(NamedTuple):
    wnid: str
    for_reference: bool
    images: np.ndarray  # image ids in position order
    roles: np.ndarray  # their role codes


class ClassReference(NamedTuple):
    """What a class's tasks take from the reference: its images, the annotations each has or expects (raised as
    tasks are planned), and the images of its most similar class."""

    images: np.ndarray
    annotations: np.ndarray
    similar: np.ndarray


def _lock(testset, *, no_key=False):
    """Lock the test set's row against others writing its tasks or frequencies: a recount or an import excludes
    everyone, submits included (each takes a key-share lock on the row, which submits share); creating tasks
    (`no_key`) excludes only itself."""
    TestSet.objects.select_for_update(no_key=no_key).filter(pk=testset.pk).first()


def _whole(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(f"{name.replace('_', ' ')} must be a whole number {low}-{high}, not {value!r}", field=name)
    return value


def _task_shape(*, per_task, positive_controls, negative_controls, annotators, min_reference):
    shape = TaskShape(
        per_task=_whole(per_task, "per_task", 1, MAX_TASK_IMAGES),
        positive=_whole(positive_controls, "positive_controls", 0, MAX_TASK_IMAGES),
        negative=_whole(negative_controls, "negative_controls", 0, MAX_TASK_IMAGES),
        annotators=_whole(annotators, "annotators", 1, MAX_ANNOTATORS),
        min_reference=_whole(min_reference, "min_reference", 0, 100_000),
    )
    if shape.measured < 1:
        raise DomainError(
            f"a task of {per_task} images has no place left for candidates beside {positive_controls} positive "
            f"and {negative_controls} negative controls",
            field="per_task",
        )
    return shape


def create_frequency_tasks(
    *, testset_name, per_task=48, positive_controls=3, negative_controls=3, annotators=10, min_reference=20, seed=0
):
    """New tasks for the test set, each asking `annotators` people to select the images of one class:
    - per class, its eligible candidates (not blacklisted, with fewer than `annotators` annotations counted or still
      expected from open tasks) in tasks of per_task - positive - negative candidates beside `positive_controls`
      reference images of the class and `negative_controls` of its most similar class (most_similar_classes); a
      class's last, short task is filled up with more controls of both kinds, as far as the reference has them;
    - then, per class whose reference images would not otherwise reach `min_reference` images with `annotators`
      annotations, tasks whose measured places hold reference images of the class short of annotations (as many
      tasks as needed, filled), with controls as above. Positive controls are always the reference images of the
      class with the fewest annotations so far, so that the controls themselves spread annotations over the
      reference, and these tasks are only needed for what is left.
    Positions are shuffled (`seed`); each image gets a random token. Returns a summary."""
    testset = testset_named(testset_name)
    shape = _task_shape(
        per_task=per_task,
        positive_controls=positive_controls,
        negative_controls=negative_controls,
        annotators=annotators,
        min_reference=min_reference,
    )
    rng = np.random.default_rng(seed)
    with transaction.atomic():
        _lock(testset, no_key=True)
        classes = sorted(set(Candidate.objects.filter(testset=testset).values_list("wnid", flat=True)))
        expected = _annotations_expected(testset)
        candidates = defaultdict(list)
        for image, wnid in (
            Candidate.objects.filter(testset=testset, blacklist_reason="")
            .order_by("image_id")
            .values_list("image_id", "wnid")
        ):
            if expected.get((image, wnid), 0) < shape.annotators:
                candidates[wnid].append(image)
        reference = defaultdict(list)
        for image, wnid in (
            Image.objects.filter(dataset=testset.reference).order_by("pk").values_list("pk", "original_wnid")
        ):
            reference[wnid].append(image)
        similar = most_similar_classes(testset.reference, classes)
        tasks = []
        for wnid in classes:
            own = reference.get(wnid, [])
            class_reference = ClassReference(
                images=np.array(own, dtype=np.int64),
                annotations=np.array([expected.get((image, wnid), 0) for image in own], dtype=np.int64),
                similar=np.array(reference.get(similar[wnid], []), dtype=np.int64),
            )
            tasks += _plan_class_tasks(wnid, np.array(candidates[wnid], dtype=np.int64), class_reference, shape, rng)
        _write_tasks(testset, tasks, shape.annotators)
    kinds = Counter("reference" if task.for_reference else "candidates" for task in tasks)
    summary = {
        "testset": testset.name,
        "tasks": {"candidates": kinds["candidates"], "reference": kinds["reference"]},
        "images": sum(len(task.images) for task in tasks),
        "candidates": sum(len(images) for images in candidates.values()),
        "classes": len({task.wnid for task in tasks}),
        "short_of_reference": {
            wnid: len(reference.get(wnid, [])) for wnid in classes if len(reference.get(wnid, [])) < shape.min_reference
        },
    }
    if not tasks:
        summary["why_none"] = _why_no_tasks(testset, shape)
    return summary


def _why_no_tasks(testset, shape):
    """Why create_frequency_tasks made no task: no candidates, or none eligible (blacklisted, or with the
    annotations wanted counted or still awaited from open tasks) and every class's reference images in hand."""
    figures = Candidate.objects.filter(testset=testset).aggregate(
        total=Count("pk"), blacklisted=Count("pk", filter=~Q(blacklist_reason=""))
    )
    if not figures["total"]:
        return f"test set {testset.name!r} has no candidates yet: import some first"
    others = figures["total"] - figures["blacklisted"]
    return (
        f"no candidate needs a task: of the {figures['total']:,} candidates, {figures['blacklisted']:,} are "
        f"blacklisted and the other {others:,} have {shape.annotators} annotations counted or awaited from open tasks; "
        f"the reference images need none either (at most {shape.min_reference} per class, as far as the reference "
        "has them)"
    )


def _annotations_expected(testset):
    """{(image id, wnid): annotations counted in its frequency plus those its open tasks still want}, where a task is
    open while it has fewer assignments than it wants."""
    frequency, task, task_image, assignment = (
        model._meta.db_table for model in (SelectionFrequency, FrequencyTask, TaskImage, Assignment)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT image_id, wnid, SUM(expected) FROM (
                SELECT image_id, wnid, annotations AS expected FROM {frequency} WHERE testset_id = %s
                UNION ALL
                SELECT ti.image_id, t.wnid, t.assignments_wanted - t.answered
                FROM {task_image} ti JOIN (
                    SELECT t.id, t.wnid, t.assignments_wanted, COUNT(a.id) AS answered
                    FROM {task} t LEFT JOIN {assignment} a ON a.task_id = t.id
                    WHERE t.testset_id = %s
                    GROUP BY t.id
                    HAVING COUNT(a.id) < t.assignments_wanted
                ) t ON ti.task_id = t.id
            ) AS expected GROUP BY image_id, wnid""",
            [testset.pk, testset.pk],
        )
        return {(image, wnid): count for image, wnid, count in cursor.fetchall()}


def _plan_class_tasks(wnid, candidates, reference, shape, rng):
    """The PlannedTasks of one class (see create_frequency_tasks): `candidates` its eligible pool images,
    `reference` a ClassReference."""
    tasks = [
        _planned(wnid, chunk, np.array([], dtype=np.intp), reference, shape, rng)
        for chunk in _chunks(rng.permutation(candidates), shape.measured)
    ]
    annotations = reference.annotations
    missing = min(shape.min_reference, len(annotations)) - int((annotations >= shape.annotators).sum())
    if missing > 0:
        short = np.flatnonzero(annotations < shape.annotators)
        # Those nearest to enough annotations first; ties at random.
        short = short[np.lexsort((rng.random(len(short)), -annotations[short]))]
        for chunk in _chunks(short[: math.ceil(missing / shape.measured) * shape.measured], shape.measured):
            annotations[chunk] += shape.annotators
            tasks.append(_planned(wnid, reference.images[chunk], chunk, reference, shape, rng))
    return tasks


def _chunks(values, size):
    return [values[start : start + size] for start in range(0, len(values), size)]


def _planned(wnid, measured, measured_reference, reference, shape, rng):
    """A task of the `measured` images with its controls, positions shuffled. A short task is filled up with more
    controls, positive and negative in the proportion asked for. `measured_reference`: the indices in the
    ClassReference `reference` of the measured images when they are its own (a task for the reference), which then
    cannot be controls of the same task."""
    positive, negative = shape.positive, shape.negative
    room = shape.measured - len(measured)
    if room and positive + negative:
        extra_positive = math.ceil(room * positive / (positive + negative))
        positive, negative = positive + extra_positive, negative + room - extra_positive
    annotations = reference.annotations
    allowed = np.setdiff1d(np.arange(len(annotations)), measured_reference)
    # The reference images of the class with the fewest annotations; ties at random.
    positives = allowed[np.lexsort((rng.random(len(allowed)), annotations[allowed]))][:positive]
    annotations[positives] += shape.annotators
    negatives = rng.choice(reference.similar, size=min(negative, len(reference.similar)), replace=False)
    images = np.concatenate([measured, reference.images[positives], negatives]).astype(np.int64)
    roles = np.repeat(
        [frequencies.MEASURED, frequencies.POSITIVE, frequencies.NEGATIVE],
        [len(measured), len(positives), len(negatives)],
    ).astype(np.int8)
    order = rng.permutation(len(images))
    return PlannedTask(wnid, len(measured_reference) > 0, images[order], roles[order])


def _write_tasks(testset, tasks, annotators):
    if not tasks:
        return
    first = (FrequencyTask.objects.filter(testset=testset).aggregate(last=Max("number"))["last"] or 0) + 1
    created = FrequencyTask.objects.bulk_create(
        [
            FrequencyTask(testset=testset, number=first + i, wnid=task.wnid, assignments_wanted=annotators)
            for i, task in enumerate(tasks)
        ],
        batch_size=2000,
    )
    sizes = np.array([len(task.images) for task in tasks])
    total = int(sizes.sum())
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    with foreign_keys_checked_at_end(TaskImage), indexes_built_at_end({TaskImage: total}):
        insert_columns(
            TaskImage,
            {
                "task": np.repeat(np.array([task.pk for task in created], dtype=np.int64), sizes),
                "position": np.arange(total) - starts,
                "image": np.concatenate([task.images for task in tasks]),
                "role": Coded(np.concatenate([task.roles for task in tasks]), ROLES),
                "token": Coded(np.arange(total), [secrets.token_hex(16) for _ in range(total)]),
            },
        )


def most_similar_classes(reference, classes):
    """{wnid: the class of the reference dataset its negative controls come from, or None where the reference has
    no other class}: the class that models' top-1 predictions give its reference images most often (a plain count
    over every model; ties to the smaller wnid), or, for a class without such confusions, the nearest class in the
    WordNet hierarchy (nearest_class)."""
    available = set(Image.objects.filter(dataset=reference).values_list("original_wnid", flat=True).distinct())
    confusions = (
        Prediction.objects.filter(image__dataset=reference)
        .exclude(top1_wnid=F("image__original_wnid"))
        .values_list("image__original_wnid", "top1_wnid")
        .annotate(count=Count("pk"))
    )
    confused = defaultdict(dict)
    for wnid, predicted, count in confusions:
        if predicted in available:
            confused[wnid][predicted] = count
    return {
        wnid: min(confused[wnid], key=lambda other: (-confused[wnid][other], other))
        if confused[wnid]
        else nearest_class(wnid, available - {wnid})
        for wnid in classes
    }


def nearest_class(wnid, others):
    """Of the classes `others`, the one whose deepest common ancestor with wnid in the WordNet hierarchy is the
    deepest (depth: the longest path of hypernyms from the root; ties to the smaller wnid); None if there are none."""
    if not others:
        return None
    by_depth = defaultdict(list)
    for synset in (wnid, *taxonomy.ancestors(wnid)):
        by_depth[_depth(synset)].append(synset)
    for depth in sorted(by_depth, reverse=True):
        below = set().union(*(taxonomy.descendant_classes(synset) for synset in by_depth[depth])) & others
        if below:
            return min(below)
    return min(others)


@functools.cache
def _depth(wnid):
    parents = taxonomy.get(wnid).parents
    return 1 + max(map(_depth, parents)) if parents else 0


def export_frequency_tasks(testset):
    """The test set's open tasks (those still wanting assignments) by number, as {"task": id, "wnid": ..., "images":
    [{"token": ..., "file_name": ...}, ...]} in position order, read EXPORT_CHUNK_TASKS tasks at a time."""
    tasks = list(
        FrequencyTask.objects.filter(testset=testset, answered__lt=F("assignments_wanted"))
        .order_by("number")
        .values_list("pk", "wnid")
    )
    for start in range(0, len(tasks), EXPORT_CHUNK_TASKS):
        chunk = tasks[start : start + EXPORT_CHUNK_TASKS]
        images = defaultdict(list)
        for task, token, file_name in (
            TaskImage.objects.filter(task_id__in=[pk for pk, _ in chunk])
            .order_by("task_id", "position")
            .values_list("task_id", "token", "image__file_name")
        ):
            images[task].append({"token": token, "file_name": file_name})
        for pk, wnid in chunk:
            yield {"task": pk, "wnid": wnid, "images": images[pk]}


def submit_assignment(
    *, task, annotator, selected_tokens, started_at=None, submitted_at=None, source=AssignmentSource.WEB
):
    """Store an annotator's answer to a task (the tokens of the images they selected), scored on the task's
    controls and counted in the task's `answered`, and, if it counts under the test set's quality threshold, add it
    to the frequencies of the task's images. Refused for a token that is not the task's, a `started_at` after the
    submit (beyond CLOCK_SKEW; within it, taken as the submit time), when the annotator has answered the task
    already, and once the task has all the assignments it wants, even from an annotator it was served to while it
    was open (whoever submits first fills it)."""
    submitted_at = submitted_at or timezone.now()
    started_at = _started_before(started_at, submitted_at)
    frequency, task_table, task_image, testset, assignment = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (SelectionFrequency, FrequencyTask, TaskImage, TestSet, Assignment)
    )
    lock = " FOR KEY SHARE OF s" if connection.features.has_select_for_update_of else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT i.position, i.token, i.role, i.image_id, s.quality_threshold FROM {task_image} i, {testset} s
            WHERE i.task_id = %s AND s.id = %s{lock}""",
            [task.pk, task.testset_id],
        )
        rows = cursor.fetchall()
        if not rows:
            raise NotFoundError(f"task {task.number} has no images")
        positions = {token: position for position, token, *_ in rows}
        strangers = [token for token in selected_tokens if token not in positions]
        if strangers:
            raise DomainError(f"{strangers[0]!r} is not the token of an image of task {task.number}", field="selected")
        size = 1 + max(positions.values())
        selected = np.zeros(size, dtype=bool)
        selected[[positions[token] for token in selected_tokens]] = True
        roles = frequencies.role_grid(
            0, [position for position, *_ in rows], [ROLE_CODES[role] for _, _, role, *_ in rows], 1, size
        )
        controls, right = (int(count[0]) for count in frequencies.score_controls(roles, selected[None]))
        mask = frequencies.pack_selection(selected)
        # The task's answered counter moves in the statement that writes the assignment, only where it is written
        # and only while the task wants more: concurrent submits wait on the task's row, and each finds the count
        # the one before it left (PostgreSQL checks an UPDATE's WHERE again on the row it waited for).
        cursor.execute(
            f"""WITH answer AS (
                INSERT INTO {assignment}
                    (task_id, annotator_id, selected, controls, controls_right, source, started_at, submitted_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (task_id, annotator_id) DO NOTHING RETURNING id, task_id
            ), counted AS (
                UPDATE {task_table} SET answered = answered + 1
                WHERE id IN (SELECT task_id FROM answer) AND answered < assignments_wanted
                RETURNING id
            )
            SELECT answer.id, (SELECT id FROM counted) FROM answer""",
            [
                task.pk,
                annotator.pk,
                mask,
                controls,
                right,
                source,
                started_at,
                submitted_at,
            ],
        )
        created = cursor.fetchone()
        if created is None:
            raise ConflictError(f"{annotator.username} has answered task {task.number} already")
        if created[1] is None:
            # Leaving the transaction with the error takes the assignment just inserted back.
            raise ConflictError(
                f"task {task.number} has all the answers it wants: it takes no more, even from those it was "
                "shown to; your answer was not stored"
            )
        if frequencies.included(controls, right, rows[0][4]):
            # In image order, so that submits of tasks sharing images lock their rows in one order.
            moved = sorted((image, int(selected[position])) for position, _, _, image, _ in rows)
            cursor.execute(
                f"""INSERT INTO {frequency} AS f (testset_id, image_id, wnid, annotations, selected)
                VALUES {", ".join(["(%s, %s, %s, 1, %s)"] * len(moved))}
                ON CONFLICT (testset_id, image_id, wnid)
                DO UPDATE SET annotations = f.annotations + 1, selected = f.selected + excluded.selected""",
                [value for image, chosen in moved for value in (task.testset_id, image, task.wnid, chosen)],
            )
    return Assignment(
        pk=created[0],
        task=task,
        annotator=annotator,
        selected=mask,
        controls=controls,
        controls_right=right,
        source=source,
        started_at=started_at,
        submitted_at=submitted_at,
    )


def _started_before(started_at, submitted_at):
    """started_at, checked against the submit time: a browser's clock may run a little ahead of ours (up to
    CLOCK_SKEW, taken as the submit time), never more."""
    if started_at is None or started_at <= submitted_at:
        return started_at
    if started_at - submitted_at > CLOCK_SKEW:
        raise DomainError(
            f"started_at {started_at.isoformat()} is after the submit time {submitted_at.isoformat()}",
            field="started_at",
        )
    return submitted_at


class _Selection(NamedTuple):
    where: str
    task: int
    annotator: str
    selected: list
    started_at: object
    submitted_at: object


def import_selections(*, testset_name, path=None, text=None, source=None):
    """Store a crowd's answers from a JSON Lines file (at `path`, or its `text`), one assignment a line: {"task": id,
    "annotator": name, "selected": [token, ...]} with optional "started_at" and "submitted_at" (ISO 8601; without an
    offset, UTC; no submitted_at: now). The whole file is checked first and refused with every line at fault;
    annotators without an account get one with the annotator role; then the assignments are written and the test
    set's frequencies recounted. Messages name the file as `source` where given, else by its path. Returns a summary."""
    testset = testset_named(testset_name)
    source = source or str(path)
    selections, problems = _read_selections(path, text, source)
    with transaction.atomic():
        _lock(testset)
        tasks = set(
            FrequencyTask.objects.filter(testset=testset, pk__in={s.task for s in selections}).values_list(
                "pk", flat=True
            )
        )
        images = defaultdict(dict)
        roles = {}
        for task, position, token, role in TaskImage.objects.filter(task_id__in=tasks).values_list(
            "task_id", "position", "token", "role"
        ):
            images[task][token] = position
            roles[task, position] = ROLE_CODES[role]
        answered = set(Assignment.objects.filter(task_id__in=tasks).values_list("task_id", "annotator__username"))
        problems += _selection_problems(testset, selections, tasks, images, answered)
        problems += _not_annotators(selections)
        if problems:
            shown = problems[:SHOWN_PROBLEMS]
            more = len(problems) - len(shown)
            raise DomainError("\n".join(shown + ([f"... and {more} more"] if more else [])), field="file")
        accounts, created = annotator_accounts(sorted({s.annotator for s in selections}))
        controls, right, selected = _scored(selections, images, roles)
        now = timezone.now()
        with foreign_keys_checked_at_end(Assignment), indexes_built_at_end({Assignment: len(selections)}):
            insert_rows(
                Assignment,
                ["task", "annotator", "selected", "controls", "controls_right", "source", "started_at", "submitted_at"],
                (
                    (
                        s.task,
                        accounts[s.annotator],
                        frequencies.pack_selection(selected[row, : len(images[s.task])]),
                        int(controls[row]),
                        int(right[row]),
                        AssignmentSource.IMPORT,
                        s.started_at,
                        s.submitted_at or now,
                    )
                    for row, s in enumerate(selections)
                ),
            )
        _count_answers(FrequencyTask.objects.filter(pk__in=tasks))
        recount = recount_frequencies(testset)
    counted = frequencies.included(controls, right, testset.quality_threshold)
    return {
        "testset": testset.name,
        "assignments": len(selections),
        "annotators": len(accounts),
        "accounts_created": created,
        "excluded": int((~counted).sum()),
        "frequencies": recount["frequencies"],
    }


def _count_answers(tasks):
    """Set the tasks' `answered` to their number of assignments."""
    per_task = (
        Assignment.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(n=Count("pk")).values("n")
    )
    tasks.update(answered=Coalesce(Subquery(per_task), 0))


def _scored(selections, images, roles):
    """(controls, answered right, selection by position) of each selection, given its task's images {task id:
    {token: position}} and their roles {(task id, position): role code}."""
    index = {task: number for number, task in enumerate(images)}
    positions = 1 + max(position for _, position in roles)
    grid = frequencies.role_grid(
        [index[task] for task, _ in roles],
        [position for _, position in roles],
        list(roles.values()),
        len(index),
        positions,
    )
    selected = np.zeros((len(selections), positions), dtype=bool)
    for row, selection in enumerate(selections):
        selected[row, [images[selection.task][token] for token in selection.selected]] = True
    controls, right = frequencies.score_controls(grid[[index[s.task] for s in selections]], selected)
    return controls, right, selected


def _read_selections(path, text, source):
    """(the _Selections of the lines that are well formed, what is wrong with the others), read from `text`, else
    from the file at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8") if text is None else text
    except OSError as exc:
        raise DomainError(f"{source}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DomainError(f"{source}: not UTF-8 text") from None
    selections, problems = [], []
    # Not splitlines(): JSON strings may hold U+2028 and other line breaks, never a raw "\n".
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            selections.append(_selection(checks.json_document(line, where), where))
        except ImportFailed as exc:
            problems.append(str(exc))
    if not selections and not problems:
        raise DomainError(f"{source}: no assignments in the file", field="file")
    return selections, problems


def _selection(value, where):
    checks.object_keys(value, SELECTION_KEYS, SELECTION_OPTIONAL_KEYS, where)
    task, selected = value["task"], value["selected"]
    if isinstance(task, bool) or not isinstance(task, int):
        raise ImportFailed(f"{where}: task must be a task's id (a whole number), not {task!r}")
    if not isinstance(selected, list) or not all(isinstance(token, str) for token in selected):
        raise ImportFailed(f"{where}: selected must be a list of image tokens")
    repeated = [token for token, count in Counter(selected).items() if count > 1]
    if repeated:
        raise ImportFailed(f"{where}: token {repeated[0]!r} is selected twice")
    started_at, submitted_at = (
        None if value.get(key) is None else checks.time(value[key], f"{where}: {key}")
        for key in SELECTION_OPTIONAL_KEYS
    )
    if started_at and submitted_at and started_at > submitted_at:
        raise ImportFailed(f"{where}: started_at is after submitted_at")
    return _Selection(where, task, _annotator_name(value["annotator"], where), selected, started_at, submitted_at)


def _annotator_name(value, where):
    """A name an account may have (the one rule of Django's own forms and createsuperuser)."""
    name = checks.username(value, where)
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError:
        raise ImportFailed(
            f"{where}: {name!r} is not a username an account may have (letters, digits and @ . + - _ only)"
        ) from None
    return name


def _selection_problems(testset, selections, tasks, images, answered):
    """What is wrong with the well-formed lines, given the ids of the test set's tasks, their images {task id:
    {token: position}} and the (task id, username) pairs answered already."""
    problems, first_line = [], {}
    for s in selections:
        if s.task not in tasks:
            problems.append(f"{s.where}: task {s.task} is not a task of test set {testset.name!r}")
            continue
        strangers = [token for token in s.selected if token not in images[s.task]]
        if strangers:
            problems.append(f"{s.where}: {strangers[0]!r} is not the token of an image of task {s.task}")
        if (s.task, s.annotator) in answered:
            problems.append(f"{s.where}: {s.annotator} has answered task {s.task} already")
        elif (s.task, s.annotator) in first_line:
            problems.append(
                f"{s.where}: {s.annotator} answers task {s.task} a second time (first at "
                f"{first_line[s.task, s.annotator]})"
            )
        else:
            first_line[s.task, s.annotator] = s.where
    return problems


def _not_annotators(selections):
    """What is wrong with lines whose annotator's name is that of an account without the annotator role (an admin,
    a reviewer): a crowd's answers are never filed under such an account."""
    names = {s.annotator for s in selections}
    others = set(
        get_user_model()
        .objects.filter(username__in=names)
        .exclude(groups__name=roles.ANNOTATOR)
        .values_list("username", flat=True)
    )
    return [
        f"{s.where}: {s.annotator} is an account without the annotator role; give it the role, or name the crowd's "
        "annotator otherwise"
        for s in selections
        if s.annotator in others
    ]


def recount_frequencies(testset):
    """Rebuild the test set's SelectionFrequency rows from its assignments, each scored again on its task's
    controls and counted if at or above the quality threshold. Returns counts of what was read and written."""
    task_table, image_table, assignment_table = (
        model._meta.db_table for model in (FrequencyTask, TaskImage, Assignment)
    )
    with transaction.atomic():
        _lock(testset)
        threshold = TestSet.objects.filter(pk=testset.pk).values_list("quality_threshold", flat=True).get()
        task_ids, task_wnids = _task_columns(testset)
        rows = read_int_columns(
            f"""SELECT i.task_id, i.position, i.image_id, {coded_sql("i.role", ROLES)}
            FROM {image_table} i JOIN {task_table} t ON t.id = i.task_id WHERE t.testset_id = %s""",
            [testset.pk],
            4,
        )
        image_task = np.searchsorted(task_ids, rows[:, 0])
        positions = int(rows[:, 1].max(initial=-1)) + 1
        width = max(1, math.ceil(positions / 8))
        # Every selection padded to one width, so that the rows come back as one array.
        assignment_task, masks = read_columns(
            f"""SELECT a.task_id, substring(a.selected || %s::bytea from 1 for {width})
            FROM {assignment_table} a JOIN {task_table} t ON t.id = a.task_id WHERE t.testset_id = %s""",
            [bytes(width), testset.pk],
            [">i8", f"S{width}"],
        )
        selected = frequencies.unpack_selections(
            np.frombuffer(masks.tobytes(), dtype=np.uint8).reshape(-1, width), positions
        )
        assignment_task = np.searchsorted(task_ids, assignment_task)
        grid = frequencies.role_grid(image_task, rows[:, 1], rows[:, 3], len(task_ids), positions)
        controls, right = frequencies.score_controls(grid[assignment_task], selected)
        counted = frequencies.included(controls, right, threshold)
        stored = _stored_frequencies(testset)
        # One code per class, for the classes of the tasks and those of rows stored before (of tasks since deleted).
        wnids, codes = np.unique(np.concatenate([task_wnids, stored["wnid"].astype(str)]), return_inverse=True)
        image, wnid, annotations, chosen = frequencies.selection_counts(
            image_task,
            rows[:, 1],
            rows[:, 2],
            codes[: len(task_wnids)][image_task],
            assignment_task,
            selected,
            counted,
            len(task_ids),
        )
        written = _write_frequencies(
            testset, wnids, (image, wnid, annotations, chosen), stored, codes[len(task_wnids) :]
        )
    return {"assignments": len(counted), "included": int(counted.sum()), "frequencies": len(image), **written}


def _stored_frequencies(testset):
    """The test set's SelectionFrequency rows as columns: id, image, wnid (bytes), annotations, selected."""
    names = ("id", "image", "wnid", "annotations", "selected")
    columns = read_columns(
        f"""SELECT id, image_id, wnid, annotations::bigint, selected::bigint FROM {SelectionFrequency._meta.db_table}
        WHERE testset_id = %s""",
        [testset.pk],
        [">i8", ">i8", f"S{WNID_LENGTH}", ">i8", ">i8"],
    )
    return dict(zip(names, columns, strict=True))


def _write_frequencies(testset, wnids, counted, stored, stored_codes):
    """Make the test set's rows the `counted` ones (image ids, wnid codes into `wnids`, annotations, selected):
    compared with those `stored` (whose wnids have the codes `stored_codes`), only the rows added, changed or gone
    are written, unless most rows differ. Returns how many of each."""
    image, wnid, annotations, selected = counted
    classes = len(wnids)
    new_keys, old_keys = image * classes + wnid, stored["image"] * classes + stored_codes
    _, new_at, old_at = np.intersect1d(new_keys, old_keys, assume_unique=True, return_indices=True)
    changed = (annotations[new_at] != stored["annotations"][old_at]) | (selected[new_at] != stored["selected"][old_at])
    added = np.setdiff1d(np.arange(len(new_keys)), new_at, assume_unique=True)
    gone = np.setdiff1d(np.arange(len(old_keys)), old_at, assume_unique=True)
    if len(added) + changed.sum() > len(new_keys) / 2:
        # Most rows differ: loading them all anew (indexes built once) costs less than updating each in place.
        SelectionFrequency.objects.filter(testset=testset).delete()
        _insert_frequencies(testset, wnids, counted, np.arange(len(new_keys)))
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {SelectionFrequency._meta.db_table} WHERE id = ANY(%s)", [stored["id"][gone].tolist()]
            )
        update_columns(
            SelectionFrequency,
            stored["id"][old_at][changed],
            {"annotations": annotations[new_at][changed], "selected": selected[new_at][changed]},
        )
        _insert_frequencies(testset, wnids, counted, added)
    return {"added": len(added), "changed": int(changed.sum()), "removed": len(gone)}


def _insert_frequencies(testset, wnids, counted, rows):
    """Insert the `rows` (indices) of the counted frequencies (image ids, wnid codes, annotations, selected)."""
    if not len(rows):
        return
    image, wnid, annotations, selected = counted
    with foreign_keys_checked_at_end(SelectionFrequency), indexes_built_at_end({SelectionFrequency: len(rows)}):
        insert_columns(
            SelectionFrequency,
            {
                "testset": testset.pk,
                "image": image[rows],
                "wnid": Coded(wnid[rows], wnids.tolist()),
                "annotations": annotations[rows],
                "selected": selected[rows],
            },
        )


def _task_columns(testset):
    """(ids sorted, their wnids) of the test set's tasks."""
    pairs = list(FrequencyTask.objects.filter(testset=testset).order_by("pk").values_list("pk", "wnid"))
    return np.array([pk for pk, _ in pairs], dtype=np.int64), np.array([wnid for _, wnid in pairs], dtype=str)


def frequency_rows(testset):
    """(file name, wnid, role, annotations, selected, frequency) per (image, class) with annotations: role
    "candidate" for an image of the pool, "reference" for one of the reference; by class, candidates first, then by
    file name. Read ROWS_PER_READ rows at a time."""
    rows = (
        SelectionFrequency.objects.filter(testset=testset)
        .annotate(
            reference=Case(
                When(image__dataset_id=testset.pool_id, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("wnid", "reference", "image__file_name")
        .values_list("image__file_name", "wnid", "reference", "annotations", "selected")
    )
    for file_name, wnid, reference, annotations, selected in rows.iterator(chunk_size=ROWS_PER_READ):
        role = "reference" if reference else "candidate"
        yield file_name, wnid, role, annotations, selected, round(selected / annotations, 4)


def annotator_quality(testset):
    """Per annotator (by name): assignments, controls and how many were answered right, accuracy on controls, and
    how many assignments fall under the quality threshold (left out of frequencies); the same per day of
    submission ("days", oldest first); and why those were left out: "excluded_scores", their scores on controls
    [{"controls", "controls_right", "assignments"}, ...], the worst first."""
    groups = list(
        Assignment.objects.filter(task__testset=testset)
        .annotate(day=TruncDate("submitted_at"))
        .values_list("annotator__username", "day", "controls", "controls_right")
        .annotate(assignments=Count("pk"))
        .order_by("annotator__username", "day")
    )
    counted = frequencies.included(
        np.array([group[2] for group in groups], dtype=np.int64),
        np.array([group[3] for group in groups], dtype=np.int64),
        testset.quality_threshold,
    )
    people = {}
    for (name, day, controls, right, assignments), kept in zip(groups, counted.tolist(), strict=True):
        person = people.setdefault(name, {"annotator": name, **_tally(), "days": {}, "excluded_scores": Counter()})
        if not kept:
            person["excluded_scores"][controls, right] += assignments
        for tally in (person, person["days"].setdefault(day, {"day": day.isoformat(), **_tally()})):
            tally["assignments"] += assignments
            tally["controls"] += controls * assignments
            tally["controls_right"] += right * assignments
            tally["excluded"] += 0 if kept else assignments
    for person in people.values():
        person["days"] = list(person["days"].values())
        person["excluded_scores"] = [
            {"controls": controls, "controls_right": right, "assignments": assignments}
            # An assignment without controls always counts: every excluded one has controls.
            for (controls, right), assignments in sorted(
                person["excluded_scores"].items(), key=lambda score: (score[0][1] / score[0][0], score[0])
            )
        ]
        for tally in (person, *person["days"]):
            tally["accuracy"] = tally["controls_right"] / tally["controls"] if tally["controls"] else None
    return list(people.values())


def _tally():
    return {"assignments": 0, "controls": 0, "controls_right": 0, "excluded": 0}
