"""Import benchmark on real data, against PostgreSQL.

(a) import_image_folder of the 1,000 real JPEGs in ../shared/data/imagenet-samples (flat folder, <wnid>_<name>.JPEG);
(b) register_manifest of the 50,000 ImageNet validation images of ../shared/data/val-predictions, then
    import_predictions of that model's top-1 labels (cv_predicted_labels.npy). Goal: (b) together under 10 s.

The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/relabel_bench) is dropped and
recreated at the start; images are stored under a temporary MEDIA_ROOT.

    .venv/bin/python bench/import_bench.py [--json FILE] [--skip-images] [--skip-manifest]
"""

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import benchlib

MANIFEST_GOAL_S = 10.0
SAMPLES_DATASET = "bench-imagenet-samples"
VAL_DATASET = "bench-imagenet-val"
VAL_MODEL = "bench-cv-classifier"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument(
        "--database-url", help=f"PostgreSQL URL of the bench database (default {benchlib.DEFAULT_DATABASE_URL})"
    )
    parser.add_argument("--skip-images", action="store_true", help="skip (a), the image folder import")
    parser.add_argument("--skip-manifest", action="store_true", help="skip (b), manifest and predictions")
    parser.add_argument(
        "--profile", action="store_true", help="(b): split SQL from Python time and list the slowest statements"
    )
    return parser.parse_args()


def bench_image_folder(results):
    from annotate.image_import import import_image_folder
    from annotate.models import Image, ReviewItem

    folder = benchlib.require_shared("imagenet-samples")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    total_bytes = sum(p.stat().st_size for p in files)
    start = time.perf_counter()
    report = import_image_folder(dataset_name=SAMPLES_DATASET, directory=folder)
    seconds = time.perf_counter() - start
    if report.failed:
        print(f"warning: {len(report.failed)} files failed, first: {report.failed[0]}", file=sys.stderr)
    results["image_folder"] = {
        "files": len(files),
        "megabytes": total_bytes / 1e6,
        "added": report.added,
        "failed": len(report.failed),
        "seconds": seconds,
        "images_per_s": report.added / seconds if seconds else float("nan"),
        "megabytes_per_s": total_bytes / 1e6 / seconds if seconds else float("nan"),
        "images_in_db": Image.objects.filter(dataset__name=SAMPLES_DATASET).count(),
        "review_items_in_db": ReviewItem.objects.filter(dataset__name=SAMPLES_DATASET).count(),
    }


def write_manifest(paths, target):
    """filename,wnid rows from paths like val/<wnid>/<file>, in dataset order."""
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "wnid"])
        for path in paths:
            parts = path.split("/")
            writer.writerow([parts[-1], parts[-2]])


@contextmanager
def sql_capture(profile, into, key):
    """With `profile`, record the statements run in the block: their total seconds and the slowest five."""
    if not profile:
        yield
        return
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        yield
    queries = captured.captured_queries
    slowest = sorted(queries, key=lambda q: -float(q["time"]))[:5]
    into[key] = {
        "statements": len(queries),
        "sql_s": sum(float(q["time"]) for q in queries),
        "slowest": [{"s": float(q["time"]), "sql": " ".join(q["sql"].split())[:160]} for q in slowest],
    }


