"""The crowd's files that the commands write and the API serves, a line at a time: a test set's open tasks as JSON
Lines (export_frequency_tasks) and its selection frequencies as CSV (selection_frequencies)."""

import csv
import json

from testsets.frequency_tasks import export_frequency_tasks, frequency_rows

FREQUENCY_COLUMNS = ("file_name", "wnid", "role", "annotations", "selected", "frequency")


def task_lines(testset):
    """The test set's open tasks, one JSON object and a newline per task: {"task": id, "wnid": ..., "images":
    [{"token": ..., "file_name": ...}, ...]}."""
    for task in export_frequency_tasks(testset):
        yield json.dumps(task, separators=(",", ":")) + "\n"


class _Line:
    """A file that hands back what is written to it: csv.writer's writerow then returns the line it wrote."""

    def write(self, line):
        return line


def frequency_lines(testset):
    """The test set's selection frequencies as CSV lines, the header first: file_name,wnid,role,annotations,
    selected,frequency, one row per image and class it was shown with (role: candidate or reference)."""
    writer = csv.writer(_Line())
    yield writer.writerow(FREQUENCY_COLUMNS)
    for row in frequency_rows(testset):
        yield writer.writerow(row)
