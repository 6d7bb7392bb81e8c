"""Trainee statistics: accuracy over time (per part, per day) and the classes most often confused.

The counting is done by the database (grouped queries over the (trainee, task) index); the plain
functions below shape the counts into series and draw the small line chart of the statistics page.
"""

from django.db.models import Count, F
from django.db.models.functions import TruncDate

import taxonomy
from annotate import access
from training.models import PART_SIZE, TrainingAnswer
from training.selectors import ANSWER_COUNTS, accuracy

CONFUSION_LIMIT = 10


def answers(trainee, task=None, viewer=None):
    """The trainee's answers (in one task), none on an image closed to the `viewer` (annotate.access)."""
    queryset = TrainingAnswer.objects.filter(trainee=trainee)
    if viewer is not None:
        queryset = queryset.exclude(image_id__in=access.closed_image_ids(viewer))
    return queryset.filter(task=task) if task is not None else queryset


def _counted(queryset, *fields):
    return queryset.values(*fields).annotate(**ANSWER_COUNTS).order_by(*fields)


def with_accuracy(row):
    """The row with its accuracy over scored answers; those on images without a valid label stay out of it."""
    return {**row, "accuracy": accuracy(row["right"], row["scored"])}


def totals(rows):
    """The sums of a series' rows (the per-day rows cover every answer), with the answers left unscored."""
    sums = with_accuracy({key: sum(row[key] for row in rows) for key in ANSWER_COUNTS})
    return sums | {"no_valid_label": sums["answered"] - sums["scored"]}


def accuracy_by_part(trainee, task, viewer=None):
    """[{part (1-based), answered, scored, right, accuracy}] in task order."""
    rows = _counted(answers(trainee, task, viewer).annotate(part_index=F("position") / PART_SIZE), "part_index")
    return [with_accuracy({"part": row["part_index"] + 1} | {key: row[key] for key in ANSWER_COUNTS}) for row in rows]


def accuracy_by_day(trainee, task=None, viewer=None):
    """[{day, answered, scored, right, accuracy}], oldest first (days in UTC)."""
    rows = _counted(answers(trainee, task, viewer).annotate(day=TruncDate("answered_at")), "day")
    return [with_accuracy(row) for row in rows]


def confusions(trainee, task=None, viewer=None, limit=CONFUSION_LIMIT):
    """The most frequent (true label -> answered label) pairs of wrong answers, with counts."""
    rows = (
        answers(trainee, task, viewer)
        .filter(correct=False)
        .values("expected_wnid", "wnid")
        .annotate(count=Count("pk"))
        .order_by("-count", "expected_wnid", "wnid")[:limit]
    )
    return [
        {
            "true": {"wnid": row["expected_wnid"], "label": taxonomy.label(row["expected_wnid"])},
            "answered": {"wnid": row["wnid"], "label": taxonomy.label(row["wnid"])},
            "count": row["count"],
        }
        for row in rows
    ]


def trainee_stats(trainee, task=None, viewer=None):
    """Everything the statistics page and API show for one trainee (and one task, or all of them), to `viewer`."""
    by_day = accuracy_by_day(trainee, task, viewer)
    return {
        "trainee": trainee.username,
        "task": task.pk if task is not None else None,
        "summary": totals(by_day),
        "by_part": accuracy_by_part(trainee, task, viewer) if task is not None else [],
        "by_day": by_day,
        "confusions": confusions(trainee, task, viewer),
    }


def line_chart(values, labels=(), width=560, height=180, left=44, right=16, top=14, bottom=30, max_ticks=8):
    """Geometry of a line chart of accuracies (0..1) at evenly spaced x: polylines, dots, gridlines and
    x labels (at most max_ticks of them). None values (nothing answered) leave gaps between segments."""
    inner_w, inner_h = width - left - right, height - top - bottom
    count = len(values)

    def x_at(index):
        return left + (index * inner_w / (count - 1) if count > 1 else inner_w / 2)

    dots, segments, current = [], [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        x, y = x_at(index), top + (1 - value) * inner_h
        dots.append({"x": round(x, 1), "y": round(y, 1), "value": value, "index": index})
        current.append(f"{x:.1f},{y:.1f}")
    if current:
        segments.append(current)
    step = max(1, -(-count // max_ticks))
    ticks = [{"x": round(x_at(index), 1), "label": labels[index]} for index in range(0, len(labels), step)]
    grid = [{"y": round(top + (1 - level) * inner_h, 1), "label": f"{round(level * 100)}%"} for level in (0, 0.5, 1)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "axis_x": left - 8,
        "label_y": height - 8,
        "lines": [" ".join(segment) for segment in segments],
        "dots": dots,
        "grid": grid,
        "ticks": ticks,
    }
