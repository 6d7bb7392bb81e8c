"""Review-loop benchmark against PostgreSQL: "next image" and "save verdict" server time, export and status.

Builds a dataset of 50,000 registered images (generated manifest) with 3 generated models (top-5 class-index
.npy files), ~4 unique candidates per image (~190,000-200,000 review items), and ~20% of the items already
decided (the first images of the queue fully, plus a scatter), all through the app's importers plus set-based SQL
for the existing verdicts. Then 4 reviewer accounts walk the queue interleaved, each like the review page does:

    GET  /api/review/next/?dataset=D&after=<current position>&keep=<current id>   (prefetch the next image)
    POST /api/review-items/<id>/verdict/                                          (each candidate of the current one)

Requests go through django.test.Client (full middleware, auth, DRF view, services, serializers, in-process), so
the time measured is the server time without the network. Also times export_tfds + dumps and dataset_status.

    .venv/bin/python bench/review_bench.py [--keep-db] [--steps 500] [--json FILE] [--explain]

The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/relabel_bench) is dropped and
rebuilt unless --keep-db finds the bench dataset already built at the requested size.
"""

import argparse
import csv
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np

DATASET = "bench-review"
MODELS = ("bench-model-a", "bench-model-b", "bench-model-c")
REVIEWERS = ("bench-rev-1", "bench-rev-2", "bench-rev-3", "bench-rev-4")
NEXT_GOAL_MS = 30.0
VERDICT_GOAL_MS = 30.0
EXPORT_GOAL_S = 10.0
VERDICT_WEIGHTS = {"correct": 50, "wrong": 35, "unclear": 10, "dont_know": 5}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_review_set_arguments(parser)
    parser.add_argument("--steps", type=int, default=500, help="timed 'next image' requests (default 500)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-analyze", action="store_true", help="skip VACUUM ANALYZE after the build")
    parser.add_argument(
        "--no-full-export", action="store_true", help="skip the export with every item decided (rolled back)"
    )
    parser.add_argument("--explain", action="store_true", help="always print query counts and EXPLAIN ANALYZE")
    return parser.parse_args()


# --- building the dataset -----------------------------------------------------------------------------------


def generate_inputs(workdir, size, rng):
    """A manifest CSV and three top-5 prediction .npy files with ~4 unique top-1 candidates per image."""
    n_classes = 1000
    original = rng.integers(0, n_classes, size)
    # Three distinct confusable classes per image, near the original in class-index order, never the original.
    offsets = np.stack([rng.permutation(np.r_[-12:0, 1:13])[:3] for _ in range(size)])
    alternates = (original[:, None] + offsets) % n_classes
    manifest = Path(workdir) / "manifest.csv"
    import taxonomy

    wnids = taxonomy.class_wnids()
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "wnid"])
        for i in range(size):
            writer.writerow([f"bench_{i:06d}.JPEG", wnids[original[i]]])
    prediction_files = []
    for k, name in enumerate(MODELS):
        draw = rng.random(size)
        top1 = np.where(draw < 0.06, original, np.where(draw < 0.10, alternates[:, (k + 1) % 3], alternates[:, k]))
        rows = np.empty((size, 5), dtype=np.uint16)
        for i in range(size):
            ranked = [int(top1[i])]
            for candidate in (original[i], *alternates[i], (original[i] + 500) % n_classes):
                if int(candidate) not in ranked:
                    ranked.append(int(candidate))
            rows[i] = ranked[:5]
        path = Path(workdir) / f"{name}.npy"
        np.save(path, rows)
        prediction_files.append((name, path))
    return manifest, prediction_files


def create_reviewers():
    from django.contrib.auth.models import Group, User

    from accounts import roles

    group = Group.objects.get(name=roles.REVIEWER)
    users = []
    for username in REVIEWERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(group)
        users.append(user)
    return users


