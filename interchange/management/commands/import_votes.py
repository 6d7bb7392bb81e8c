import json

from django.core.management.base import BaseCommand

from annotate.batches import outcome
from annotate.models import Rule
from config.exceptions import as_command_errors
from interchange.votes import FORMATS, import_votes


class Command(BaseCommand):
    # The system checks import every URL module of the project (scipy.stats among them), a second or more that
    # this command, which serves no request, does not need.
    requires_system_checks = []
    help = (
        "Import raw reviewer votes (the ReaL raters' raters.npz) into a dataset whose images are registered: "
        "raters become reviewers, their answers verdicts (no: wrong, maybe: unclear, yes: correct); then every "
        "label is recomputed under --rule and --overlap."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--rule", choices=[r for r in Rule.values if r != Rule.SINGLE], default=Rule.MAJORITY)
        parser.add_argument("--overlap", type=int, default=5, help="reviewers needed per item (default 5)")
        parser.add_argument("--reviewer-prefix", default="rater-", help="username prefix of the raters")
        parser.add_argument("--dry-run", action="store_true", help="say what the import would change; write nothing")
        parser.add_argument(
            "--overwrite", action="store_true", help="replace a rater's different verdict already there"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    @as_command_errors
    def handle(self, *args, file, format, dataset, rule, overlap, reviewer_prefix, **options):
        summary = import_votes(
            dataset_name=dataset,
            path=file,
            fmt=format,
            rule=rule,
            overlap=overlap,
            reviewer_prefix=reviewer_prefix,
            dry_run=options["dry_run"],
            overwrite=options["overwrite"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        consensus = summary["consensus"]
        self.stdout.write(
            f"{summary['dataset']}: {summary['reviewers']} reviewers, {summary['questions']} questions on "
            f"{summary['images']} images, {summary['verdicts_added']} verdicts added "
            f"({summary['verdicts_already_there']} already there); {consensus['rule']} of {consensus['overlap']}: "
            + ", ".join(f"{value} {count}" for value, count in consensus["labels"].items())
            + f", {consensus['needs_adjudication']} to adjudicate"
        )
        self.stdout.write("\n".join(outcome(summary)))
