"""manage.py sample_testset --testset NAME --strategy matched-frequency|threshold|top --per-class N --seed S
[--threshold T] [--from REVISION] [--json]"""

import json

from django.core.management.base import BaseCommand

from config.exceptions import as_command_errors
from testsets.revisions import sample_testset


class Command(BaseCommand):
    # The system checks import every URL module of the project (scipy.stats among them): seconds that a command
    # serving no request does without.
    requires_system_checks = []
    help = (
        "Sample a new revision of a test set: matched-frequency (the reference's frequency histogram per class), "
        "threshold (frequency at or above T) or top (the highest frequencies)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True, help="the test set's name")
        parser.add_argument("--strategy", required=True, help="matched-frequency, threshold or top")
        parser.add_argument("--per-class", type=int, help="images per class (default: the test set's)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random choices (default 0)")
        parser.add_argument("--threshold", type=float, help="the threshold strategy's frequency (default 0.7)")
        parser.add_argument(
            "--from",
            dest="from_revision",
            type=int,
            metavar="REVISION",
            help="keep this revision's images that still qualify and replace only the rest",
        )
        parser.add_argument("--json", action="store_true", help="print the revision and its images as JSON")

    @as_command_errors
    def handle(self, *args, testset, strategy, per_class, seed, threshold, from_revision, **options):
        result = sample_testset(
            testset_name=testset,
            strategy=strategy,
            per_class=per_class,
            seed=seed,
            threshold=threshold,
            from_revision=from_revision,
        )
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"{testset}: revision {result['revision']}, {len(result['images'])} images, "
            f"{result['upward']} taken from a higher bin, {len(result['short_classes'])} classes short"
        )
        for wnid, short in result["short_classes"].items():
            self.stdout.write(f"  {wnid}: {short['sampled']} of {short['wanted']}: {short['reason']}")
