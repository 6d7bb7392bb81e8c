"""Selection-frequency benchmark of a new test set at ImageNetV2's scale, against PostgreSQL (issue 15).

Builds, in the bench database, a reference dataset "val" of 50 images in each of 1,000 classes and a test set whose
pool holds 210 or 252 candidates per class (222,600 in all; manifests only, no files), then times, in this process:

- create_frequency_tasks with the defaults (48 images: 42 candidates, 3 + 3 controls; 10 annotators; 20 reference
  images per class): 5,300 candidate tasks and 1,000 for the reference, 6,300 in all;
- export_frequency_tasks, every task to JSON Lines;
- import_selections of 10 simulated assignments per task (63,000 assignments, 3 million image answers), from 200
  annotators, with the recount it ends with;
- recount_frequencies alone (goal: 5 s): --repeat times from an empty table, then with nothing to change, then
  after the quality threshold changes;
- selection_frequencies' rows (frequency_rows);
- submit_assignment as the grid page calls it (goal: p95 50 ms with 32 annotators at once): one annotator alone,
  then --clients threads at once (32 by default, each its own connection) submitting --submits answers each to
  tasks they have not answered, back to back (the server saturated: on 2 cores that measures queueing), then
  paced (--pause seconds between answers on average, still far quicker than a person judging 48 images).

    .venv/bin/python bench/testset_frequencies_bench.py [--keep-db] [--repeat 3] [--json FILE] [--database-url URL]

--keep-db reuses a database where the test set and its assignments are already built (the timed steps that build
them are then skipped).
"""

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import benchlib
import numpy as np

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench_testsets"
TESTSET = "v2-bench"
REFERENCE = "val"
REFERENCE_PER_CLASS = 50
CANDIDATES_PER_CLASS = (210, 252)  # 5 or 6 full tasks of 42
ANNOTATORS = 10
CROWD = 200
RECOUNT_GOAL_S = 5.0
SUBMIT_P95_GOAL_MS = 50.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", default=DATABASE_URL, help=f"bench database (default {DATABASE_URL})")
    parser.add_argument("--keep-db", action="store_true", help="reuse the test set and assignments if built")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed recounts from an empty table (best and median reported)"
    )
    parser.add_argument("--clients", type=int, default=32, help="annotators submitting at once (default 32)")
    parser.add_argument("--submits", type=int, default=40, help="submits per client (default 40)")
    parser.add_argument(
        "--pause", type=float, default=1.0, help="mean seconds between a paced client's submits (default 1)"
    )
    return parser.parse_args()


def built():
    from testsets.models import Assignment, TestSet

    testset = TestSet.objects.filter(name=TESTSET).first()
    return testset is not None and Assignment.objects.filter(task__testset=testset).exists()


def build(results, work):
    """The test set with its tasks (build_tasks), then 10 simulated assignments per task imported (timed)."""
    from testsets.frequency_tasks import import_selections

    exported = build_tasks(results, work)
    rng = np.random.default_rng(0)
    answers = work / "answers.jsonl"
    write_answers(
        exported,
        answers,
        rng,
        lambda: [f"crowd-{annotator:03}" for annotator in rng.choice(CROWD, size=ANNOTATORS, replace=False)],
    )
    with benchlib.timed(results, "import_selections_s"):
        results["import_selections"] = import_selections(testset_name=TESTSET, path=answers)
    print(f"import_selections: {results['import_selections_s']:.2f} s, {results['import_selections']}", flush=True)


