"""The annotators' grid page and its submits at ImageNetV2's scale, over real HTTP: gunicorn and PostgreSQL (issue 15).

Builds, once, in the bench database (default relabel_bench_testset_grid; --keep-db reuses it): the test set of
bench/testset_frequencies_bench.py (a reference of 50 images in each of 1,000 classes, 222,600 candidates, 6,300
tasks of 48 images wanting 10 assignments each) halfway through its campaign: a third of the tasks answered 10 times,
the others 5 to 9 times (about 50,000 assignments from 200 crowd annotators), one annotator among them having
answered 1,000 tasks. Then, with the goals of the issue (p95 50 ms, on this machine):

- next task, in this process (grid.next_task_answer, what the page and the API call), p50/p95/p99 over --calls
  calls for three annotators: one with no answer, one of the crowd (about 250), the one with 1,000;
- the grid page (GET /testsets/<name>/annotate/: the page with its first task) and the next-task API, one request
  at a time through gunicorn, for the same three: the server's own time (Server-Timing, config/timing.py) and the
  client's round trip;
- submits with --clients annotators at once, each its own session (its own account, logged in) and its own
  keep-alive connection, doing what the grid page does: the task on screen, the next one fetched ahead
  (?skip=<on screen>), the answer submitted, the one fetched ahead shown; first back to back for --duration
  seconds (no pause: every client always waiting on the server, which on 2 cores measures queueing), then paced
  for --duration seconds (a pause of 0 to 2 x --pause seconds before each submit, still far quicker than a person
  judging 48 images). Reported per request kind: client round trip and server time, p50/p95/p99; how many
  PostgreSQL backends were found waiting on a lock (sampled every 50 ms); the CPU time gunicorn and PostgreSQL spent
  per task answered (from /proc: far less swayed than the times by what else the machine runs), and the rate it
  allows on this machine's cores; tasks answered more often than they want.

Each run first removes the assignments a run before made through the web (frequencies recounted), so runs start
from the same state. At the end it checks that every task's answered counter equals its assignments.

    .venv/bin/python bench/testset_grid_bench.py [--keep-db] [--database-url URL] [--clients 32] [--duration 20]
        [--pause 1] [--workers 3] [--threads 1] [--calls 50] [--json FILE]

bench/testset_grid_paint_bench.py times the same page in Chromium on the same database.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import tempfile
import threading
import time
from pathlib import Path

import benchlib
import numpy as np
from testset_frequencies_bench import CROWD, TESTSET, build_tasks, write_answers

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench_testset_grid"
FULL_SHARE = 1 / 3  # of the tasks, answered as often as they want (10)
PARTIAL_ANSWERS = (5, 9)  # the other tasks' assignments, uniform in this range
HEAVY = "bench-heavy"
HEAVY_ANSWERS = 1000
FRESH = "bench-fresh"
CROWD_MEMBER = "crowd-000"
WEB_PREFIX = "bench-web-"
GOAL_MS = 50.0
PERCENTILES = (50, 95, 99)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", default=DATABASE_URL, help=f"bench database (default {DATABASE_URL})")
    parser.add_argument("--keep-db", action="store_true", help="reuse the test set and its assignments if built")
    parser.add_argument("--clients", type=int, default=32, help="annotators submitting at once (default 32)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of each submit run (default 20)")
    parser.add_argument("--pause", type=float, default=1.0, help="mean seconds before a paced submit (default 1)")
    # More requests at once than cores only makes each wait for a CPU inside the app: they queue in gunicorn.
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1, help="gunicorn workers (cores + 1)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    parser.add_argument("--calls", type=int, default=50, help="next-task calls per annotator (default 50)")
    return parser.parse_args()


# --- data -----------------------------------------------------------------------------------------------------


def built():
    from testsets.models import Assignment, TestSet

    testset = TestSet.objects.filter(name=TESTSET).first()
    return testset is not None and Assignment.objects.filter(task__testset=testset).exists()


def build(results, work):
    """The test set and its tasks (testset_frequencies_bench.build_tasks), then the assignments of a campaign half
    done, imported."""
    from annotate.bulk import analyze
    from testsets.frequency_tasks import import_selections
    from testsets.models import Assignment, FrequencyTask, SelectionFrequency, TaskImage

    exported = build_tasks(results, work)
    rng = np.random.default_rng(1)
    tasks = sum(1 for _ in exported.open())
    full = rng.uniform(size=tasks) < FULL_SHARE
    answers = np.where(full, 10, rng.integers(PARTIAL_ANSWERS[0], PARTIAL_ANSWERS[1] + 1, size=tasks))
    heavy = np.zeros(tasks, dtype=bool)
    heavy[rng.permutation(tasks)[:HEAVY_ANSWERS]] = True
    numbers = iter(range(tasks))

    def annotators_of():
        number = next(numbers)
        chosen = [f"crowd-{annotator:03}" for annotator in rng.choice(CROWD, size=answers[number], replace=False)]
        return [HEAVY, *chosen[1:]] if heavy[number] else chosen

    path = work / "answers.jsonl"
    write_answers(exported, path, rng, annotators_of)
    with benchlib.timed(results, "import_selections_s"):
        results["import_selections"] = import_selections(testset_name=TESTSET, path=path)
    print(f"import_selections: {results['import_selections_s']:.2f} s, {results['import_selections']}", flush=True)
    analyze(FrequencyTask, TaskImage, Assignment, SelectionFrequency)


def reset_web_answers():
    """Remove the assignments earlier runs made through the web, with what they counted."""
    from django.db import connection, transaction
    from django.db.models import Count, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from testsets.frequency_tasks import recount_frequencies
    from testsets.models import Assignment, AssignmentSource, FrequencyTask
    from testsets.selectors import testset_named

    testset = testset_named(TESTSET)
    with transaction.atomic():
        web = Assignment.objects.filter(task__testset=testset, source=AssignmentSource.WEB)
        removed, _ = web.delete()
        if removed:
            per_task = (
                Assignment.objects.filter(task=OuterRef("pk"))
                .order_by()
                .values("task")
                .annotate(n=Count("pk"))
                .values("n")
            )
            FrequencyTask.objects.filter(testset=testset).update(answered=Coalesce(Subquery(per_task), 0))
            recount_frequencies(testset)
    if removed:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE testsets_frequencytask, testsets_assignment, testsets_selectionfrequency")
    return removed


def counters_off():
    """Tasks whose answered counter differs from their number of assignments."""
    from django.db.models import Count, F

    from testsets.models import FrequencyTask

    return (
        FrequencyTask.objects.filter(testset__name=TESTSET)
        .annotate(counted=Count("assignments"))
        .exclude(answered=F("counted"))
        .count()
    )


def over_answered():
    """(tasks answered more often than they want, the answers beyond)."""
    from django.db.models import Count, F, Sum

    from testsets.models import FrequencyTask

    over = (
        FrequencyTask.objects.filter(testset__name=TESTSET)
        .annotate(counted=Count("assignments"))
        .filter(counted__gt=F("assignments_wanted"))
        .aggregate(tasks=Count("pk", distinct=True), extra=Sum(F("counted") - F("assignments_wanted")))
    )
    return over["tasks"], over["extra"] or 0


def annotators(names):
    """{name: user} for these annotators, accounts made where missing."""
    from django.contrib.auth import get_user_model

    from accounts.services import annotator_accounts

    accounts, _ = annotator_accounts(names)
    users = get_user_model().objects.in_bulk(list(accounts.values()))
    return {name: users[pk] for name, pk in accounts.items()}


def session_cookie(user):
    """A logged-in session of the user, as a Cookie header (with a CSRF token) and the token for X-CSRFToken."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    csrf = secrets.token_hex(16)  # 32 characters: a token Django accepts unmasked
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}; csrftoken={csrf}"
    return cookie, csrf


