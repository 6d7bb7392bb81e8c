"""manage.py export_frequency_tasks --testset NAME --out FILE"""

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.downloads import task_lines
from testsets.selectors import testset_named


class Command(BaseCommand):
    help = (
        "Write a test set's open selection-frequency tasks as JSON Lines, one task a line: "
        '{"task": ID, "wnid": ..., "images": [{"token": ..., "file_name": ...}, ...]}, for an outside crowd platform.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True)
        parser.add_argument("--out", required=True, help="the JSON Lines file to write")

    @as_command_errors
    def handle(self, *args, testset, out, **options):
        testset = testset_named(testset)
        written = 0
        with open(out, "w", encoding="utf-8") as handle:
            for line in task_lines(testset):
                handle.write(line)
                written += 1
        self.stdout.write(f"{written} open tasks of {testset.name} written to {out}")