def build_tasks(results, work):
    """The reference, the test set and its candidates (untimed in the goals, reported), then create_frequency_tasks
    and export_frequency_tasks (timed). Returns the path of the export. bench/testset_grid_bench.py builds on it."""
    import taxonomy
    from annotate.image_import import register_manifest
    from testsets.frequency_tasks import create_frequency_tasks, export_frequency_tasks
    from testsets.selectors import testset_named
    from testsets.services import create_testset, import_candidates

    classes = taxonomy.class_wnids()
    reference = work / "val.csv"
    reference.write_text(
        "".join(f"ref-{wnid}-{i:02}.JPEG,{wnid}\n" for wnid in classes for i in range(REFERENCE_PER_CLASS))
    )
    pool = work / "pool.csv"
    counts = {wnid: CANDIDATES_PER_CLASS[int(number % 10 < 3)] for number, wnid in enumerate(classes)}
    pool.write_text("".join(f"cand-{wnid}-{i:03}.JPEG,{wnid}\n" for wnid in classes for i in range(counts[wnid])))
    with benchlib.timed(results, "build_s"):
        register_manifest(dataset_name=REFERENCE, manifest_file=reference)
        create_testset(name=TESTSET, reference_name=REFERENCE)
        import_candidates(testset_name=TESTSET, manifest=pool)
    print(f"reference and {sum(counts.values()):,} candidates: {results['build_s']:.1f} s", flush=True)

    with benchlib.timed(results, "create_tasks_s"):
        results["create_tasks"] = create_frequency_tasks(testset_name=TESTSET)
    print(f"create_frequency_tasks: {results['create_tasks_s']:.2f} s, {results['create_tasks']['tasks']}", flush=True)

    testset = testset_named(TESTSET)
    exported = work / "tasks.jsonl"
    with benchlib.timed(results, "export_s"), exported.open("w") as handle:
        for task in export_frequency_tasks(testset):
            handle.write(json.dumps(task) + "\n")
    print(f"export_frequency_tasks: {results['export_s']:.2f} s", flush=True)
    return exported


def write_answers(exported, answers, rng, annotators_of):
    """Simulated assignments to the exported tasks, as import_selections reads them: per task, each annotator that
    `annotators_of()` names selects each image with the image's own chance (uniform 0-1)."""
    with exported.open() as tasks, answers.open("w") as handle:
        for line in tasks:
            task = json.loads(line)
            tokens = [image["token"] for image in task["images"]]
            chance = rng.uniform(size=len(tokens))
            for annotator in annotators_of():
                chosen = [
                    token for token, hit in zip(tokens, rng.uniform(size=len(tokens)) < chance, strict=True) if hit
                ]
                handle.write(json.dumps({"task": task["task"], "annotator": annotator, "selected": chosen}) + "\n")


def time_recount(results, repeat):
    """recount_frequencies --repeat times from an empty table (every row written), then once with nothing to
    change, then once after the quality threshold rose (rows changed and removed)."""
    from django.db import connection

    from annotate.bulk import analyze
    from testsets.frequency_tasks import recount_frequencies
    from testsets.models import Assignment, SelectionFrequency, TaskImage
    from testsets.selectors import testset_named

    testset = testset_named(TESTSET)
    testset.quality_threshold = 0.0
    testset.save()
    analyze(TaskImage, Assignment, SelectionFrequency)
    runs = []

    def run(case):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        counts = recount_frequencies(testset)
        runs.append({"case": case, "wall_s": time.perf_counter() - start, "load_before": load, **counts})
        print(f"recount_frequencies, {case}: {runs[-1]['wall_s']:.2f} s (load {load:.2f}), {counts}", flush=True)

    for _ in range(repeat):
        SelectionFrequency.objects.filter(testset=testset).delete()
        # As a first recount finds the table: without the dead rows of the run before.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {SelectionFrequency._meta.db_table}")
        run("from empty")
    run("nothing changed")
    testset.quality_threshold = 0.5
    testset.save()
    run("threshold 0.5")
    testset.quality_threshold = 0.0
    testset.save()
    run("threshold back to 0")
    walls = [run["wall_s"] for run in runs if run["case"] == "from empty"]
    results["recount"] = {
        "task_images": TaskImage.objects.filter(task__testset=testset).count(),
        "best_s": min(walls),
        "median_s": statistics.median(walls),
        "runs": runs,
    }


def time_rows(results):
    from testsets.frequency_tasks import frequency_rows
    from testsets.selectors import testset_named

    with benchlib.timed(results, "frequency_rows_s"):
        results["frequency_rows"] = sum(1 for _ in frequency_rows(testset_named(TESTSET)))
    print(f"frequency_rows: {results['frequency_rows_s']:.2f} s, {results['frequency_rows']:,} rows", flush=True)