def add_existing_verdicts(dataset, users, share, seed):
    """Decide ~`share` of the items: the first images of the queue entirely, then a scatter over the rest."""
    from django.db import connection, transaction

    user_ids = [u.pk for u in users]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute("SELECT count(*) FROM annotate_reviewitem WHERE dataset_id = %s", [dataset.pk])
        total = cursor.fetchone()[0]
        target = int(total * share)
        # 90% of the target as whole images at the head of the queue (reviewers walk in order) ...
        cursor.execute(
            """SELECT position FROM (
                   SELECT i.position, sum(count(*)) OVER (ORDER BY i.position) AS running
                   FROM annotate_image i JOIN annotate_reviewitem r ON r.image_id = i.id
                   WHERE i.dataset_id = %s GROUP BY i.position) t
               WHERE running >= %s ORDER BY position LIMIT 1""",
            [dataset.pk, int(target * 0.9)],
        )
        head_end = cursor.fetchone()[0]
        verdict_sql = """CASE WHEN random() < 0.55 THEN 'correct' WHEN random() < 0.8 THEN 'wrong'
                              WHEN random() < 0.9 THEN 'unclear' ELSE 'dont_know' END"""
        reviewer_sql = "(%s::bigint[])[1 + floor(random() * %s)::int]"
        cursor.execute(
            f"""UPDATE annotate_reviewitem r SET verdict = {verdict_sql}, verdict_by_id = {reviewer_sql},
                    verdict_at = now() - random() * interval '30 days'
                FROM annotate_image i WHERE r.image_id = i.id AND i.dataset_id = %s AND i.position <= %s""",
            [user_ids, len(user_ids), dataset.pk, head_end],
        )
        head = cursor.rowcount
        # ... and the rest scattered over the remaining items (e.g. imported from an earlier annotation).
        cursor.execute(
            f"""UPDATE annotate_reviewitem r SET verdict = {verdict_sql}, verdict_by_id = {reviewer_sql},
                    verdict_at = now() - random() * interval '30 days'
                WHERE r.dataset_id = %s AND r.verdict = 'unreviewed' AND random() < %s""",
            [user_ids, len(user_ids), dataset.pk, max(target - head, 0) / max(total - head, 1)],
        )
        scattered = cursor.rowcount
        cursor.execute(
            """INSERT INTO annotate_verdictchange (item_id, reviewer_id, old, new, created_at)
               SELECT id, verdict_by_id, 'unreviewed', verdict, verdict_at FROM annotate_reviewitem
               WHERE dataset_id = %s AND verdict <> 'unreviewed'""",
            [dataset.pk],
        )
        cursor.execute(
            """UPDATE annotate_image i SET pending_items = c.n FROM (
                   SELECT image_id, count(*) FILTER (WHERE verdict = 'unreviewed') AS n
                   FROM annotate_reviewitem WHERE dataset_id = %s GROUP BY image_id) c
               WHERE i.id = c.image_id AND i.pending_items <> c.n""",
            [dataset.pk],
        )
    return {"items": total, "decided_head": head, "decided_scattered": scattered, "head_end_position": head_end}


