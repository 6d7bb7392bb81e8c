"""manage.py testset_status NAME [--json]"""

import json

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.selectors import testset_named, testset_status


class Command(BaseCommand):
    help = "What a test set holds so far: candidates, blacklist, tasks, assignments, revisions."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    @as_command_errors
    def handle(self, *args, name, **options):
        status = testset_status(testset_named(name))
        if options["json"]:
            self.stdout.write(json.dumps(status))
            return
        self.stdout.write(
            f"{status['name']}: reference {status['reference']}, {status['per_class']} images per class\n"
            f"  candidates {status['candidates']} in {status['classes']} classes, {status['blacklisted']} blacklisted\n"
            f"  tasks {status['tasks']}, assignments {status['assignments']}, revisions {status['revisions']}"
        )
