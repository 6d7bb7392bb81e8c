"""Consensus benchmark on real data, against PostgreSQL: the two commands of issue 12, each timed end to end as a
user runs it (a fresh `manage.py` process: start-up, reading, writing, commit).

(a) `manage.py import_votes` of the 924,810 ReaL rater votes (../shared/data/real-raters/raters.npz) into a
    dataset "val" of the 50,000 ImageNet validation images registered from a manifest (filename,wnid from
    ../shared/data/val-predictions/index_to_filepath.json; the files themselves are absent). Each run starts
    from the same database: the images registered, no votes (a copy of a template database). Goal: 10 s.
(b) `manage.py aggregate --dataset val --method dawid-skene` on those votes, each run after an untimed
    `aggregate --method majority`, so that every run has the same labels to change. Then once more with
    nothing to change. Goal: 4 s.

The best and the median of --repeat runs are reported, with the load average before each run (other work on
the machine slows the runs down) and the seconds each command reports for its own work.

    .venv/bin/python bench/consensus_bench.py [--keep-db] [--repeat 3] [--json FILE] [--database-url URL]

The bench database (default postgres://postgres@127.0.0.1:5432/relabel_bench_consensus) is recreated from a
template database (the same name + "_images": migrated, the manifest registered) before each import; the
template is rebuilt unless --keep-db finds it. Without the real data the bench says so and skips.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import benchlib

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench_consensus"
DATASET = "val"
IMPORT_GOAL_S = 10.0
AGGREGATE_GOAL_S = 4.0
RATERS = "real-raters/raters.npz"
INDEX = "val-predictions/index_to_filepath.json"
IMAGES = 50_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", default=DATABASE_URL, help=f"bench database (default {DATABASE_URL})")
    parser.add_argument("--keep-db", action="store_true", help="reuse the template database if it is already built")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command (best and median reported)")
    return parser.parse_args()


def with_database(url, name):
    return url.replace(f"/{urlparse(url).path.lstrip('/')}", f"/{name}", 1)


def manage(database_url, *arguments):
    """Run `manage.py` with the arguments against the database; (wall seconds, its --json output or None)."""
    environment = {**os.environ, "DATABASE_URL": database_url}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=benchlib.REPO, env=environment, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"error: manage.py {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return seconds, json.loads(done.stdout) if "--json" in arguments else None


def maintenance(database_url, *statements):
    """Run statements on the server's maintenance database (CREATE / DROP DATABASE)."""
    connection = benchlib._maintenance_connection(benchlib._pg_parts(database_url))
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def template_ready(template_url):
    """True when the template database exists with the dataset's images registered."""
    if not benchlib.pg_database_exists(template_url):
        return False
    import psycopg2

    try:
        connection = psycopg2.connect(**benchlib._pg_parts(template_url))
    except psycopg2.Error:
        return False
    # Closed, not left open: a database with a session on it cannot be copied.
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM annotate_image i JOIN annotate_dataset d ON d.id = i.dataset_id "
                "WHERE d.name = %s",
                [DATASET],
            )
            return cursor.fetchone()[0] == IMAGES
    except psycopg2.Error:
        return False
    finally:
        connection.close()


