"""Sampling benchmark of issue 15, against PostgreSQL: MatchedFrequency sampling of 10,000 images (10 per class)
from 200,000 candidates in 1,000 classes, ImageNetV2's scale. Goal: 5 s end to end.

The test set is generated: a reference dataset "val" of 50 images per class, each annotated 10 times; 200,000
candidates (at least 100 per class, about 200 on average; from a manifest, as `import_candidates --manifest` adds
them), 95% annotated 10-12 times and the rest fewer, 3% blacklisted; selection frequencies drawn from Beta(5, 2),
roughly the shape of ImageNetV2's.
SelectionFrequency rows are written directly (the crowd's tasks are not part of this bench).

Timed, each --repeat times (best and median reported):
(a) `manage.py sample_testset --strategy matched-frequency --per-class 10 --seed S --json` in a fresh process:
    start-up, reading, sampling, writing the revision, printing its 10,000 images;
(b) the service `sample_testset` called in this process (no start-up), split into reading the arrays and the
    numpy sampling;
(c) the same from the previous revision (--from), which carries its images over;
and once each, for information: Threshold, TopImages, and making a revision a dataset (revision_dataset).

    .venv/bin/python bench/testset_sampling_bench.py [--keep-db] [--repeat 3] [--json FILE] [--database-url URL]

The bench database (default postgres://postgres@127.0.0.1:5432/relabel_bench_testset_sampling) is rebuilt unless
--keep-db finds the test set in it.
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

import benchlib

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench_testset_sampling"
GOAL_S = 5.0
TESTSET = "bench-v2"
CLASSES = 1_000
CANDIDATES = 200_000
MIN_CANDIDATES = 100
REFERENCE_PER_CLASS = 50
PER_CLASS = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", default=DATABASE_URL, help=f"bench database (default {DATABASE_URL})")
    parser.add_argument("--keep-db", action="store_true", help="reuse the test set if it is already built")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (best and median reported)")
    return parser.parse_args()


def built():
    from testsets.models import Candidate, TestSet

    testset = TestSet.objects.filter(name=TESTSET).first()
    return testset is not None and Candidate.objects.filter(testset=testset).count() == CANDIDATES


def build():
    """The reference dataset, the test set, its candidates and their frequencies; returns seconds per step."""
    import numpy as np
    from django.db import transaction

    import taxonomy
    from annotate.bulk import Coded, analyze, insert_columns, read_columns
    from annotate.image_import import register_images
    from annotate.models import Image, ReviewItem
    from testsets import services
    from testsets.models import BlacklistReason, Candidate, SelectionFrequency

    rng = np.random.default_rng(2019)
    wnids = taxonomy.class_wnids()[:CLASSES]
    times = {}
    with benchlib.timed(times, "reference_s"), transaction.atomic():
        register_images(
            dataset_name="val",
            rows=[
                (f"ILSVRC2012_val_{c * REFERENCE_PER_CLASS + i:08d}.JPEG", wnid, "", "bench")
                for c, wnid in enumerate(wnids)
                for i in range(REFERENCE_PER_CLASS)
            ],
        )
    testset = services.create_testset(name=TESTSET, reference_name="val")
    # At least MIN_CANDIDATES per class, the rest spread at random: CANDIDATES in all.
    spread = CANDIDATES - MIN_CANDIDATES * CLASSES
    per_class = MIN_CANDIDATES + rng.multinomial(spread, np.full(CLASSES, 1 / CLASSES))
    with benchlib.timed(times, "import_candidates_s"), tempfile.TemporaryDirectory() as work:
        manifest = Path(work) / "candidates.csv"
        manifest.write_text(
            "filename,wnid\n"
            + "".join(
                f"{wnid}_{i:04d}.jpg,{wnid}\n"
                for wnid, count in zip(wnids, per_class.tolist(), strict=True)
                for i in range(count)
            )
        )
        services.import_candidates(testset_name=TESTSET, manifest=manifest)
    with benchlib.timed(times, "frequencies_s"), transaction.atomic():
        (candidate_images,) = read_columns(
            f"SELECT image_id FROM {Candidate._meta.db_table} WHERE testset_id = %s", [testset.pk], [">i8"]
        )
        (reference_images,) = read_columns(
            f"SELECT id FROM {Image._meta.db_table} WHERE dataset_id = %s", [testset.reference_id], [">i8"]
        )
        annotations = np.where(rng.random(CANDIDATES) < 0.95, rng.integers(10, 13, CANDIDATES), 8)
        annotations = np.concatenate([annotations, np.full(len(reference_images), 10)])
        images = np.concatenate([candidate_images, reference_images])
        selected = rng.binomial(annotations, rng.beta(5, 2, len(images)))
        wnid_of = dict(Image.objects.filter(pk__in=images.tolist()).values_list("pk", "original_wnid"))
        codes = np.searchsorted(np.array(wnids), np.array([wnid_of[pk] for pk in images.tolist()]))
        insert_columns(
            SelectionFrequency,
            {
                "testset": testset.pk,
                "image": images,
                "wnid": Coded(codes, list(wnids)),
                "annotations": annotations,
                "selected": selected,
            },
        )
        blacklisted = rng.choice(candidate_images, CANDIDATES * 3 // 100, replace=False)
        Candidate.objects.filter(image_id__in=blacklisted.tolist()).update(blacklist_reason=BlacklistReason.TOO_BIG)
    analyze(Image, ReviewItem, Candidate, SelectionFrequency)
    return times


def load():
    """The load average of the last minute: other work on the machine slows every run down."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def summary(seconds):
    return {"best_s": min(seconds), "median_s": statistics.median(seconds), "runs_s": seconds}


