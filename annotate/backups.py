"""Backing up and restoring everything that is not code: the PostgreSQL database and MEDIA_ROOT.

A backup is a folder with database.dump (pg_dump's custom format) and media.tar.gz. The database is
dumped first: files are stored before the rows that name them, so every file a dumped row names is
already there when the media is archived (a file newer than the dump is archived too, and harmless).
"""

import os
import subprocess
import tarfile
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.exceptions import DomainError

DATABASE_FILE = "database.dump"
MEDIA_FILE = "media.tar.gz"
MEDIA_ARCHIVE_ROOT = "media"


class BackupFailed(DomainError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def _postgres_command(program, *arguments):
    """A pg_dump or pg_restore command line for the default database, and its environment."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise BackupFailed(
            "backup and restore work on PostgreSQL; for the SQLite demo, copy the var/ folder while the app is stopped"
        )
    command = [program, "--no-owner", "--no-privileges", *arguments]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            command += [option, str(database[key])]
    environment = {**os.environ}
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = database["PASSWORD"]
    return command, environment, database["NAME"]


def _run(command, environment):
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupFailed(f"{command[0]} is not installed: install the PostgreSQL client tools") from None
    if result.returncode != 0:
        raise BackupFailed(f"{command[0]} failed: {result.stderr.strip()}")


def create_backup(directory):
    """Write database.dump and media.tar.gz into `directory` (created if missing, refused if it holds a backup)."""
    directory = Path(directory)
    database_file, media_file = directory / DATABASE_FILE, directory / MEDIA_FILE
    if database_file.exists() or media_file.exists():
        raise BackupFailed(f"{directory} already holds a backup; choose a new folder")
    command, environment, name = _postgres_command("pg_dump", "--format=custom")
    directory.mkdir(parents=True, exist_ok=True)
    _run([*command, "--file", str(database_file), name], environment)
    media = Path(settings.MEDIA_ROOT)
    with tarfile.open(media_file, "w:gz") as archive:
        if media.is_dir():
            archive.add(media, arcname=MEDIA_ARCHIVE_ROOT)
    return {"database": database_file, "media": media_file}


def restore_backup(directory):
    """Load a backup into the configured database, which must be empty (migrate nothing first), and unpack
    its media into MEDIA_ROOT. The database is restored in one transaction: all or nothing."""
    directory = Path(directory)
    database_file, media_file = directory / DATABASE_FILE, directory / MEDIA_FILE
    for path in (database_file, media_file):
        if not path.is_file():
            raise BackupFailed(f"{path} is missing: {directory} is not a backup made by `manage.py backup`")
    command, environment, name = _postgres_command("pg_restore", "--exit-on-error", "--single-transaction")
    tables = connection.introspection.table_names()
    if tables:
        raise BackupFailed(f"database {name!r} is not empty ({len(tables)} tables): restore into a new, empty database")
    connection.close()  # pg_restore works alone on the database
    _run([*command, "--dbname", name, str(database_file)], environment)
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(media_file, "r:gz") as archive:
        members = [_under_media_root(member) for member in archive.getmembers() if member.name != MEDIA_ARCHIVE_ROOT]
        # The "data" filter refuses links out of the folder, absolute paths and device files.
        archive.extractall(media, members=members, filter="data")
    return {"database": name, "media": media}


def _under_media_root(member):
    member.name = member.name.removeprefix(f"{MEDIA_ARCHIVE_ROOT}/")
    return member
