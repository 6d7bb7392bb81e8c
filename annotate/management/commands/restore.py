from django.core.management.base import BaseCommand

from annotate.backups import restore_backup
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = "Restore a folder made by `backup` into an empty database (DATABASE_URL) and MEDIA_ROOT."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder holding database.dump and media.tar.gz")

    @as_command_errors
    def handle(self, *args, directory, **options):
        restored = restore_backup(directory)
        self.stdout.write(f"restored database {restored['database']} and media into {restored['media']}")
