from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Dataset
from interchange import formats


class Command(BaseCommand):
    help = "Export a dataset's multi-label annotation: TFDS JSON, ReaL JSON, JSON Lines (every verdict) or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=formats.EXPORT_FORMATS, default="tfds")
        parser.add_argument("--out", help="output file (default: standard output)")
        parser.add_argument("--slice", default=formats.IMAGENET_M, help="slice exported as imagenet_m (tfds)")

    def handle(self, *args, dataset, out=None, **options):
        found = Dataset.objects.filter(name=dataset).first()
        if found is None:
            raise CommandError(f"dataset {dataset!r} does not exist")
        chunks = formats.export(found, options["format"], m_slice=options["slice"])
        if out:
            with Path(out).open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(chunks)
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
