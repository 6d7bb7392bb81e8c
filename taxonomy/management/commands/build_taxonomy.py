"""Regenerate taxonomy/data/taxonomy.json from a WordNet 3.0 dictionary folder."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from taxonomy import wordnet

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "taxonomy.json"


def read_class_wnids(path):
    """wnids from a JSON list of {"wnid": ...} objects, a JSON list of strings, or one wnid per line."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not isinstance(data, list):
        raise CommandError(f"{path}: expected a JSON list of wnids or of objects with a 'wnid' key")
    return [item["wnid"] if isinstance(item, dict) else item for item in data]


class Command(BaseCommand):
    help = "Build the ImageNet class taxonomy (classes plus WordNet hypernym ancestors) as JSON."
    requires_system_checks = []  # pure data work: needs neither the database nor the URL configuration

    def add_arguments(self, parser):
        parser.add_argument("--wordnet-dir", default="/usr/share/wordnet", help="folder holding data.noun")
        parser.add_argument(
            "--classes",
            help="class list: JSON list of wnids or of objects with 'wnid', or a text file of wnids "
            "(default: the classes of the existing output file)",
        )
        parser.add_argument("--out", default=str(DEFAULT_OUT), help="output JSON file")
        parser.add_argument("--check", action="store_true", help="fail if the output file is not up to date")

    def handle(self, *args, wordnet_dir, classes, out, check, **options):
        out = Path(out)
        if not (Path(wordnet_dir) / "data.noun").exists():
            raise CommandError(f"no data.noun in {wordnet_dir}")
        if classes:
            wnids = read_class_wnids(classes)
        elif out.exists():
            wnids = json.loads(out.read_text(encoding="utf-8"))["classes"]
        else:
            raise CommandError(f"{out} does not exist yet; pass --classes")
        try:
            text = wordnet.dumps(wordnet.build_taxonomy(wnids, wordnet_dir))
        except ValueError as e:
            raise CommandError(str(e)) from e
        taxonomy = json.loads(text)
        summary = f"{len(taxonomy['classes'])} classes, {len(taxonomy['synsets'])} synsets"
        if check:
            if not out.exists() or out.read_text(encoding="utf-8") != text:
                raise CommandError(f"{out} is out of date ({summary}); rerun build_taxonomy without --check")
            self.stdout.write(f"{out} is up to date ({summary})")
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"wrote {out} ({summary})"))