def time_command(database_url, seed):
    environment = {**os.environ, "DATABASE_URL": database_url}
    arguments = ["sample_testset", "--testset", TESTSET, "--strategy", "matched-frequency"]
    arguments += ["--per-class", str(PER_CLASS), "--seed", str(seed), "--json"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=benchlib.REPO, env=environment, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"error: manage.py {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return seconds, json.loads(done.stdout)


def main():
    args = parse_args()
    database_url = benchlib.setup_django(reset=not args.keep_db, database_url=args.database_url)
    from django.db import transaction

    from testsets import revisions, sampling
    from testsets.models import BIN_EDGES, Revision
    from testsets.selectors import testset_named

    results = {"parameters": {"repeat": args.repeat, "candidates": CANDIDATES, "classes": CLASSES}}
    if built():
        print(f"reusing test set {TESTSET} (--keep-db)")
    else:
        if args.keep_db:  # what an interrupted build left
            database_url = benchlib.setup_django(reset=True, database_url=args.database_url)
        print(f"building {CANDIDATES:,} candidates in {CLASSES:,} classes ...", flush=True)
        results["build"] = build()
        print("  " + ", ".join(f"{key} {value:.1f}" for key, value in results["build"].items()), flush=True)

    command, last = [], None
    for run in range(args.repeat):
        seconds, last = time_command(database_url, seed=run)
        command.append(seconds)
        print(f"  (a) manage.py sample_testset: {seconds:.2f} s, {len(last['images']):,} images ({load()})", flush=True)
    results["command"] = summary(command)
    results["sampled"] = {"images": len(last["images"]), "upward": last["upward"], "short": len(last["short_classes"])}

    service, reading, numpy_sampling = [], [], []
    testset = testset_named(TESTSET)
    for run in range(args.repeat):
        started = time.perf_counter()
        revisions.sample_testset(testset_name=TESTSET, strategy="matched-frequency", per_class=PER_CLASS, seed=run)
        service.append(time.perf_counter() - started)
        with transaction.atomic():
            started = time.perf_counter()
            wnids, candidates, _ = revisions._read_candidates(testset, None)
            reference = revisions._read_reference(testset, wnids)
            reading.append(time.perf_counter() - started)
        started = time.perf_counter()
        sampling.matched_frequency(
            candidates, reference, per_class=PER_CLASS, min_annotations=10, edges=BIN_EDGES, seed=run
        )
        numpy_sampling.append(time.perf_counter() - started)
        print(
            f"  (b) service: {service[-1]:.2f} s (reading {reading[-1]:.2f}, sampling {numpy_sampling[-1]:.3f}; "
            f"{load()})",
            flush=True,
        )
    results["service"], results["reading"] = summary(service), summary(reading)
    results["numpy_sampling"] = summary(numpy_sampling)

    carried = []
    for run in range(args.repeat):
        parent = Revision.objects.filter(testset=testset).order_by("-number").first().number
        started = time.perf_counter()
        revisions.sample_testset(
            testset_name=TESTSET,
            strategy="matched-frequency",
            per_class=PER_CLASS,
            seed=100 + run,
            from_revision=parent,
        )
        carried.append(time.perf_counter() - started)
        print(f"  (c) service --from {parent}: {carried[-1]:.2f} s ({load()})", flush=True)
    results["service_from_revision"] = summary(carried)

    once = {}
    with benchlib.timed(once, "threshold_s"):
        revisions.sample_testset(testset_name=TESTSET, strategy="threshold", per_class=PER_CLASS, seed=0)
    with benchlib.timed(once, "top_s"):
        revisions.sample_testset(testset_name=TESTSET, strategy="top", per_class=PER_CLASS)
    with benchlib.timed(once, "revision_dataset_s"):
        revisions.revision_dataset(Revision.objects.filter(testset=testset).order_by("-number").first())
    results["once"] = once

    benchlib.print_table(
        "Seconds",
        ["step", "best", "median"],
        [
            [
                "(a) manage.py sample_testset (fresh process)",
                results["command"]["best_s"],
                results["command"]["median_s"],
            ],
            ["(b) sample_testset service", results["service"]["best_s"], results["service"]["median_s"]],
            ["    reading the arrays", results["reading"]["best_s"], results["reading"]["median_s"]],
            [
                "    MatchedFrequency in numpy",
                results["numpy_sampling"]["best_s"],
                results["numpy_sampling"]["median_s"],
            ],
            ["(c) service, --from the last revision", carried and min(carried), statistics.median(carried)],
            *[[f"    once: {key[:-2]}", value, value] for key, value in once.items()],
        ],
    )
    print(
        f"sampled {results['sampled']['images']:,} images, {results['sampled']['upward']} from a higher bin, "
        f"{results['sampled']['short']} classes short"
    )
    benchlib.print_table(
        "Goal",
        ["goal", "measured", "target", "status"],
        [benchlib.goal_line("(a) sample_testset end to end, median", results["command"]["median_s"], GOAL_S, "s")],
    )
    benchlib.write_json(args.json, "testset_sampling", database_url, results, {"sample_testset_s": GOAL_S})


if __name__ == "__main__":
    main()
