"""Shared plumbing of the benchmark scripts: the bench database, Django setup, timing and reporting.

Each script in bench/ imports this module and is run by hand from the repository root, e.g.
``.venv/bin/python bench/import_bench.py``. Nothing here is used by the app or its tests.
"""

import atexit
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RELABEL_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench"
LOAD_AT_START = os.getloadavg()

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# Debian's Chromium, as the tests drive it: never `playwright install`.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium():
    """Stop the bench at once, before it builds anything, where Debian's Chromium is missing."""
    if not Path(CHROMIUM).exists():
        sys.exit(f"error: {CHROMIUM} is missing: install Debian's chromium package (never `playwright install`)")


def launch_chromium(playwright, headed=False):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=not headed)


def configure_environment(database_url=None):
    """Environment defaults for the bench: settings module, bench database, media in a temp dir.

    Must run before Django is imported. Returns the effective DATABASE_URL.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # bench/load.py reports the server's own time from the Server-Timing header.
    os.environ.setdefault("RELABEL_SERVER_TIMING", "true")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if "MEDIA_ROOT" not in os.environ:
        media = tempfile.mkdtemp(prefix="relabel-bench-media-")
        os.environ["MEDIA_ROOT"] = media
        atexit.register(shutil.rmtree, media, ignore_errors=True)
    if "STATIC_ROOT" not in os.environ:
        static = tempfile.mkdtemp(prefix="relabel-bench-static-")
        os.environ["STATIC_ROOT"] = static
        atexit.register(shutil.rmtree, static, ignore_errors=True)
    # A fixed key, so that a bench run never writes var/secret_key.
    os.environ.setdefault("SECRET_KEY", "relabel-bench-only-not-a-secret")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    return os.environ["DATABASE_URL"]


def require_shared(relative):
    """A path under the shared real data, or exit with a clear message when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        sys.exit(
            f"error: {path} is absent. This benchmark needs the real data under {SHARED_DATA} "
            "(set RELABEL_SHARED_DATA to point elsewhere); it is never copied into the repository."
        )
    return path


def _pg_parts(database_url):
    url = urlparse(database_url)
    if url.scheme not in {"postgres", "postgresql", "pgsql"}:
        return None
    return {
        "dbname": url.path.lstrip("/"),
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password,
    }


def _maintenance_connection(parts):
    import psycopg2

    connection = psycopg2.connect(
        dbname="postgres", host=parts["host"], port=parts["port"], user=parts["user"], password=parts["password"]
    )
    connection.autocommit = True
    return connection


def pg_database_exists(database_url):
    parts = _pg_parts(database_url)
    with _maintenance_connection(parts) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [parts["dbname"]])
        return cursor.fetchone() is not None


def prepare_pg_database(database_url, reset):
    """Create the bench database if missing; drop and recreate it first when `reset`.

    Only databases whose name contains 'bench' are ever dropped.
    """
    parts = _pg_parts(database_url)
    if parts is None:
        sys.exit(f"error: the bench needs PostgreSQL; DATABASE_URL is {database_url!r}")
    name = parts["dbname"]
    from psycopg2 import sql

    try:
        connection = _maintenance_connection(parts)
    except Exception as exc:  # any connection failure ends the run with its reason
        sys.exit(f"error: cannot connect to PostgreSQL at {parts['host']}:{parts['port']}: {exc}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cursor.fetchone() is not None
            if exists and reset:
                if "bench" not in name:
                    sys.exit(f"error: refusing to drop database {name!r}: its name does not contain 'bench'")
                cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                exists = False
            if not exists:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def setup_django(*, reset, database_url=None, migrate=True):
    """Configure, (re)create the bench database, django.setup() and migrate. Returns the DATABASE_URL."""
    url = configure_environment(database_url)
    import django

    if _pg_parts(url) is not None:
        from django.apps import apps

        if apps.ready:
            from django.db import connections

            connections.close_all()
        prepare_pg_database(url, reset)

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return url


def redacted(database_url):
    url = urlparse(database_url)
    if url.password:
        return database_url.replace(f":{url.password}@", ":***@")
    return database_url


@contextmanager
def timed(results, key):
    """Store the seconds the block took under results[key]."""
    start = time.perf_counter()
    yield
    results[key] = time.perf_counter() - start


def percentile(values, q):
    """The q-th percentile (0-100) with linear interpolation, like numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds):
    """n, mean, p50, p95, p99 and max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
    }