def build_template(template_url):
    """Migrate a fresh template database and register the manifest of the validation images in it."""
    benchlib.prepare_pg_database(template_url, reset=True)
    times = {}
    times["migrate_s"], _ = manage(template_url, "migrate", "--verbosity", "0")
    paths = json.loads((benchlib.SHARED_DATA / INDEX).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="relabel-bench-consensus-") as work:
        manifest = Path(work) / "manifest.csv"
        # File name = last part of the path, wnid = its folder.
        manifest.write_text(
            "filename,wnid\n" + "".join(f"{path.split('/')[-1]},{path.split('/')[-2]}\n" for path in paths),
            encoding="utf-8",
        )
        times["import_images_s"], _ = manage(
            template_url, "import_images", "--manifest", str(manifest), "--dataset", DATASET
        )
    # Fresh statistics, and no autovacuum worker left to hold the template open when it is copied.
    import psycopg2

    connection = psycopg2.connect(**benchlib._pg_parts(template_url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        connection.close()
    return times


def fresh_copy(database_url, template_url):
    """(Re)create the bench database as a copy of the template."""
    name, template = benchlib._pg_parts(database_url)["dbname"], benchlib._pg_parts(template_url)["dbname"]
    if "bench" not in name:
        sys.exit(f"error: refusing to drop database {name!r}: its name does not contain 'bench'")
    maintenance(
        database_url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
    )


def summary(runs):
    walls = [run["wall_s"] for run in runs]
    reported = [run["reported_s"] for run in runs]
    return {
        "best_s": min(walls),
        "median_s": statistics.median(walls),
        "reported_best_s": min(reported),
        "reported_median_s": statistics.median(reported),
        "runs": runs,
    }


def time_import(database_url, template_url, repeat):
    raters = str(benchlib.SHARED_DATA / RATERS)
    runs = []
    for _ in range(repeat):
        fresh_copy(database_url, template_url)
        load = os.getloadavg()[0]
        wall, result = manage(
            database_url, "import_votes", raters, "--format", "real-raters", "--dataset", DATASET, "--json"
        )
        runs.append(
            {
                "wall_s": wall,
                "reported_s": result["consensus"]["seconds"],
                "load_before": load,
                "verdicts_added": result["verdicts_added"],
                "items_created": result["items_created"],
                "labels": result["consensus"]["labels"],
            }
        )
        print(f"  import_votes: {wall:.2f} s (load {load:.2f})", flush=True)
    return summary(runs)


def time_aggregate(database_url, repeat, reset):
    runs = []
    for _ in range(repeat):
        if reset:
            manage(database_url, "aggregate", "--dataset", DATASET, "--method", "majority")
        load = os.getloadavg()[0]
        wall, result = manage(database_url, "aggregate", "--dataset", DATASET, "--method", "dawid-skene", "--json")
        runs.append(
            {
                "wall_s": wall,
                "reported_s": result["seconds"],
                "load_before": load,
                "changed_items": result["changed_items"],
                "labels": result["labels"],
            }
        )
        print(f"  aggregate: {wall:.2f} s (load {load:.2f}), {result['changed_items']} changed", flush=True)
    return summary(runs)


def report(results):
    rows = []
    for name, key in (
        ("(a) manage.py import_votes", "import_votes"),
        ("(b) manage.py aggregate dawid-skene", "aggregate"),
        ("    again, nothing to change", "aggregate_unchanged"),
    ):
        timing = results[key]
        loads = [run["load_before"] for run in timing["runs"]]
        rows.append(
            [
                name,
                timing["best_s"],
                timing["median_s"],
                timing["reported_best_s"],
                len(timing["runs"]),
                f"{min(loads):.2f}-{max(loads):.2f}",
            ]
        )
    benchlib.print_table(
        "Seconds (wall clock of the command; 'labels' is what the command reports for recomputing the labels)",
        ["step", "best", "median", "labels best", "runs", "load before"],
        rows,
    )
    imported = results["import_votes"]["runs"][-1]
    aggregated = results["aggregate"]["runs"][-1]
    print(
        f"(a) {imported['verdicts_added']:,} verdicts, {imported['items_created']:,} review items created; "
        f"majority labels {imported['labels']}"
    )
    print(f"(b) {aggregated['changed_items']:,} items changed; Dawid-Skene labels {aggregated['labels']}")
    benchlib.print_table(
        "Goals",
        ["goal", "measured", "target", "status"],
        [
            benchlib.goal_line("(a) import_votes, median", results["import_votes"]["median_s"], IMPORT_GOAL_S, "s"),
            benchlib.goal_line("(b) aggregate, median", results["aggregate"]["median_s"], AGGREGATE_GOAL_S, "s"),
        ],
    )


def main():
    args = parse_args()
    for relative in (RATERS, INDEX):
        if not (benchlib.SHARED_DATA / relative).exists():
            print(
                f"skipped: {benchlib.SHARED_DATA / relative} is absent. This benchmark needs the real data under "
                f"{benchlib.SHARED_DATA} (set RELABEL_SHARED_DATA to point elsewhere)."
            )
            return
    database_url = benchlib.configure_environment(args.database_url)
    if benchlib._pg_parts(database_url) is None:
        sys.exit(f"error: the bench needs PostgreSQL; the database URL is {database_url!r}")
    template_url = with_database(database_url, benchlib._pg_parts(database_url)["dbname"] + "_images")
    results = {"parameters": {"repeat": args.repeat, "keep_db": args.keep_db}}
    reused = args.keep_db and template_ready(template_url)
    if reused:
        print(f"reusing the template database {benchlib._pg_parts(template_url)['dbname']} (--keep-db)")
    else:
        print("building the template database: migrate, register the manifest ...", flush=True)
        results["build"] = build_template(template_url)
    results["reused_db"] = reused
    print(f"(a) import_votes, {args.repeat} runs", flush=True)
    results["import_votes"] = time_import(database_url, template_url, args.repeat)
    print(f"(b) aggregate --method dawid-skene, {args.repeat} runs", flush=True)
    results["aggregate"] = time_aggregate(database_url, args.repeat, reset=True)
    results["aggregate_unchanged"] = time_aggregate(database_url, 1, reset=False)
    report(results)
    goals = {
        "import_votes_s": {
            "limit": IMPORT_GOAL_S,
            "value": results["import_votes"]["median_s"],
            "met": results["import_votes"]["median_s"] < IMPORT_GOAL_S,
        },
        "aggregate_s": {
            "limit": AGGREGATE_GOAL_S,
            "value": results["aggregate"]["median_s"],
            "met": results["aggregate"]["median_s"] < AGGREGATE_GOAL_S,
        },
    }
    if args.json:
        import django

        django.setup()  # the environment in the JSON names the database server's version
    benchlib.write_json(args.json, "consensus_bench", database_url, results, goals)


if __name__ == "__main__":
    main()
