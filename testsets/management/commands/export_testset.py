"""manage.py export_testset --testset NAME --revision R --format imagenetv2|json --out PATH"""

import json

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.revisions import export_testset


class Command(BaseCommand):
    # The system checks import every URL module of the project (scipy.stats among them): seconds that a command
    # serving no request does without.
    requires_system_checks = []
    help = (
        "Export a revision of a test set: imagenetv2 (a new folder with a folder per class index holding the "
        "image files) or json (a file listing file_name, wnid, frequency and bin of each image)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True, help="the test set's name")
        parser.add_argument("--revision", required=True, type=int, help="the revision's number")
        parser.add_argument("--format", required=True, dest="fmt", help="imagenetv2 or json")
        parser.add_argument("--out", required=True, help="the folder (imagenetv2) or file (json) to write")

    @as_command_errors
    def handle(self, *args, testset, revision, fmt, out, **options):
        self.stdout.write(json.dumps(export_testset(testset_name=testset, revision=revision, fmt=fmt, out=out)))
