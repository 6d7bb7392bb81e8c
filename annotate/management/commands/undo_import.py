import json

from django.core.management.base import BaseCommand

from annotate.batches import undo_import
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = (
        "Undo an import (its number is printed by the import and listed on the dataset page): its verdicts, flags, "
        "predictions and new review items go, unless changed since; the history keeps the import and its undoing."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch", type=int)
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    @as_command_errors
    def handle(self, *args, batch, **options):
        summary = undo_import(batch_id=batch)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(
            f"Undid import {batch} (as batch {summary['batch']}): {summary['verdicts_restored']} verdicts restored, "
            f"{summary['verdicts_changed_since']} changed since and kept, {summary['images_unflagged']} images "
            f"unflagged, {summary['images_reflagged']} given their earlier flag, {summary['items_removed']} review "
            f"items removed"
            + "".join(
                f", {summary[key]} {key.replace('_', ' ')}"
                for key in ("predictions_removed", "predictions_restored", "predictions_left_undone")
                if key in summary
            )
        )
