"""manage.py selection_frequencies --testset NAME --out FILE"""

from django.core.management.base import BaseCommand

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
        lines = frequency_lines(testset)
        with open(out, "w", newline="", encoding="utf-8") as handle:
            handle.write(next(lines))
            written = 0
            for line in lines:
                handle.write(line)
                written += 1
        self.stdout.write(f"{written} frequencies of {testset.name} written to {out}")
