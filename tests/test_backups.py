"""manage.py backup and restore: a dump restored into a new, empty database holds every verdict."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from annotate.models import ReviewItem, VerdictChange
from tests.conftest import build_dataset, connect

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_database():
    """A new database with nothing in it, dropped after the test."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    admin = connect("postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def all_rows(database_name):
    """Every row of every table of the app's models, in primary key order, by table."""
    tables = sorted({model._meta.db_table for model in apps.get_models()})
    with connect(database_name) as db, db.cursor() as cursor:
        rows = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY 1')
            rows[table] = cursor.fetchall()
    return rows


def media_files(root):
    root = Path(root)
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


@pytest.mark.django_db(transaction=True)  # pg_dump sees only committed rows
def test_restored_dump_holds_every_verdict_and_its_history(client, reviewer, image_folder, tmp_path, empty_database):
    dataset = build_dataset(image_folder, tmp_path)
    client.force_login(reviewer)
    items = list(ReviewItem.objects.filter(dataset=dataset).order_by("pk"))
    for item, verdict in zip(items, ["correct", "wrong", "unclear", "dont_know", "correct", "wrong"], strict=False):
        response = client.post(f"/api/review-items/{item.pk}/verdict/", {"verdict": verdict})
        assert response.status_code == 200, response.content
    first = items[0]
    assert client.post(f"/api/review-items/{first.pk}/verdict/", {"verdict": "wrong"}).status_code == 200
    history = VerdictChange.objects.filter(item__dataset=dataset)
    assert history.count() == 7

    backup = tmp_path / "backup"
    call_command("backup", str(backup), verbosity=0)
    assert {path.name for path in backup.iterdir()} == {"database.dump", "media.tar.gz"}

    restored_media = tmp_path / "restored-media"
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{empty_database}",
        "MEDIA_ROOT": str(restored_media),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "restore", str(backup)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert f"restored database {empty_database}" in result.stdout

    original, restored = all_rows(database["NAME"]), all_rows(empty_database)
    assert restored == original
    verdict_table, history_table = ReviewItem._meta.db_table, VerdictChange._meta.db_table
    assert len(restored[history_table]) == 7
    verdicts = {item.pk: item.verdict for item in ReviewItem.objects.all()}
    with connect(empty_database) as db, db.cursor() as cursor:
        cursor.execute(f'SELECT id, verdict FROM "{verdict_table}"')
        assert dict(cursor.fetchall()) == verdicts
    assert media_files(restored_media) == media_files(settings.MEDIA_ROOT)
    assert any(name.startswith("images/") for name in media_files(restored_media))


@pytest.mark.django_db
def test_restore_refuses_a_database_that_is_not_empty(tmp_path, image_folder):
    build_dataset(image_folder, tmp_path)
    call_command("backup", str(tmp_path / "backup"), verbosity=0)
    with pytest.raises(CommandError, match="is not empty .* restore into a new, empty database"):
        call_command("restore", str(tmp_path / "backup"))


@pytest.mark.django_db
def test_backup_refuses_to_overwrite_a_backup_and_restore_needs_one(tmp_path):
    call_command("backup", str(tmp_path / "backup"), verbosity=0)
    with pytest.raises(CommandError, match="already holds a backup; choose a new folder"):
        call_command("backup", str(tmp_path / "backup"))
    with pytest.raises(CommandError, match="database.dump is missing"):
        call_command("restore", str(tmp_path))
