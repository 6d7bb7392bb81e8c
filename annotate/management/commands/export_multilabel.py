from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate import multilabel
from annotate.models import Dataset


class Command(BaseCommand):
    help = "Export a dataset's multi-label annotation (TFDS imagenet2012_multilabel JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=multilabel.FORMATS, default="tfds")
        parser.add_argument("--out", help="output file (default: standard output)")
        parser.add_argument("--slice", default=multilabel.IMAGENET_M, help="slice exported as imagenet_m")

    def handle(self, *args, dataset, out=None, **options):
        found = Dataset.objects.filter(name=dataset).first()
        if found is None:
            raise CommandError(f"dataset {dataset!r} does not exist")
        text = multilabel.dumps(multilabel.export_tfds(found, m_slice=options["slice"]))
        if out:
            Path(out).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)
