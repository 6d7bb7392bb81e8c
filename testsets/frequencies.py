"""Selection frequencies counted from assignments, and assignments scored on their controls: plain numpy, arrays in
and arrays out (testsets.frequency_tasks reads the arrays in bulk and writes what comes back).

A task is a row of a grid of positions: `roles[task, position]` holds the role code of the image there (MEASURED,
POSITIVE or NEGATIVE) or ABSENT past the task's last image. An assignment's selection is a row of booleans over the
same positions; stored, it is packed a bit per position, little-endian within each byte (position p is bit p % 8 of
byte p // 8).
"""

import numpy as np

# Role codes: an image whose frequency the task measures (a candidate, or a reference image in a task run for the
# reference), a control that should be selected (of the task's class), one that should not (of a similar class).
MEASURED, POSITIVE, NEGATIVE = 0, 1, 2
ABSENT = -1


def pack_selection(selected):
    """The stored form of one assignment's selection (booleans by position)."""
    return np.packbits(np.asarray(selected, dtype=bool), bitorder="little").tobytes()


def unpack_selections(masks, positions):
    """Booleans [assignments, positions] of packed selections given as bytes [assignments, bytes per selection]."""
    return np.unpackbits(np.asarray(masks, dtype=np.uint8), axis=1, count=positions, bitorder="little").astype(bool)


def role_grid(task, position, role, tasks, positions):
    """Role codes [tasks, positions] of the task images given as parallel arrays (task index, position, role code);
    ABSENT where a task has no image."""
    grid = np.full((tasks, positions), ABSENT, dtype=np.int8)
    grid[task, position] = role
    return grid


def score_controls(roles, selected):
    """(controls, answered right) per assignment, from the role codes of its task [assignments, positions] and its
    selection: a positive control counts when selected, a negative one when not."""
    positive, negative = roles == POSITIVE, roles == NEGATIVE
    controls = (positive | negative).sum(axis=1)
    right = (positive & selected).sum(axis=1) + (negative & ~selected).sum(axis=1)
    return controls, right


def included(controls, right, threshold):
    """Whether each assignment counts in frequencies: it has no controls, or its share of controls answered right
    is at least `threshold`."""
    controls, right = np.asarray(controls), np.asarray(right)
    share = np.divide(right, controls, out=np.ones(np.shape(controls)), where=controls > 0)
    return (controls == 0) | (share >= threshold)


def selection_counts(image_task, image_position, image, image_wnid, assignment_task, selected, counted, tasks):
    """Annotations and selections per (image, class) over the `counted` assignments.

    Task images come as parallel arrays: the task's index (0..tasks-1), the image's position there, the image id and
    the code of the task's class. Assignments: the task's index and the selection [assignments, positions]. Returns
    (image ids, class codes, annotations, selected), one entry per (image, class) with at least one annotation,
    sorted by image id then class code.
    """
    positions = selected.shape[1]
    answered = np.asarray(assignment_task)[counted]
    annotations_per_task = np.bincount(answered, minlength=tasks)
    # Every selected position of a counted assignment as one flat index task * positions + position.
    cells = answered[:, None] * positions + np.arange(positions)
    selected_per_cell = np.bincount(cells[selected[counted]], minlength=tasks * positions)
    annotations = annotations_per_task[image_task]
    selections = selected_per_cell[image_task * positions + image_position]
    # (image, class) pairs as one sortable key; an image may be in several tasks of its class.
    classes = int(np.max(image_wnid, initial=0)) + 1
    unique, inverse = np.unique(np.asarray(image, dtype=np.int64) * classes + image_wnid, return_inverse=True)
    annotations = np.bincount(inverse, weights=annotations, minlength=len(unique)).astype(np.int64)
    selections = np.bincount(inverse, weights=selections, minlength=len(unique)).astype(np.int64)
    kept = annotations > 0
    unique = unique[kept]
    return unique // classes, unique % classes, annotations[kept], selections[kept]
