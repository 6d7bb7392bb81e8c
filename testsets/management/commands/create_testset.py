"""manage.py create_testset NAME --reference DATASET [--per-class 10]"""

import json

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.services import create_testset


class Command(BaseCommand):
    help = "Start building a new test set against a reference dataset (the original test set)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--reference", required=True, help="the original test set's dataset")
        parser.add_argument("--per-class", type=int, default=10, help="images per class in a sample (default 10)")

    @as_command_errors
    def handle(self, *args, name, reference, per_class, **options):
        testset = create_testset(name=name, reference_name=reference, per_class=per_class)
        self.stdout.write(
            json.dumps({"testset": testset.name, "reference": testset.reference.name, "pool": testset.pool.name})
        )
