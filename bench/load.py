"""Reviewers hammering the review API over real HTTP: gunicorn and PostgreSQL, N concurrent clients, p50/p95/p99.

Each client is one reviewer (token auth, one keep-alive connection, stdlib http.client) that loops without
pause: GET /api/review/next/ then one POST .../verdict/ per candidate (a random verdict), for --duration
seconds. Reported per request kind: the client's round trip and the server's own time (the Server-Timing
header of config/timing.py, queueing in gunicorn left out), and the statuses. Failed requests (connection
refused while the web server restarts, 503 while PostgreSQL restarts) are retried with backoff and counted.

Afterwards every acknowledged verdict is checked one by one against the database: each reviewer's last
acknowledged verdict on an item must be their current verdict there.

--setup loads the data of issue 6 into the bench database (default relabel_load) once: the 50,000 ImageNet
validation images of ../shared/data/val-predictions (manifest) with that model's predictions, and the ReaL
raters' 924,810 votes (majority of 5). Without the real data, --setup generates a smaller dataset instead.

    .venv/bin/python bench/load.py --setup [--clients 32] [--duration 60] [--workers N]
        [--restart-web-at S] [--restart-postgres-at S] [--json FILE]
"""

import argparse
import http.client
import itertools
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import benchlib

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_load"
DATASET = "imagenet-val"
VERDICTS = ["correct", "wrong", "unclear", "dont_know"]
RETRY_STATUSES = {502, 503, 504}
PERCENTILES = (50, 95, 99)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--setup", action="store_true", help="load the dataset first if it is not there")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    # More requests at once than cores only makes each one wait for a CPU inside the app: let them queue in
    # gunicorn instead, where the server's time does not count them.
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1, help="gunicorn workers (cores + 1)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    parser.add_argument("--restart-web-at", type=float, help="restart gunicorn this many seconds in")
    parser.add_argument("--restart-postgres-at", type=float, help="restart PostgreSQL this many seconds in")
    parser.add_argument("--json", help="write the results here too")
    return parser.parse_args()


# --- data -----------------------------------------------------------------------------------------------------


def load_real_data():
    import numpy as np

    from annotate.image_import import register_manifest
    from annotate.prediction_import import import_predictions
    from interchange.votes import import_votes

    paths = json.loads(benchlib.require_shared("val-predictions/index_to_filepath.json").read_text())
    with tempfile.TemporaryDirectory() as work:
        manifest = Path(work) / "manifest.csv"
        manifest.write_text("filename,wnid\n" + "".join(f"{p.split('/')[-1]},{p.split('/')[-2]}\n" for p in paths))
        register_manifest(dataset_name=DATASET, manifest_file=manifest)
        predicted = Path(work) / "predictions.npy"
        np.save(predicted, np.load(benchlib.SHARED_DATA / "val-predictions/cv_predicted_labels.npy").astype(np.int64))
        import_predictions(model_name="cv-classifier", dataset_name=DATASET, path=predicted)
    return import_votes(dataset_name=DATASET, path=benchlib.require_shared("real-raters/raters.npz"))


def setup_data(args):
    from annotate.models import Dataset

    if Dataset.objects.filter(name=DATASET).exists():
        print(f"dataset {DATASET} is already loaded")
        return
    started = time.perf_counter()
    summary = load_real_data()
    print(f"loaded {DATASET} in {time.perf_counter() - started:.1f} s: {summary['verdicts_added']} votes")


def reviewer_tokens(count):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from accounts.roles import REVIEWER

    reviewers = Group.objects.get(name=REVIEWER)
    tokens = []
    for index in range(count):
        user, _ = get_user_model().objects.get_or_create(username=f"load-reviewer-{index}")
        user.groups.add(reviewers)
        tokens.append((user.pk, Token.objects.get_or_create(user=user)[0].key))
    return tokens


# --- clients --------------------------------------------------------------------------------------------------


class Results(benchlib.RequestTimings):
    def __init__(self):
        super().__init__()
        self.retries = defaultdict(int)
        self.acknowledged = {}  # (item id, reviewer id) -> last verdict the server acknowledged


class Client(threading.Thread):
    def __init__(self, port, reviewer_id, token, deadline, results):
        super().__init__(daemon=True)
        self.port, self.reviewer_id, self.deadline, self.results = port, reviewer_id, deadline, results
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.connection = None
        self.random = random.Random(reviewer_id)

    def call(self, kind, method, path, body=None):
        """(status, parsed body), retrying connection failures and 502-504 with backoff until the deadline."""
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = str(uuid.uuid4())
        for attempt in itertools.count():
            started = time.perf_counter()
            status, data = 0, b""
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.connection.request(method, path, payload, headers)
                response = self.connection.getresponse()
                data = response.read()
                status = response.status
                self.results.record(
                    kind, status, (time.perf_counter() - started) * 1000, benchlib.server_time(response)
                )
            except (OSError, http.client.HTTPException):
                self.connection = None
            if status and status not in RETRY_STATUSES:
                return status, json.loads(data) if data else None
            with self.results.lock:
                self.results.retries[kind] += 1
            if time.monotonic() > self.deadline + 60:
                return status, None
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + self.random.random()))

    def run(self):
        after = None
        while time.monotonic() < self.deadline:
            query = f"/api/review/next/?dataset={DATASET}" + (f"&after={after}" if after is not None else "")
            status, image = self.call("next image", "GET", query)
            if status != 200:
                if status == 204:
                    return
                continue
            after = image["position"]
            for item in image["items"]:
                verdict = self.random.choice(VERDICTS)
                status, _ = self.call(
                    "save verdict", "POST", f"/api/review-items/{item['id']}/verdict/", {"verdict": verdict}
                )
                if status == 200:
                    with self.results.lock:
                        self.results.acknowledged[(item["id"], self.reviewer_id)] = verdict