def vacuum_analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("annotate_image", "annotate_reviewitem", "annotate_prediction", "annotate_verdictchange"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def build(args, results):
    from annotate.image_import import register_manifest
    from annotate.models import Dataset
    from annotate.prediction_import import import_predictions

    build_times = {}
    workdir = tempfile.mkdtemp(prefix="relabel-bench-review-")
    rng = np.random.default_rng(args.seed)
    try:
        with benchlib.timed(build_times, "generate_inputs_s"):
            manifest, prediction_files = generate_inputs(workdir, args.images, rng)
        with benchlib.timed(build_times, "register_manifest_s"):
            register_manifest(dataset_name=DATASET, manifest_file=manifest)
        for name, path in prediction_files:
            with benchlib.timed(build_times, f"import_predictions_{name}_s"):
                import_predictions(model_name=name, dataset_name=DATASET, path=path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    users = create_reviewers()
    dataset = Dataset.objects.get(name=DATASET)
    with benchlib.timed(build_times, "existing_verdicts_s"):
        verdicts = add_existing_verdicts(dataset, users, args.decided, args.seed)
    if not args.no_analyze:
        with benchlib.timed(build_times, "vacuum_analyze_s"):
            vacuum_analyze()
    results["build"] = {**build_times, **verdicts, "total_s": sum(build_times.values())}


def existing_build(args):
    """True when --keep-db finds the dataset built at this size."""
    if not args.keep_db:
        return False
    url = benchlib.configure_environment(args.database_url)
    if not benchlib.pg_database_exists(url):
        return False
    benchlib.setup_django(reset=False, database_url=args.database_url)
    from annotate.models import Dataset, Image

    dataset = Dataset.objects.filter(name=DATASET).first()
    return dataset is not None and Image.objects.filter(dataset=dataset).count() == args.images


# --- the review loop ------------------------------------------------------------------------------------------


class Reviewer:
    def __init__(self, user, seed):
        from django.conf import settings
        from django.test import Client

        if "testserver" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        self.user = user
        self.client = Client()
        self.client.force_login(user)
        self.current = None
        self.rng = random.Random(seed)
        self.cpu = []  # process CPU seconds of each request, the last one at the end

    def next_image(self):
        params = {"dataset": DATASET}
        if self.current:
            params["after"] = self.current["position"]
            params["keep"] = self.current["id"]
        cpu, start = time.process_time(), time.perf_counter()
        response = self.client.get("/api/review/next/", params)
        elapsed = time.perf_counter() - start
        self.cpu.append(time.process_time() - cpu)
        if response.status_code not in (200, 204):
            sys.exit(f"error: GET /api/review/next/ answered {response.status_code}: {response.content[:300]!r}")
        return elapsed, (response.json() if response.status_code == 200 else None)

    def judge_current(self):
        """Verdicts on each undecided candidate of the image on screen; the seconds of each request."""
        timings = []
        for item in (self.current or {}).get("items", []):
            if item["verdict"] != "unreviewed":
                continue
            value = self.rng.choices(list(VERDICT_WEIGHTS), weights=list(VERDICT_WEIGHTS.values()))[0]
            cpu, start = time.process_time(), time.perf_counter()
            response = self.client.post(
                f"/api/review-items/{item['id']}/verdict/", {"verdict": value}, content_type="application/json"
            )
            timings.append(time.perf_counter() - start)
            self.cpu.append(time.process_time() - cpu)
            if response.status_code != 200:
                sys.exit(f"error: verdict POST answered {response.status_code}: {response.content[:300]!r}")
        return timings


def walk_queue(reviewers, steps, warmup):
    """Each step: one reviewer prefetches its next image, then judges the one on screen, which it then leaves."""
    next_times, verdict_times, next_cpu, verdict_cpu, empty = [], [], [], [], 0
    for step in range(warmup + steps):
        reviewer = reviewers[step % len(reviewers)]
        elapsed, upcoming = reviewer.next_image()
        cpu = reviewer.cpu[-1]
        judged = reviewer.judge_current()
        if step >= warmup:
            next_times.append(elapsed)
            next_cpu.append(cpu)
            verdict_times.extend(judged)
            verdict_cpu.extend(reviewer.cpu[len(reviewer.cpu) - len(judged) :])
        if upcoming is None:
            empty += 1
        reviewer.current = upcoming
    return {"next": next_times, "verdict": verdict_times, "next_cpu": next_cpu, "verdict_cpu": verdict_cpu}, empty


def query_profile(reviewers):
    """Queries per request type, from a few extra requests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reviewer = reviewers[0]
    with CaptureQueriesContext(connection) as captured:
        reviewer.next_image()
    next_queries = [q["sql"] for q in captured.captured_queries]
    with CaptureQueriesContext(connection) as captured:
        judged = max(1, len(reviewer.judge_current()))
    verdict_queries = [q["sql"] for q in captured.captured_queries]
    return {
        "next_queries": len(next_queries),
        "next_sql": next_queries,
        "verdict_queries_per_request": len(verdict_queries) / judged,
        "verdict_sql": verdict_queries[: len(verdict_queries) // judged],
    }


def explain_queue(reviewer_user, after_position):
    """EXPLAIN ANALYZE of the queue queries that lease_next_image runs."""
    from django.db import transaction
    from django.utils import timezone

    from annotate.models import Dataset
    from annotate.selectors import pending_images

    dataset = Dataset.objects.get(name=DATASET)
    plans = {}
    with transaction.atomic():
        candidates = pending_images(dataset=dataset, reviewer=reviewer_user, now=timezone.now())
        locked = candidates.select_for_update(skip_locked=True, of=("self",))
        plans["queue_after_position"] = locked.filter(position__gt=after_position)[:1].explain(
            analyze=True, buffers=True
        )
        plans["queue_from_start"] = locked[:1].explain(analyze=True, buffers=True)
        transaction.set_rollback(True)
    return plans


def time_exports(results, full_export):
    from django.db import connection, transaction

    from annotate import selectors
    from annotate.models import Dataset
    from interchange import formats

    dataset = Dataset.objects.get(name=DATASET)
    timings = {}
    with benchlib.timed(timings, "export_tfds_s"):
        document = formats.export_tfds(dataset)
    with benchlib.timed(timings, "dumps_s"):
        text = formats.dumps(document)
    timings["export_total_s"] = timings["export_tfds_s"] + timings["dumps_s"]
    timings["export_megabytes"] = len(text.encode()) / 1e6
    timings["export_images"] = len(document.get("initial_annots", {}))
    if full_export:
        # The end state: every item decided. Measured inside a transaction that is rolled back.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    """UPDATE annotate_reviewitem SET verdict = CASE WHEN is_original THEN 'correct' ELSE 'wrong' END
                       WHERE dataset_id = %s AND verdict IN ('unreviewed', 'dont_know')""",
                    [dataset.pk],
                )
            with benchlib.timed(timings, "full_export_tfds_s"):
                document = formats.export_tfds(dataset)
            with benchlib.timed(timings, "full_dumps_s"):
                text = formats.dumps(document)
            timings["full_export_total_s"] = timings["full_export_tfds_s"] + timings["full_dumps_s"]
            timings["full_export_megabytes"] = len(text.encode()) / 1e6
            timings["full_export_images"] = len(document.get("initial_annots", {}))
            transaction.set_rollback(True)
    status_runs = []
    for _ in range(5):
        start = time.perf_counter()
        status = selectors.dataset_status(dataset)
        status_runs.append(time.perf_counter() - start)
    timings["dataset_status"] = benchlib.latency_summary(status_runs)
    timings["status"] = {k: v for k, v in status.items() if k != "model_names"}
    progress_runs = []
    from django.contrib.auth.models import User

    reviewer = User.objects.get(username=REVIEWERS[0])
    for _ in range(5):
        start = time.perf_counter()
        selectors.reviewer_progress(reviewer=reviewer, dataset=dataset)
        progress_runs.append(time.perf_counter() - start)
    timings["reviewer_progress"] = benchlib.latency_summary(progress_runs)
    results["export_and_status"] = timings


# --- main ------------------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    results = {"parameters": {k: v for k, v in vars(args).items() if k not in {"json", "database_url"}}}
    reused = existing_build(args)
    if reused:
        database_url = benchlib.configure_environment(args.database_url)
        print(f"reusing dataset {DATASET!r} in the bench database (--keep-db)")
    else:
        database_url = benchlib.setup_django(reset=True, database_url=args.database_url)
        print(f"building {args.images:,} images with {len(MODELS)} models in the bench database ...", flush=True)
        build(args, results)
    results["reused_db"] = reused

    from django.contrib.auth.models import User

    users = [User.objects.get(username=name) for name in REVIEWERS]
    reviewers = [Reviewer(user, args.seed + i) for i, user in enumerate(users)]
    print(f"walking the queue: {args.steps} 'next' steps after {args.warmup} warm-up steps, 4 reviewers", flush=True)
    start = time.perf_counter()
    times, empty = walk_queue(reviewers, args.steps, args.warmup)
    results["walk_s"] = time.perf_counter() - start
    results["next_image"] = benchlib.latency_summary(times["next"])
    results["save_verdict"] = benchlib.latency_summary(times["verdict"])
    results["next_image_python_cpu"] = benchlib.latency_summary(times["next_cpu"])
    results["save_verdict_python_cpu"] = benchlib.latency_summary(times["verdict_cpu"])
    results["empty_queue_answers"] = empty
    time_exports(results, not args.no_full_export)

    missed = (
        results["next_image"]["p95_ms"] >= NEXT_GOAL_MS
        or results["save_verdict"]["p95_ms"] >= VERDICT_GOAL_MS
        or results["export_and_status"]["export_total_s"] >= EXPORT_GOAL_S
    )
    if args.explain or missed:
        results["queries"] = query_profile(reviewers)
        position = (reviewers[0].current or {}).get("position", 0)
        results["explain"] = explain_queue(users[0], position)
    report(results)
    goals = {
        "next_image_p95_ms": {"limit": NEXT_GOAL_MS, "value": results["next_image"]["p95_ms"]},
        "save_verdict_p95_ms": {"limit": VERDICT_GOAL_MS, "value": results["save_verdict"]["p95_ms"]},
        "export_total_s": {"limit": EXPORT_GOAL_S, "value": results["export_and_status"]["export_total_s"]},
    }
    for goal in goals.values():
        goal["met"] = goal["value"] < goal["limit"]
    benchlib.write_json(args.json, "review_bench", database_url, results, goals)


def report(results):
    build_info = results.get("build")
    if build_info:
        rows = [[key.removesuffix("_s"), value] for key, value in build_info.items() if key.endswith("_s")]
        benchlib.print_table("Build (seconds)", ["step", "seconds"], rows)
        print(
            f"{build_info['items']:,} review items; decided: {build_info['decided_head']:,} at the head of the queue "
            f"(positions 0-{build_info['head_end_position']}) + {build_info['decided_scattered']:,} scattered"
        )
    rows = []
    for key, label in (
        ("next_image", "GET  next image"),
        ("save_verdict", "POST save verdict"),
        ("next_image_python_cpu", "  next image, Python CPU only"),
        ("save_verdict_python_cpu", "  save verdict, Python CPU only"),
    ):
        s = results[key]
        rows.append([label, s["n"], s["mean_ms"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]])
    exports = results["export_and_status"]
    for key, label in (("dataset_status", "dataset_status()"), ("reviewer_progress", "reviewer_progress()")):
        s = exports[key]
        rows.append([label, s["n"], s["mean_ms"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]])
    benchlib.print_table(
        "Server time (ms), django.test.Client in-process",
        ["request", "n", "mean", "p50", "p95", "p99", "max"],
        rows,
    )
    status = exports["status"]
    print(
        f"dataset: {status['images']:,} images, {status['review_items']:,} review items, "
        f"{status['reviewed_items']:,} reviewed; queue answered 204 {results['empty_queue_answers']} times"
    )
    benchlib.print_table(
        "Export",
        ["step", "seconds"],
        [
            ["export_tfds", exports["export_tfds_s"]],
            ["dumps", exports["dumps_s"]],
            ["export_tfds + dumps", exports["export_total_s"]],
        ],
    )
    print(f"export: {exports['export_images']:,} images, {exports['export_megabytes']:.1f} MB of JSON")
    if "full_export_total_s" in exports:
        print(
            f"export with every item decided (rolled back): {exports['full_export_tfds_s']:.3f} s + dumps "
            f"{exports['full_dumps_s']:.3f} s = {exports['full_export_total_s']:.3f} s; "
            f"{exports['full_export_images']:,} images, {exports['full_export_megabytes']:.1f} MB"
        )
    benchlib.print_table(
        "Goals",
        ["goal", "measured", "target", "status"],
        [
            benchlib.goal_line("next image p95", results["next_image"]["p95_ms"], NEXT_GOAL_MS, "ms"),
            benchlib.goal_line("save verdict p95", results["save_verdict"]["p95_ms"], VERDICT_GOAL_MS, "ms"),
            benchlib.goal_line("export_tfds + dumps", exports["export_total_s"], EXPORT_GOAL_S, "s"),
            *(
                [benchlib.goal_line("export, all decided", exports["full_export_total_s"], EXPORT_GOAL_S, "s")]
                if "full_export_total_s" in exports
                else []
            ),
        ],
    )
    queries = results.get("queries")
    if queries:
        per_verdict = queries["verdict_queries_per_request"]
        print(f"\nqueries: next image {queries['next_queries']}, save verdict {per_verdict:.1f}")
        print("next image SQL:")
        for sql in queries["next_sql"]:
            print(f"  {sql[:300]}")
        print("save verdict SQL:")
        for sql in queries["verdict_sql"]:
            print(f"  {sql[:300]}")
    for name, plan in (results.get("explain") or {}).items():
        print(f"\nEXPLAIN ANALYZE {name}:\n{plan}")


if __name__ == "__main__":
    main()
