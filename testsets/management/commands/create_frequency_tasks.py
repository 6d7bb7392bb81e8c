"""manage.py create_frequency_tasks --testset NAME [--per-task 48] [--positive-controls 3] [--negative-controls 3]
[--annotators 10] [--min-reference 20]"""

import json

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.frequency_tasks import create_frequency_tasks


class Command(BaseCommand):
    help = (
        "Create selection-frequency tasks for a test set's eligible candidates, each beside hidden controls from the "
        "reference dataset, and the tasks that give every class enough annotated reference images; prints a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True)
        parser.add_argument("--per-task", type=int, default=48, help="images per task (default 48)")
        parser.add_argument(
            "--positive-controls", type=int, default=3, help="reference images of the task's class (default 3)"
        )
        parser.add_argument(
            "--negative-controls", type=int, default=3, help="reference images of its most similar class (default 3)"
        )
        parser.add_argument("--annotators", type=int, default=10, help="assignments wanted per task (default 10)")
        parser.add_argument(
            "--min-reference",
            type=int,
            default=20,
            help="reference images per class that must reach --annotators annotations (default 20)",
        )

    @as_command_errors
    def handle(
        self, *args, testset, per_task, positive_controls, negative_controls, annotators, min_reference, **options
    ):
        summary = create_frequency_tasks(
            testset_name=testset,
            per_task=per_task,
            positive_controls=positive_controls,
            negative_controls=negative_controls,
            annotators=annotators,
            min_reference=min_reference,
        )
        self.stdout.write(json.dumps(summary))
