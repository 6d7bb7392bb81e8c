"""manage.py selection_frequencies --testset NAME --out FILE"""

from django.core.management.base import BaseCommand

from annotate.spreadsheets import write_csv
from config.exceptions import as_command_errors
from testsets.downloads import frequency_lines
from testsets.selectors import testset_named


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
        written = write_csv(out, frequency_lines(testset))
        self.stdout.write(f"{written} frequencies of {testset.name} written to {out}")
