from pathlib import Path

from django.core.management.base import BaseCommand

from annotate.selectors import dataset_named
from config.exceptions import as_command_errors
from interchange import formats


class Command(BaseCommand):
    help = "Export a dataset's multi-label annotation: TFDS JSON, ReaL JSON, JSON Lines (every verdict) or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=formats.EXPORT_FORMATS, default="tfds")
        parser.add_argument("--out", help="output file (default: standard output)")
        parser.add_argument("--slice", default=formats.IMAGENET_M, help="slice exported as imagenet_m (tfds)")

    @as_command_errors
    def handle(self, *args, dataset, out=None, **options):
        chunks = formats.export(dataset_named(dataset), options["format"], m_slice=options["slice"])
        if out:
            with Path(out).open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(chunks)
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
