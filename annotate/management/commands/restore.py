from django.core.management.base import BaseCommand, CommandError

from annotate.backups import BackupFailed, restore_backup


class Command(BaseCommand):
    help = "Restore a folder made by `backup` into an empty database (DATABASE_URL) and MEDIA_ROOT."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder holding database.dump and media.tar.gz")

    def handle(self, *args, directory, **options):
        try:
            restored = restore_backup(directory)
        except BackupFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored database {restored['database']} and media into {restored['media']}")
