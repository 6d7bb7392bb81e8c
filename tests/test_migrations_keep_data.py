"""Issue 14 moves models between apps with no data loss: a database built and populated (by `manage.py demo`) at the
migrations of before the moves, then migrated forward by `manage.py migrate`, keeps every table and every row."""

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor

ROOT = Path(__file__).resolve().parent.parent

# The last migrations of the two apps between which issue 14 moved models, before the moves (commit 456347b). Every
# other app migrates as far as it can without them, so that the demo of today's code finds the tables it writes.
MIGRATIONS_BEFORE_THE_MOVES = {
    "annotate": "0013_browse_indexes",
    "consensus": "0001_initial",
}

# The one change to existing rows that a move makes: a moved model's content type follows it to its new app and
# keeps its id (annotate 0014), so that the permissions and admin log entries that point at it stay attached.
MOVED_CONTENT_TYPES = {
    ("consensus", "consensuspolicy"): "annotate",
    ("consensus", "consensusposterior"): "annotate",
}

# Tables the demo fills, among them those of the moved models: the comparison is of real rows, not of empty tables.
TABLES_THE_DEMO_FILLS = (
    "annotate_reviewitem",
    "annotate_reviewerverdict",
    "consensus_consensuspolicy",
    "consensus_consensusposterior",
)
LEAST_TABLES_WITH_ROWS = 20


@pytest.fixture
def scratch_database_url(django_db_blocker):
    """A new, empty PostgreSQL database beside the test database, as this thread's default connection (where the data
    migrations write) and as a DATABASE_URL."""
    database_url = os.environ["DATABASE_URL"]
    name = f"{dj_database_url.parse(database_url)['NAME'][:40]}_migrations_{uuid.uuid4().hex[:8]}"
    original = connections[DEFAULT_DB_ALIAS]
    with django_db_blocker.unblock():
        with original._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connections[DEFAULT_DB_ALIAS] = type(original)({**original.settings_dict, "NAME": name}, DEFAULT_DB_ALIAS)
        try:
            yield urlsplit(database_url)._replace(path=f"/{name}").geturl()
        finally:
            connections[DEFAULT_DB_ALIAS].close()
            connections[DEFAULT_DB_ALIAS] = original
            with original._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate_to_before_the_moves():
    """Apply the migrations up to MIGRATIONS_BEFORE_THE_MOVES, then create content types and permissions as
    `manage.py migrate` does after it has migrated."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    pinned = list(MIGRATIONS_BEFORE_THE_MOVES.items())
    # The moves and whatever comes after them in the two apps.
    after_the_moves = {
        node
        for node in graph.nodes
        if node[0] in MIGRATIONS_BEFORE_THE_MOVES
        and node not in graph.forwards_plan((node[0], MIGRATIONS_BEFORE_THE_MOVES[node[0]]))
    }
    targets = list(pinned)
    for app_label in sorted(executor.loader.migrated_apps - MIGRATIONS_BEFORE_THE_MOVES.keys()):
        reachable = [
            node
            for leaf in graph.leaf_nodes(app_label)
            for node in graph.forwards_plan(leaf)
            if node[0] == app_label and not after_the_moves & set(graph.forwards_plan(node))
        ]
        if reachable:
            targets.append(reachable[-1])
    plan = executor.migration_plan(targets)
    state = executor.migrate(targets, plan=plan)
    state.clear_delayed_apps_cache()
    emit_post_migrate_signal(0, False, DEFAULT_DB_ALIAS, apps=state.apps, plan=plan)


def manage(database_url, workdir, *args):
    """Run manage.py as `make demo` runs it, on the given database, with tasks in-process and files under workdir."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        RELABEL_VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"),
        STATIC_ROOT=str(workdir / "static"),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def canonical(row):
    return json.dumps(row, sort_keys=True)


def snapshot():
    """{table: rows} of every table of the public schema but django_migrations, each row a canonical JSON object of
    its columns by name (to_jsonb writes every PostgreSQL type, bytea and timestamps included, as exact text)."""
    rows = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [table for (table,) in cursor.fetchall() if table != "django_migrations"]
        for table in tables:
            cursor.execute(f'SELECT to_jsonb(r)::text FROM "{table}" AS r')
            rows[table] = sorted(canonical(json.loads(text)) for (text,) in cursor.fetchall())
    return rows


def with_content_types_moved(before):
    """The snapshot `before` as the moves leave it: MOVED_CONTENT_TYPES under their new app label."""
    content_types = [json.loads(row) for row in before["django_content_type"]]
    for old_place, new_app_label in MOVED_CONTENT_TYPES.items():
        moving = [row for row in content_types if (row["app_label"], row["model"]) == old_place]
        assert len(moving) == 1, f"the content type {old_place} is not in the database before the moves"
        moving[0]["app_label"] = new_app_label
    return {**before, "django_content_type": sorted(canonical(row) for row in content_types)}


# Apps and models added after the moves add their content types, permissions and roles: these tables may gain
# rows, never lose one.
GROWING_TABLES = {"django_content_type", "auth_permission", "auth_group"}


def changed_rows(expected, actual):
    """{table: {"lost": rows, "gained": rows}} of the tables whose rows differ (gains in GROWING_TABLES allowed)."""
    changes = {}
    for table in expected:
        lost = Counter(expected[table]) - Counter(actual[table])
        gained = Counter() if table in GROWING_TABLES else Counter(actual[table]) - Counter(expected[table])
        if lost or gained:
            changes[table] = {"lost": sorted(lost.elements())[:5], "gained": sorted(gained.elements())[:5]}
    return changes


def test_migrating_forward_keeps_every_table_and_every_row(scratch_database_url, tmp_path):
    migrate_to_before_the_moves()
    manage(scratch_database_url, tmp_path, "demo")
    before = snapshot()
    assert all(before[table] for table in TABLES_THE_DEMO_FILLS), {t: len(before[t]) for t in TABLES_THE_DEMO_FILLS}
    assert sum(1 for rows in before.values() if rows) >= LEAST_TABLES_WITH_ROWS

    manage(scratch_database_url, tmp_path, "migrate", "--no-input")
    after = snapshot()

    # Tables that later migrations add are new; every table there before is still there.
    assert sorted(set(before) - set(after)) == [], "tables were dropped or renamed"
    changes = changed_rows(with_content_types_moved(before), after)
    assert not changes, json.dumps(changes, indent=1)
