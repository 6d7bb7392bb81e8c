import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.batches import outcome
from annotate.selectors import DatasetNotFound, dataset_named
from config.exceptions import as_command_errors
from interchange import formats

IMPORTING_REVIEWER = "imported"


class Command(BaseCommand):
    help = (
        "Import a multi-label file (TFDS JSON, ReaL JSON or JSON Lines) into a dataset whose images are registered; "
        "then every label of the dataset is recomputed under its consensus rule."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=formats.IMPORT_FORMATS, default="tfds")
        parser.add_argument(
            "--reviewer",
            default=IMPORTING_REVIEWER,
            help="account whose verdicts the labels of a tfds or real file become (created as a reviewer if missing)",
        )
        parser.add_argument("--dry-run", action="store_true", help="say what the import would change; write nothing")
        parser.add_argument(
            "--overwrite", action="store_true", help="replace verdicts and flags already given (kept by default)"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    @as_command_errors
    def handle(self, *args, file, dataset, **options):
        try:
            found = dataset_named(dataset)
        except DatasetNotFound as exc:
            raise CommandError(f"{exc}: register its images first (import_images)") from None
        try:
            text = Path(file).read_text(encoding="utf-8")
            summary = formats.load(
                dataset=found,
                fmt=options["format"],
                text=text,
                source=file,
                reviewer=options["reviewer"],
                dry_run=options["dry_run"],
                overwrite=options["overwrite"],
            )
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text") from None
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        consensus = summary["consensus"]
        slices = "".join(f", {count} images into slice {name}" for name, count in summary["slices"].items())
        self.stdout.write(
            f"{found.name}: {summary['images']} images, {summary['verdicts']} verdicts "
            f"({summary['verdicts_changed']} changed), {summary['reviewers_created']} reviewers created, "
            f"{summary['problematic_images']} problematic images, {summary['fixed_labels']} adjudicated or golden "
            f"labels{slices}; labels under {consensus['rule']}: "
            + ", ".join(f"{value} {count}" for value, count in consensus["labels"].items())
            + f", {consensus['needs_adjudication']} to adjudicate"
        )
        self.stdout.write("\n".join(outcome(summary)))
        if summary.get("labels_unlike_file"):
            self.stderr.write(
                f"{summary['labels_unlike_file']} labels differ from the file's: it was labelled under another "
                f"consensus rule than this dataset's ({consensus['rule']})"
            )
        for warning in summary["warnings"]:
            self.stderr.write(f"warning: {warning}")
