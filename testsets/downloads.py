"""The crowd's files that the commands write and the API serves, a line at a time: a test set's open tasks as JSON
Lines (export_frequency_tasks) and its selection frequencies as CSV (selection_frequencies)."""

import json

from annotate.spreadsheets import csv_lines
from testsets.frequency_tasks import export_frequency_tasks, frequency_rows

FREQUENCY_COLUMNS = ("file_name", "wnid", "role", "annotations", "selected", "frequency")


def task_lines(testset):
    """The test set's open tasks, one JSON object and a newline per task: {"task": id, "wnid": ..., "images":
    [{"token": ..., "file_name": ...}, ...]}."""
    for task in export_frequency_tasks(testset):
        yield json.dumps(task, separators=(",", ":")) + "\n"


def frequency_lines(testset):
    """The test set's selection frequencies as CSV lines, the header first: file_name,wnid,role,annotations,
    selected,frequency, one row per image and class it was shown with (role: candidate or reference); a file name a
    spreadsheet would run as a formula is kept as text."""
    return csv_lines(FREQUENCY_COLUMNS, frequency_rows(testset))