# --- disruptions ----------------------------------------------------------------------------------------------


def restart_postgres():
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, capture_output=True
    )


def disrupt(args, server, started, events):
    """Restart the web server and PostgreSQL at their times; `server` is a one-item list holding gunicorn."""
    plan = sorted(
        (at, name)
        for at, name in [(args.restart_web_at, "web"), (args.restart_postgres_at, "postgres")]
        if at is not None
    )
    for at, name in plan:
        time.sleep(max(0.0, started + at - time.monotonic()))
        began = time.monotonic()
        if name == "web":
            benchlib.stop_server(server[0])
            server[0] = benchlib.start_server("gunicorn", args.workers, args.port, args.log, threads=args.threads)
        else:
            restart_postgres()
        events.append(
            {"restarted": name, "at_s": round(began - started, 1), "took_s": round(time.monotonic() - began, 1)}
        )


# --- checking -------------------------------------------------------------------------------------------------


def lost_verdicts(acknowledged):
    """The acknowledged verdicts the database does not hold, checked one by one."""
    from django.db import connection

    from annotate.models import ReviewerVerdict

    connection.close()  # PostgreSQL may have restarted under this connection
    current = {}
    items = sorted({item for item, _ in acknowledged})
    for start in range(0, len(items), 5000):
        rows = ReviewerVerdict.objects.filter(item_id__in=items[start : start + 5000]).values_list(
            "item_id", "reviewer_id", "value"
        )
        current.update({(item, reviewer): value for item, reviewer, value in rows})
    return [(key, value, current.get(key)) for key, value in acknowledged.items() if current.get(key) != value]


def main():
    args = parse_args()
    benchlib.configure_environment(args.database_url)
    benchlib.setup_django(reset=False, database_url=args.database_url)
    if args.setup:
        setup_data(args)
    tokens = reviewer_tokens(args.clients)
    from django.db import connection

    connection.close()
    args.port = benchlib.free_port()
    args.log = Path(tempfile.mkdtemp(prefix="relabel-load-")) / "gunicorn.log"
    server = [benchlib.start_server("gunicorn", args.workers, args.port, args.log, threads=args.threads)]
    results, events = Results(), []
    started = time.monotonic()
    deadline = started + args.duration
    clients = [Client(args.port, reviewer, token, deadline, results) for reviewer, token in tokens]
    disruptor = threading.Thread(target=disrupt, args=(args, server, started, events), daemon=True)
    try:
        for client in clients:
            client.start()
        disruptor.start()
        for client in clients:
            client.join()
        disruptor.join()
    finally:
        benchlib.stop_server(server[0])
    elapsed = time.monotonic() - started
    lost = lost_verdicts(results.acknowledged)
    report(args, results, events, lost, elapsed)


def report(args, results, events, lost, elapsed):
    rows, summary = [], {}
    for kind in sorted(results.statuses):
        client = benchlib.latency_summary([ms / 1000 for ms in results.client_ms[kind]])
        server = benchlib.latency_summary([ms / 1000 for ms in results.server_ms[kind]])
        statuses = dict(sorted(results.statuses[kind].items()))
        summary[kind] = {
            "client_ms": client,
            "server_ms": server,
            "statuses": statuses,
            "retries": results.retries[kind],
        }
        rows.append(
            [kind, client["n"], *(server[f"p{q}_ms"] for q in PERCENTILES), *(client[f"p{q}_ms"] for q in PERCENTILES)]
        )
    benchlib.print_table(
        f"{args.clients} clients, {elapsed:.0f} s, gunicorn {args.workers}x{args.threads}",
        ["request", "n", "server p50", "server p95", "server p99", "client p50", "client p95", "client p99"],
        rows,
    )
    # 503 is the app's "the database is restarting, retry" (config/resilience.py); any other 5xx is a failure.
    server_errors = sum(
        n for kind in results.statuses.values() for status, n in kind.items() if status >= 500 and status != 503
    )
    unavailable = sum(kind.get(503, 0) for kind in results.statuses.values())
    print(f"statuses: { {kind: dict(s) for kind, s in results.statuses.items()} }")
    print(f"retries: {dict(results.retries)}; disruptions: {events}")
    print(f"server errors (5xx but 503): {server_errors}; 503 while the database was unavailable: {unavailable}")
    print(f"acknowledged verdicts: {len(results.acknowledged)}, missing or different in the database: {len(lost)}")
    for key, wanted, found in lost[:10]:
        print(f"  item {key[0]} reviewer {key[1]}: acknowledged {wanted}, database {found}")
    results_document = {
        "clients": args.clients,
        "gunicorn": f"{args.workers} workers x {args.threads} threads",
        "seconds": elapsed,
        "requests": summary,
        "server_errors": server_errors,
        "unavailable_503": unavailable,
        "disruptions": events,
        "acknowledged_verdicts": len(results.acknowledged),
        "lost_verdicts": len(lost),
    }
    benchlib.write_json(args.json, "load", args.database_url, results_document)


if __name__ == "__main__":
    main()