def bench_manifest(results, workdir, profile=False):
    from annotate.image_import import register_manifest
    from annotate.models import Image, Prediction, ReviewItem
    from annotate.prediction_import import import_predictions

    index_file = benchlib.require_shared("val-predictions/index_to_filepath.json")
    predictions_file = benchlib.require_shared("val-predictions/cv_predicted_labels.npy")
    timings = {}
    with benchlib.timed(timings, "manifest_write_s"):
        paths = json.loads(index_file.read_text(encoding="utf-8"))
        manifest = Path(workdir) / "val-manifest.csv"
        write_manifest(paths, manifest)
    sql = {}
    with sql_capture(profile, sql, "register_manifest"), benchlib.timed(timings, "register_manifest_s"):
        manifest_report = register_manifest(dataset_name=VAL_DATASET, manifest_file=manifest)
    with sql_capture(profile, sql, "import_predictions"), benchlib.timed(timings, "import_predictions_s"):
        prediction_report = import_predictions(model_name=VAL_MODEL, dataset_name=VAL_DATASET, path=predictions_file)
    timings["together_s"] = timings["register_manifest_s"] + timings["import_predictions_s"]
    images = Image.objects.filter(dataset__name=VAL_DATASET)
    results["manifest_and_predictions"] = {
        **timings,
        "manifest_rows": len(paths),
        "images_added": manifest_report.added,
        "predictions": prediction_report["predictions"],
        "new_review_items": prediction_report["new_review_items"],
        "images_in_db": images.count(),
        "predictions_in_db": Prediction.objects.filter(image__dataset__name=VAL_DATASET).count(),
        "review_items_in_db": ReviewItem.objects.filter(dataset__name=VAL_DATASET).count(),
        "images_with_two_items": images.filter(pending_items=2).count(),
        "register_images_per_s": manifest_report.added / timings["register_manifest_s"],
        "predictions_per_s": prediction_report["predictions"] / timings["import_predictions_s"],
    }
    if sql:
        results["manifest_and_predictions"]["sql_profile"] = sql


def report(results):
    rows = []
    folder = results.get("image_folder")
    if folder:
        rows.append(["(a) import_image_folder", folder["added"], folder["seconds"], f"{folder['images_per_s']:,.1f}/s"])
    manifest = results.get("manifest_and_predictions")
    if manifest:
        rows += [
            ["    write manifest CSV (not import)", manifest["manifest_rows"], manifest["manifest_write_s"], ""],
            [
                "(b) register_manifest",
                manifest["images_added"],
                manifest["register_manifest_s"],
                f"{manifest['register_images_per_s']:,.0f}/s",
            ],
            [
                "(b) import_predictions",
                manifest["predictions"],
                manifest["import_predictions_s"],
                f"{manifest['predictions_per_s']:,.0f}/s",
            ],
            ["(b) register + predictions", manifest["images_added"], manifest["together_s"], ""],
        ]
    benchlib.print_table("Import benchmark", ["step", "rows", "seconds", "rate"], rows)
    if folder:
        print(
            f"(a) {folder['files']} files, {folder['megabytes']:.1f} MB, {folder['failed']} failed; "
            f"{folder['images_in_db']} images, {folder['review_items_in_db']} review items in the DB"
        )
    if manifest:
        print(
            f"(b) {manifest['images_in_db']} images, {manifest['predictions_in_db']} predictions, "
            f"{manifest['review_items_in_db']} review items ({manifest['new_review_items']} from the model; "
            f"{manifest['images_with_two_items']} images with two candidates)"
        )
        for step, profile in manifest.get("sql_profile", {}).items():
            seconds = manifest[f"{step}_s"]
            print(
                f"\n{step}: {seconds:.2f} s = {profile['sql_s']:.2f} s in {profile['statements']} SQL statements "
                f"+ {seconds - profile['sql_s']:.2f} s Python; slowest statements:"
            )
            for query in profile["slowest"]:
                print(f"  {query['s']:6.3f} s  {query['sql']}")
        benchlib.print_table(
            "Goal",
            ["goal", "measured", "target", "status"],
            [benchlib.goal_line("(b) register + predictions", manifest["together_s"], MANIFEST_GOAL_S, "s")],
        )


def main():
    args = parse_args()
    if not args.skip_images:
        benchlib.require_shared("imagenet-samples")
    if not args.skip_manifest:
        benchlib.require_shared("val-predictions/index_to_filepath.json")
        benchlib.require_shared("val-predictions/cv_predicted_labels.npy")
    database_url = benchlib.setup_django(reset=True, database_url=args.database_url)
    results = {}
    workdir = tempfile.mkdtemp(prefix="relabel-bench-import-")
    try:
        if not args.skip_images:
            bench_image_folder(results)
        if not args.skip_manifest:
            bench_manifest(results, workdir, profile=args.profile)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    goals = {}
    if "manifest_and_predictions" in results:
        together = results["manifest_and_predictions"]["together_s"]
        goals["manifest_and_predictions_s"] = {
            "limit": MANIFEST_GOAL_S,
            "value": together,
            "met": together < MANIFEST_GOAL_S,
        }
    benchlib.write_json(args.json, "import_bench", database_url, results, goals)


if __name__ == "__main__":
    main()