def print_table(title, header, rows):
    """A small fixed-width table: header is a list of column names, rows lists of cells."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join("-" * w for w in widths)
    print(line)
    for number, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if number == 0:
            print(line)
    print(line)


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def environment_info(database_url):
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "database_url": redacted(database_url),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_at_start": list(LOAD_AT_START),
        "load_average_at_end": list(os.getloadavg()),
    }
    try:
        import django

        info["django"] = django.get_version()
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                info["postgresql"] = cursor.fetchone()[0]
    except Exception:  # environment details are best effort
        pass
    return info


def write_json(path, benchmark, database_url, results, goals=None):
    if not path:
        return
    document = {
        "benchmark": benchmark,
        "environment": environment_info(database_url),
        "results": results,
        "goals": goals or {},
    }
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


def goal_line(name, value, limit, unit):
    status = "OK" if value < limit else "MISSED"
    return [name, f"{value:,.3f} {unit}", f"< {limit} {unit}", status]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind, workers, port, log_path, threads=4):
    """gunicorn (gthread workers) or `manage.py runserver --noreload` on the port, once it answers /login/."""
    python = Path(sys.executable)
    if kind == "gunicorn":
        gunicorn = python.parent / "gunicorn"
        command = [str(gunicorn), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        command += ["-k", "gthread", "--threads", str(threads), "--access-logfile", "-", "--log-level", "warning"]
    else:
        command = [str(python), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    log = open(log_path, "w")  # noqa: SIM115 - closed in stop_server
    process = subprocess.Popen(
        command, cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.log = log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    sys.exit(f"error: the {kind} server did not answer on port {port}; its log:\n{Path(log_path).read_text()}")


def stop_server(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    process.log.close()


def add_review_set_arguments(parser):
    """The arguments of the benches over a generated review set: output, database, reuse, size, share decided."""
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", help=f"PostgreSQL URL of the bench database (default {DEFAULT_DATABASE_URL})")
    parser.add_argument("--keep-db", action="store_true", help="reuse the bench dataset if it is already built")
    parser.add_argument("--images", type=int, default=50_000, help="images in the dataset (default 50000)")
    parser.add_argument("--decided", type=float, default=0.20, help="share of items with a verdict (default 0.20)")


def server_time(response):
    """The app's own milliseconds from an http.client response's Server-Timing header (config.timing), or None."""
    for part in (response.getheader("Server-Timing") or "").split(","):
        name, _, params = part.strip().partition(";")
        if name == "app" and params.startswith("dur="):
            return float(params[4:])
    return None


class RequestTimings:
    """What clients on several threads measured, per request kind: each answer's status, and the client's and the
    server's milliseconds of the answers that succeeded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.client_ms = defaultdict(list)
        self.server_ms = defaultdict(list)
        self.statuses = defaultdict(lambda: defaultdict(int))

    def record(self, kind, status, client_ms, server_ms):
        with self.lock:
            self.statuses[kind][status] += 1
            if status < 400:
                self.client_ms[kind].append(client_ms)
                if server_ms is not None:
                    self.server_ms[kind].append(server_ms)

    def summary(self):
        return {
            kind: {
                "client_ms": latency_summary([ms / 1000 for ms in self.client_ms[kind]]),
                "server_ms": latency_summary([ms / 1000 for ms in self.server_ms[kind]]),
                "statuses": dict(self.statuses[kind]),
            }
            for kind in sorted(self.statuses)
        }
