from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotate.image_import import import_image_folder, register_manifest
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = (
        "Import a folder of images (DIR/<wnid>/<file>, or flat with --labels or <wnid>_ file name prefixes) "
        "or register a manifest of images whose files are elsewhere."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", help="folder of images")
        parser.add_argument("--dataset", required=True, help="dataset name (created if new)")
        parser.add_argument("--labels", help="CSV filename,wnid for a flat folder")
        parser.add_argument("--manifest", help="CSV filename,wnid[,uri] of images to register without files")

    @as_command_errors
    def handle(self, *args, directory=None, dataset, labels=None, manifest=None, **options):
        if bool(directory) == bool(manifest):
            raise CommandError("give either a DIR of images or --manifest FILE")
        if manifest:
            report = register_manifest(dataset_name=dataset, manifest_file=manifest)
        else:
            report = import_image_folder(
                dataset_name=dataset,
                directory=directory,
                labels_file=labels,
                progress=lambda items, total: tqdm(
                    items, total=total, unit="img", disable=options["verbosity"] == 0, file=self.stderr
                ),
            )
        for path, error in report.failed:
            self.stderr.write(f"skipped {path}: {error}")
        self.stdout.write(
            f"{dataset}: {report.added} added, {report.attached} files attached, "
            f"{report.skipped} already there, {len(report.failed)} failed"
        )
