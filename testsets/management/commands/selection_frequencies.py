"""manage.py selection_frequencies --testset NAME --out FILE"""

import csv

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.frequency_tasks import frequency_rows
from testsets.selectors import testset_named

HEADER = ("file_name", "wnid", "role", "annotations", "selected", "frequency")


class Command(BaseCommand):
    help = (
        "Write a test set's selection frequencies as CSV file_name,wnid,role,annotations,selected,frequency, one row "
        "per image and class it was shown with (role: candidate or reference)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True)
        parser.add_argument("--out", required=True, help="the CSV file to write")

    @as_command_errors
    def handle(self, *args, testset, out, **options):
        testset = testset_named(testset)
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            written = 0
            for row in frequency_rows(testset):
                writer.writerow(row)
                written += 1
        self.stdout.write(f"{written} frequencies of {testset.name} written to {out}")
