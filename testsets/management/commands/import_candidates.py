"""manage.py import_candidates DIR --testset NAME, or --manifest CSV --testset NAME"""

import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import as_command_errors
from testsets.services import import_candidates


class Command(BaseCommand):
    help = (
        "Add candidate images to a test set's pool: a folder laid out as for import_images, or a manifest CSV "
        "filename,wnid[,uri,source_id,search_key,date_taken,date_uploaded]."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", help="a folder of images (wnid folders, or a labels file)")
        parser.add_argument("--testset", required=True)
        parser.add_argument("--manifest", help="a manifest CSV instead of a folder")

    @as_command_errors
    def handle(self, *args, directory=None, testset, manifest=None, **options):
        if (directory is None) == (manifest is None):
            raise CommandError("give a folder or --manifest CSV, not both")
        summary = import_candidates(testset_name=testset, directory=directory, manifest=manifest)
        self.stdout.write(json.dumps(summary))
