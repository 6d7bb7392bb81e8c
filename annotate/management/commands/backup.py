from django.core.management.base import BaseCommand, CommandError

from annotate.backups import BackupFailed, create_backup


class Command(BaseCommand):
    help = "Back up the PostgreSQL database (pg_dump custom format) and MEDIA_ROOT into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder for database.dump and media.tar.gz (must not hold a backup)")

    def handle(self, *args, directory, **options):
        try:
            files = create_backup(directory)
        except BackupFailed as exc:
            raise CommandError(str(exc)) from exc
        for what, path in files.items():
            self.stdout.write(f"{what}: {path} ({path.stat().st_size:,} bytes)")