def time_submits(results, clients, submits, pause):
    """Latencies of submit_assignment by one annotator alone, then by `clients` annotators at once (each its own
    connection), first back to back (no pause between one answer and the next: the server saturated), then paced
    (a pause of 0 to 2 x `pause` seconds between answers), each to tasks it has not answered."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.services import annotator_accounts
    from testsets.frequency_tasks import submit_assignment
    from testsets.models import FrequencyTask, TaskImage

    runs = {"alone": (1, 0.0), "back_to_back": (clients, 0.0), "paced": (clients, pause)}
    wanted = sum(together for together, _ in runs.values()) * submits
    tasks = list(FrequencyTask.objects.filter(testset__name=TESTSET).order_by("?")[:wanted])
    tokens = {}
    for task, token in TaskImage.objects.filter(task__in=tasks).values_list("task_id", "token"):
        tokens.setdefault(task, []).append(token)
    run = f"{int(time.time()) % 100000}"
    for name, (together, rest) in runs.items():
        accounts, _ = annotator_accounts([f"web-{run}-{name}-{number:02}" for number in range(together)])
        users = list(get_user_model().objects.filter(pk__in=accounts.values()).order_by("username"))
        mine, tasks = tasks[: together * submits], tasks[together * submits :]
        latencies, failures = [], []
        barrier = threading.Barrier(together)

        def client(number, users=users, mine=mine, latencies=latencies, failures=failures, barrier=barrier, rest=rest):
            rng = np.random.default_rng(number)
            barrier.wait()
            try:
                for task in mine[number * submits : (number + 1) * submits]:
                    chosen = [token for token in tokens[task.pk] if rng.uniform() < 0.6]
                    start = time.perf_counter()
                    submit_assignment(task=task, annotator=users[number], selected_tokens=chosen)
                    latencies.append(time.perf_counter() - start)
                    time.sleep(rng.uniform(0, 2 * rest))
            except Exception as exc:  # reported with the results
                failures.append(repr(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=client, args=(number,)) for number in range(together)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        summary = {
            "clients": together,
            "pause_s": rest,
            **benchlib.latency_summary(latencies),
            "per_second": len(latencies) / wall,
            "failures": failures[:5],
        }
        results[f"submit_{name}"] = summary
        print(
            f"submit_assignment, {name}, {together} at once: p50 {summary['p50_ms']:.1f} ms, "
            f"p95 {summary['p95_ms']:.1f} ms, {summary['per_second']:.0f}/s, {len(failures)} failures",
            flush=True,
        )


def main():
    args = parse_args()
    database_url = benchlib.setup_django(reset=not args.keep_db, database_url=args.database_url)
    results = {}
    if not (args.keep_db and built()):
        with tempfile.TemporaryDirectory(prefix="relabel-bench-testsets-") as work:
            build(results, Path(work))
    time_recount(results, args.repeat)
    time_rows(results)
    time_submits(results, args.clients, args.submits, args.pause)
    recount = results["recount"]
    benchlib.print_table(
        "Goals",
        ["measure", "value", "goal", "status"],
        [
            benchlib.goal_line(
                f"recount_frequencies ({recount['task_images']:,} task images)", recount["best_s"], RECOUNT_GOAL_S, "s"
            ),
            *(
                benchlib.goal_line(
                    f"submit p95, {results[key]['clients']} {label}", results[key]["p95_ms"], SUBMIT_P95_GOAL_MS, "ms"
                )
                for key, label in (("submit_back_to_back", "back to back"), ("submit_paced", "paced"))
            ),
        ],
    )
    goals = {
        "recount_s": {"limit": RECOUNT_GOAL_S, "value": recount["best_s"], "met": recount["best_s"] < RECOUNT_GOAL_S},
        **{
            f"{key}_p95_ms": {
                "limit": SUBMIT_P95_GOAL_MS,
                "value": results[key]["p95_ms"],
                "met": results[key]["p95_ms"] < SUBMIT_P95_GOAL_MS,
            }
            for key in ("submit_back_to_back", "submit_paced")
        },
    }
    benchlib.write_json(args.json, "testset_frequencies_bench", database_url, results, goals)


if __name__ == "__main__":
    main()
