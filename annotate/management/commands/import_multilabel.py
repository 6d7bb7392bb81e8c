from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate import multilabel
from annotate.errors import ImportFailed
from annotate.models import Dataset


class Command(BaseCommand):
    help = "Import a TFDS multi-label JSON file into a dataset whose images are registered."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=multilabel.FORMATS, default="tfds")

    def handle(self, *args, file, dataset, **options):
        found = Dataset.objects.filter(name=dataset).first()
        if found is None:
            raise CommandError(f"dataset {dataset!r} does not exist: register its images first (import_images)")
        try:
            text = Path(file).read_text(encoding="utf-8")
            result = multilabel.import_tfds(dataset=found, document=multilabel.read_tfds(text, file), source=file)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{found.name}: {result['verdicts']} verdicts, {result['problematic_images']} problematic images, "
            f"{result['imagenet_m']} images in {multilabel.IMAGENET_M}"
        )
