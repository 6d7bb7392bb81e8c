from django.core.management.base import BaseCommand

from annotate.backups import create_backup
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = "Back up the PostgreSQL database (pg_dump custom format) and MEDIA_ROOT into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder for database.dump and media.tar.gz (must not hold a backup)")

    @as_command_errors
    def handle(self, *args, directory, **options):
        files = create_backup(directory)
        for what, path in files.items():
            self.stdout.write(f"{what}: {path} ({path.stat().st_size:,} bytes)")