# --- in process -----------------------------------------------------------------------------------------------


def time_next_task_in_process(results, people, calls):
    from testsets import grid
    from testsets.selectors import testset_named

    testset = testset_named(TESTSET)
    rows = []
    for label, user in people.items():
        first, _ = grid.next_task(testset, user)
        latencies = []
        for _ in range(calls):
            start = time.perf_counter()
            answer = grid.next_task_answer(testset, user, [first.pk] if first else [])
            latencies.append(time.perf_counter() - start)
        summary = benchlib.latency_summary(latencies)
        summary["progress"] = answer["progress"]["text"]
        results[f"next_task_in_process_{label}"] = summary
        rows.append([label, answer["progress"]["text"], *(summary[f"p{q}_ms"] for q in PERCENTILES)])
    benchlib.print_table(
        "grid.next_task_answer in this process (ms)", ["annotator", "progress", "p50", "p95", "p99"], rows
    )


# --- over HTTP ------------------------------------------------------------------------------------------------


class Session:
    """One annotator's browser: a session cookie and a keep-alive connection."""

    def __init__(self, port, user, timings):
        self.port, self.timings = port, timings
        cookie, csrf = session_cookie(user)
        self.headers = {"Cookie": cookie, "X-CSRFToken": csrf, "Accept": "application/json"}
        self.connection = None

    def call(self, kind, method, path, body=None):
        """(status, body) of one request, timed; a broken connection is opened again and counts as status 0."""
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request(method, path, payload, headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection = None
            self.timings.record(kind, 0, 0.0, None)
            return 0, None
        self.timings.record(
            kind, response.status, (time.perf_counter() - started) * 1000, benchlib.server_time(response)
        )
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json and data else data


def time_pages_one_at_a_time(results, port, people, calls):
    """The grid page and the next-task API, one request at a time, for each annotator."""
    rows = []
    for label, user in people.items():
        timings = benchlib.RequestTimings()
        session = Session(port, user, timings)
        for _ in range(calls):
            session.call("grid page", "GET", f"/testsets/{TESTSET}/annotate/")
            session.call("next task", "GET", f"/api/testsets/{TESTSET}/tasks/next/")
        summary = timings.summary()
        results[f"one_at_a_time_{label}"] = summary
        for kind, figures in summary.items():
            rows.append(
                [
                    f"{kind}, {label}",
                    figures["client_ms"]["n"],
                    *(figures["server_ms"][f"p{q}_ms"] for q in PERCENTILES),
                    *(figures["client_ms"][f"p{q}_ms"] for q in PERCENTILES),
                    str(figures["statuses"]),
                ]
            )
    benchlib.print_table(
        "One request at a time through gunicorn (ms)",
        ["request", "n", "server p50", "p95", "p99", "client p50", "p95", "p99", "statuses"],
        rows,
    )


def annotate(session, deadline, pause, rng):
    """The grid page's loop until the deadline: the task on screen, the next fetched ahead, the answer submitted."""
    base = f"/api/testsets/{TESTSET}"
    status, answer = session.call("next task", "GET", f"{base}/tasks/next/")
    task = answer["task"] if status == 200 else None
    while task is not None and time.monotonic() < deadline:
        status, ahead = session.call("next task (ahead)", "GET", f"{base}/tasks/next/?skip={task['id']}")
        upcoming = ahead["task"] if status == 200 else None
        if pause:
            time.sleep(rng.uniform(0, 2 * pause))
        chosen = [image["token"] for image in task["images"] if rng.random() < 0.4]
        session.call("submit", "POST", f"{base}/tasks/{task['id']}/assignment/", {"selected": chosen})
        if upcoming is None:
            status, answer = session.call("next task", "GET", f"{base}/tasks/next/")
            upcoming = answer["task"] if status == 200 else None
        task = upcoming


class LockSampler(threading.Thread):
    """Every 50 ms: how many of the database's backends run a query, and how many of those wait on a lock."""

    def __init__(self, database_url):
        super().__init__(daemon=True)
        self.parts = benchlib._pg_parts(database_url)
        self.stop = threading.Event()
        self.active = self.waiting = self.samples = 0

    def run(self):
        import psycopg2

        connection = psycopg2.connect(**{k: v for k, v in self.parts.items() if v is not None})
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self.stop.wait(0.05):
                cursor.execute(
                    """SELECT COUNT(*) FILTER (WHERE state = 'active'),
                        COUNT(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')
                    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"""
                )
                active, waiting = cursor.fetchone()
                self.active += active
                self.waiting += waiting
                self.samples += 1
        connection.close()


def cpu_seconds(pids):
    """{pid: CPU seconds (user and system) it has used} of those of the processes that still run."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def server_processes(server):
    """The pids of gunicorn's master and workers (its process group)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == server.pid:
            pids.append(int(stat.parent.name))
    return pids


def database_backends(database_url):
    """The pids of PostgreSQL's backends serving the bench database (they run on this machine)."""
    import psycopg2

    parts = benchlib._pg_parts(database_url)
    connection = psycopg2.connect(**{k: v for k, v in parts.items() if v is not None})
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                AND backend_type = 'client backend' AND pid <> pg_backend_pid()"""
            )
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def cpu_used(before, after):
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def time_submits(results, port, server, users, database_url, duration, pause, label):
    timings = benchlib.RequestTimings()
    sessions = [Session(port, user, timings) for user in users]
    sampler = LockSampler(database_url)
    sampler.start()
    app_before = cpu_seconds(server_processes(server))
    database_before = cpu_seconds(database_backends(database_url))
    deadline = time.monotonic() + duration
    threads = [
        threading.Thread(target=annotate, args=(session, deadline, pause, random.Random(number)))
        for number, session in enumerate(sessions)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    app_cpu = cpu_used(app_before, cpu_seconds(server_processes(server)))
    database_cpu = cpu_used(database_before, cpu_seconds(database_backends(database_url)))
    summary = timings.summary()
    submits = summary.get("submit", {}).get("client_ms", {}).get("n", 0)
    results[f"submits_{label}"] = {
        "clients": len(users),
        "pause_s": pause,
        "seconds": elapsed,
        "submits_per_second": submits / elapsed,
        "requests": summary,
        "backends_active_mean": sampler.active / max(1, sampler.samples),
        "backends_waiting_on_locks_mean": sampler.waiting / max(1, sampler.samples),
        # A task's cycle: the next task fetched ahead, the answer submitted.
        "cpu_ms_per_task_app": 1000 * app_cpu / max(1, submits),
        "cpu_ms_per_task_database": 1000 * database_cpu / max(1, submits),
        "load_average": os.getloadavg()[0],
    }
    rows = [
        [
            kind,
            figures["client_ms"]["n"],
            *(figures["server_ms"][f"p{q}_ms"] for q in PERCENTILES),
            *(figures["client_ms"][f"p{q}_ms"] for q in PERCENTILES),
            str(figures["statuses"]),
        ]
        for kind, figures in summary.items()
    ]
    benchlib.print_table(
        f"{len(users)} annotators at once, {label}, {elapsed:.0f} s, {submits / elapsed:.0f} submits/s (ms)",
        ["request", "n", "server p50", "p95", "p99", "client p50", "p95", "p99", "statuses"],
        rows,
    )
    run = results[f"submits_{label}"]
    cycle = run["cpu_ms_per_task_app"] + run["cpu_ms_per_task_database"]
    cores = len(os.sched_getaffinity(0))
    print(
        f"PostgreSQL backends running a query: {run['backends_active_mean']:.1f} on average, waiting on a lock: "
        f"{run['backends_waiting_on_locks_mean']:.2f}. CPU per task answered (next fetched ahead and submit): "
        f"gunicorn {run['cpu_ms_per_task_app']:.1f} ms, PostgreSQL {run['cpu_ms_per_task_database']:.1f} ms: "
        f"{cores} idle cores would answer at most {1000 * cores / cycle:.0f} tasks/s. "
        f"Load average {run['load_average']:.1f}.",
        flush=True,
    )


def main():
    args = parse_args()
    database_url = benchlib.setup_django(reset=not args.keep_db, database_url=args.database_url)
    results = {}
    if not (args.keep_db and built()):
        with tempfile.TemporaryDirectory(prefix="relabel-bench-grid-") as work:
            build(results, Path(work))
    removed = reset_web_answers()
    print(f"assignments of earlier runs through the web removed: {removed}", flush=True)
    people = annotators([FRESH, CROWD_MEMBER, HEAVY])
    people = {"no answer": people[FRESH], "crowd (~250)": people[CROWD_MEMBER], "1,000 answered": people[HEAVY]}
    time_next_task_in_process(results, people, args.calls)
    web = list(annotators([f"{WEB_PREFIX}{number:02}" for number in range(args.clients)]).values())

    from django.db import connections

    connections.close_all()
    port = benchlib.free_port()
    log = Path(tempfile.mkdtemp(prefix="relabel-bench-grid-")) / "gunicorn.log"
    server = benchlib.start_server("gunicorn", args.workers, port, log, threads=args.threads)
    try:
        time_pages_one_at_a_time(results, port, people, args.calls)
        time_submits(results, port, server, web, database_url, args.duration, 0.0, "back to back")
        time_submits(results, port, server, web, database_url, args.duration, args.pause, "paced")
    finally:
        benchlib.stop_server(server)
    errors = [line for line in log.read_text().splitlines() if "Traceback" in line or " 500 " in line]
    results["server_errors"] = errors[:20]
    results["tasks_over_answered"], results["answers_beyond_wanted"] = over_answered()
    results["answered_counters_off"] = counters_off()
    print(
        f"tasks answered more often than they want: {results['tasks_over_answered']} "
        f"({results['answers_beyond_wanted']} answers beyond); answered counters off: "
        f"{results['answered_counters_off']}; server errors: {len(errors)}",
        flush=True,
    )
    crowd = results["one_at_a_time_crowd (~250)"]
    heavy = results["one_at_a_time_1,000 answered"]
    measures = {
        "grid_page_server_p95_ms": ("grid page server p95, crowd annotator", crowd["grid page"]["server_ms"]),
        "grid_page_heavy_server_p95_ms": ("grid page server p95, 1,000 answered", heavy["grid page"]["server_ms"]),
        "submit_back_to_back_client_p95_ms": (
            f"submit p95 (client), {args.clients} back to back",
            results["submits_back to back"]["requests"]["submit"]["client_ms"],
        ),
        "submit_back_to_back_server_p95_ms": (
            f"submit p95 (server), {args.clients} back to back",
            results["submits_back to back"]["requests"]["submit"]["server_ms"],
        ),
        "submit_paced_client_p95_ms": (
            f"submit p95 (client), {args.clients} paced",
            results["submits_paced"]["requests"]["submit"]["client_ms"],
        ),
    }
    benchlib.print_table(
        "Goals",
        ["measure", "value", "goal", "status"],
        [benchlib.goal_line(label, figures["p95_ms"], GOAL_MS, "ms") for label, figures in measures.values()],
    )
    goals = {
        key: {"limit": GOAL_MS, "value": figures["p95_ms"], "met": figures["p95_ms"] < GOAL_MS}
        for key, (_, figures) in measures.items()
    }
    benchlib.write_json(args.json, "testset_grid_bench", database_url, results, goals)


if __name__ == "__main__":
    main()
