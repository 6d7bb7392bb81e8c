import json

from django.core.management.base import BaseCommand

from annotate.selectors import dataset_named, dataset_status
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = "Print a dataset's figures: images, models, review items, verdicts, problematic images."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    @as_command_errors
    def handle(self, *args, name, **options):
        dataset = dataset_named(name)
        status = dataset_status(dataset)
        if options["json"]:
            self.stdout.write(json.dumps(status))
            return
        for key, value in status.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
            elif isinstance(value, list):
                value = ", ".join(value) or "-"
            self.stdout.write(f"{key.replace('_', ' '):22} {value}")
