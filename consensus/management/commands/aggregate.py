import json

from django.core.management.base import BaseCommand

from annotate import labelling
from annotate.models import Rule
from annotate.selectors import dataset_named
from config.exceptions import as_command_errors

METHODS = {rule.replace("_", "-"): rule for rule in Rule.values}


class Command(BaseCommand):
    # The system checks import every URL module of the project (scipy.stats among them), a second or more that
    # this command, which serves no request, does not need.
    requires_system_checks = []
    help = (
        "Recompute the consensus label of every review item of a dataset from its reviewers' verdicts; "
        "--method also makes that the dataset's rule. Adjudicated and golden items keep their label."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--method", choices=list(METHODS), help="default: the dataset's rule")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    @as_command_errors
    def handle(self, *args, dataset, method=None, **options):
        summary = labelling.aggregate(dataset=dataset_named(dataset), rule=METHODS[method] if method else None)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(
            f"{summary['dataset']}: {summary['rule']} of {summary['overlap']} over {summary['items']} items and "
            f"{summary['verdicts']} verdicts in {summary['seconds']} s: "
            + ", ".join(f"{value} {count}" for value, count in summary["labels"].items())
            + f"; {summary['needs_adjudication']} to adjudicate, {summary['changed_items']} changed"
        )
