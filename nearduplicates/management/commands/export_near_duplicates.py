"""manage.py export_near_duplicates --testset NAME --out FILE"""

from django.core.management.base import BaseCommand

from annotate.spreadsheets import write_csv
from config.exceptions import as_command_errors
from nearduplicates.downloads import neighbour_lines
from testsets.selectors import testset_named


class Command(BaseCommand):
    help = (
        "Write the neighbours found for a test set's candidates as CSV candidate,neighbour,neighbour_dataset,metric,"
        "distance,rank (names are file names), one row per neighbour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True)
        parser.add_argument("--out", required=True, help="the CSV file to write")

    @as_command_errors
    def handle(self, *args, testset, out, **options):
        testset = testset_named(testset)
        written = write_csv(out, neighbour_lines(testset))
        self.stdout.write(f"{written} neighbours of {testset.name} written to {out}")
