"""manage.py import_selections FILE --testset NAME"""

import json

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.frequency_tasks import import_selections


class Command(BaseCommand):
    help = (
        "Import a crowd's answers to a test set's selection-frequency tasks from JSON Lines, one assignment a line: "
        '{"task": ID, "annotator": NAME, "selected": [token, ...]} with optional "started_at" and "submitted_at" '
        "(ISO 8601). The whole file is checked first; then the frequencies are recounted. Prints a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--testset", required=True)

    @as_command_errors
    def handle(self, *args, file, testset, **options):
        self.stdout.write(json.dumps(import_selections(testset_name=testset, path=file)))
