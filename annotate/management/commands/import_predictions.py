from django.core.management.base import BaseCommand

from annotate.batches import outcome
from annotate.prediction_import import import_predictions
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = "Import a model's ranked predictions (CSV, JSON or .npy in dataset order) into a dataset."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--model", required=True, help="classifier model name (created if new)")
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=["csv", "json", "npy"], help="default: from the file extension")
        parser.add_argument("--replace", action="store_true", help="replace the model's earlier predictions")
        parser.add_argument("--dry-run", action="store_true", help="say what the import would change; write nothing")

    @as_command_errors
    def handle(self, *args, file, model, dataset, format=None, replace=False, dry_run=False, **options):
        result = import_predictions(
            model_name=model, dataset_name=dataset, path=file, fmt=format, replace=replace, dry_run=dry_run
        )
        self.stdout.write(
            f"{result['model']} on {result['dataset']}: {result['predictions']} predictions, "
            f"{result['new_review_items']} new review items"
        )
        self.stdout.write("\n".join(outcome(result)))
