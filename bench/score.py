"""Scoring benchmark: the multi-label scoring engine on 100 models x 50,000 images, every split, and the loading
of its arrays from PostgreSQL.

(a) Engine: evaluation/scoring.py on generated arrays (no database): 100 models with top-5 predictions on
    50,000 images in one dataset, 10 humans answering 2,500 images each, with their seen images and seconds per
    image (seen / unseen and fast / slow figures), ~10% of the review items undecided (so that most figures are
    bounds), 2% problematic images. Times the figures without confidence intervals, then with them (every split,
    metric, averaging and subset: the whole of what `score` gives), then the mistake analysis.
(b) Loading: the same arrays written to the bench database (register_manifest for the images, annotate.bulk's
    COPY for the 5 million predictions, set-based SQL for the review items, verdicts and problematic flags; the
    humans as plain predictors, without phases; each predictor's predictions packed into its prediction blocks as
    the imports do), then timed evaluation.scores.load_inputs (PostgreSQL binary
    COPY), the portable fetch path once, score_rows end to end (load + engine + intervals: "100 models x 50,000
    images, load included"), and the engine again on the loaded arrays. Checks that the loaded arrays give the
    same rows as the generated ones (subsets aside). Then the cache of figures (evaluation.figures_cache): the
    fingerprint of the data (one query), and score_rows through the cache computed, then served from it.

    .venv/bin/python bench/score.py [--keep-db] [--engine-only] [--repeat 3] [--json FILE]

The bench database (default postgres://postgres@127.0.0.1:5432/relabel_bench_score) is dropped and rebuilt
unless --keep-db finds the bench dataset already built at the requested size (building takes ~4 minutes).
Goals: the engine, intervals included, under 2 s; score_rows end to end (100 models x 50,000 images, load
included) under 1 s.
"""

import argparse
import csv
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np

DATASET = "bench-score"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench_score"
ENGINE_GOAL_S = 2.0
END_TO_END_GOAL_S = 1.0
SCORER = "bench-scorer"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", default=DATABASE_URL, help=f"bench database (default {DATABASE_URL})")
    parser.add_argument("--keep-db", action="store_true", help="reuse the bench dataset if it is already built")
    parser.add_argument("--engine-only", action="store_true", help="only (a): no database")
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--humans", type=int, default=10)
    parser.add_argument("--human-sample", type=int, default=2_500, help="images each human answers")
    parser.add_argument("--undecided", type=float, default=0.10, help="share of review items undecided")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step (best and median reported)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--skip-portable", action="store_true", help="skip timing the portable (non-COPY) load")
    return parser.parse_args()


def split_classes():
    import taxonomy

    return {name: sorted(taxonomy.class_index(w) for w in taxonomy.split_classes(name)) for name in taxonomy.SPLITS}


def generate(args):
    """(inputs, top5): arrays in the engine's layout, and the ranked top-5 classes [P, I, 5] (-1 padded) they come
    from. Each model is right on 50-90% of the images (else a confusable class near the original in class-index
    order), its top-5 the top-1 and the 4 classes after it; humans are right on 85%, had seen 20% of their images
    before, and take 2 to 60 s per image."""
    from evaluation import scoring

    rng = np.random.default_rng(args.seed)
    images, models, humans = args.images, args.models, args.humans
    original = rng.integers(0, scoring.CLASS_COUNT, images).astype(np.int16)
    offsets = np.stack([rng.permutation(np.r_[-12:0, 1:13])[:4] for _ in range(images)])
    confusable = (original[:, None] + offsets) % scoring.CLASS_COUNT
    top5 = np.full((models + humans, images, 5), -1, dtype=np.int16)
    for model in range(models):
        top1 = np.where(
            rng.random(images) < rng.uniform(0.5, 0.9), original, confusable[np.arange(images), rng.integers(0, 4)]
        )
        top5[model] = (top1[:, None] + np.arange(5)) % scoring.CLASS_COUNT
    for human in range(humans):
        sample = rng.choice(images, min(args.human_sample, images), replace=False)
        top5[models + human, sample, 0] = np.where(
            rng.random(len(sample)) < 0.85, original[sample], confusable[sample, 0]
        )
    top1 = np.ascontiguousarray(top5[:, :, 0])
    index = np.arange(images)
    keys = np.unique(np.r_[scoring.pair_keys(index[None, :], top1).ravel(), scoring.pair_keys(index, original)])
    keys = keys[keys >= 0]
    is_original = keys % scoring.PAIR_BASE == original[keys // scoring.PAIR_BASE]
    draw = rng.random(len(keys))
    verdicts = np.where(
        is_original,
        np.select([draw < 0.9, draw < 0.95], [scoring.CORRECT, scoring.UNCLEAR], scoring.WRONG),
        np.select([draw < 0.2, draw < 0.3], [scoring.CORRECT, scoring.UNCLEAR], scoring.WRONG),
    ).astype(np.int8)
    decided = rng.random(len(keys)) >= args.undecided
    answered = {f"bench-human-{h:02d}": top1[models + h] >= 0 for h in range(humans)}
    inputs = scoring.Inputs(
        predictors=[f"bench-model-{m:03d}" for m in range(models)] + [f"bench-human-{h:02d}" for h in range(humans)],
        kinds=[scoring.MODEL] * models + [scoring.HUMAN] * humans,
        top1=top1,
        in_top5=(top5 == original[None, :, None]).any(axis=2),
        original=original,
        problematic=rng.random(images) < 0.02,
        dataset=np.zeros(images, dtype=np.int64),
        datasets=[DATASET],
        item_keys=keys[decided],
        item_verdicts=verdicts[decided],
        splits=split_classes(),
        seen={name: mask & (rng.random(images) < 0.2) for name, mask in answered.items()},
        seconds={name: np.where(mask, rng.uniform(2, 60, images), np.nan) for name, mask in answered.items()},
    )
    return inputs, top5


def repeat_timed(repeat, step):
    """(seconds of each run, the last result)."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = step()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def summary(seconds):
    return {"best_s": min(seconds), "median_s": statistics.median(seconds), "runs": len(seconds)}


def time_engine(inputs, repeat):
    from evaluation import scoring

    results = {}
    seconds, rows = repeat_timed(repeat, lambda: scoring.figures(inputs, confidence_intervals=False))
    results["figures_without_ci"] = summary(seconds)

    seconds, rows = repeat_timed(repeat, lambda: scoring.score(inputs))
    results["score"] = summary(seconds)
    seconds, found = repeat_timed(repeat, lambda: scoring.mistakes(inputs))
    results["mistakes"] = summary(seconds)
    results["mistaken_images"] = {group: int(mask.sum()) for group, mask in found.items()}
    per_image = [row for row in rows if row["averaging"] == "image" and row["n"]]
    results["rows"] = len(rows)
    results["image_rows"] = len(per_image)
    results["image_rows_with_bounds"] = sum(row["value"] is None for row in per_image)
    results["predictors"] = len({row["predictor"] for row in rows})
    return results


# --- (b) the database -----------------------------------------------------------------------------------------


def existing_build(args):
    if not args.keep_db:
        return False
    url = benchlib.configure_environment(args.database_url)
    if not benchlib.pg_database_exists(url):
        return False
    benchlib.setup_django(reset=False, database_url=args.database_url)
    from annotate.models import ClassifierModel, Dataset, Image

    dataset = Dataset.objects.filter(name=DATASET).first()
    return (
        dataset is not None
        and Image.objects.filter(dataset=dataset).count() == args.images
        and ClassifierModel.objects.count() == args.models + args.humans
        and not ClassifierModel.objects.filter(random_weights=True).exists()  # built before models voted
    )


def build(args, inputs, top5):
    """Write the generated arrays to the bench database; the seconds of each step. The models are not marked
    simulated or random weights: they stand for a real testbed, whose models vote in the model majority vote."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    import taxonomy
    from annotate.bulk import insert_rows
    from annotate.image_import import register_manifest
    from annotate.models import ClassifierModel, Dataset, Image, Prediction, PredictorKind, ranked_classes
    from evaluation import scoring

    wnids = np.array(taxonomy.class_wnids())
    times = {}
    workdir = tempfile.mkdtemp(prefix="relabel-bench-score-")
    try:
        manifest = Path(workdir) / "manifest.csv"
        with open(manifest, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["filename", "wnid"])
            writer.writerows((f"bench_{i:06d}.JPEG", wnids[c]) for i, c in enumerate(inputs.original))
        with benchlib.timed(times, "register_manifest_s"):
            register_manifest(dataset_name=DATASET, manifest_file=manifest)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    dataset = Dataset.objects.get(name=DATASET)
    image_ids = np.array(Image.objects.filter(dataset=dataset).order_by("position").values_list("pk", flat=True))
    kinds = {scoring.MODEL: PredictorKind.MODEL, scoring.HUMAN: PredictorKind.HUMAN}
    predictors = ClassifierModel.objects.bulk_create(
        [
            ClassifierModel(name=name, kind=kinds[kind])
            for name, kind in zip(inputs.predictors, inputs.kinds, strict=True)
        ]
    )

    def prediction_rows():
        for predictor, ranked in zip(predictors, top5, strict=True):
            answered = np.flatnonzero(ranked[:, 0] >= 0)
            for image, classes in zip(image_ids[answered].tolist(), ranked[answered].tolist(), strict=True):
                names = [str(wnids[c]) for c in classes if c >= 0]
                yield predictor.pk, image, names[0], names, None, ranked_classes(names)

    with benchlib.timed(times, "insert_predictions_s"), transaction.atomic():
        columns = ["model", "image", "top1_wnid", "wnids", "scores", "top5"]
        times["predictions"] = insert_rows(Prediction, columns, prediction_rows())
    scorer, _ = User.objects.get_or_create(username=SCORER)
    codes = {scoring.CORRECT: "correct", scoring.WRONG: "wrong", scoring.UNCLEAR: "unclear"}
    with benchlib.timed(times, "review_items_and_flags_s"), transaction.atomic(), connection.cursor() as cursor:
        # Review items: every predicted pair besides the original-label items register_manifest made.
        cursor.execute(
            """INSERT INTO annotate_reviewitem
                   (image_id, dataset_id, wnid, is_original, model_count, verdict, created_at)
               SELECT p.image_id, %s, p.top1_wnid, FALSE, COUNT(*), 'unreviewed', now()
               FROM annotate_prediction p JOIN annotate_image i ON i.id = p.image_id
               WHERE i.dataset_id = %s AND p.top1_wnid <> i.original_wnid GROUP BY p.image_id, p.top1_wnid""",
            [dataset.pk, dataset.pk],
        )
        # The generated verdicts, by pair key, through a temporary table.
        cursor.execute("CREATE TEMPORARY TABLE bench_verdict (image_id bigint, wnid varchar(9), verdict varchar(12))")
        images_of_keys = image_ids[inputs.item_keys // scoring.PAIR_BASE]
        wnids_of_keys = wnids[inputs.item_keys % scoring.PAIR_BASE]
        rows = "".join(
            f"{image}\t{wnid}\t{codes[int(code)]}\n"
            for image, wnid, code in zip(
                images_of_keys.tolist(), wnids_of_keys.tolist(), inputs.item_verdicts.tolist(), strict=True
            )
        )
        cursor.copy_expert("COPY bench_verdict FROM STDIN", io.StringIO(rows))
        cursor.execute(
            """UPDATE annotate_reviewitem r SET verdict = v.verdict, verdict_by_id = %s, verdict_at = now()
               FROM bench_verdict v WHERE r.image_id = v.image_id AND r.wnid = v.wnid""",
            [scorer.pk],
        )
        times["decided_items"] = cursor.rowcount
        cursor.execute("DROP TABLE bench_verdict")
        cursor.execute(
            """INSERT INTO annotate_problematicflag (image_id, reason, note, reviewer_id, time_marked, time_reviewed)
               SELECT id, 'drawing', '', %s, now(), now() FROM annotate_image WHERE id = ANY(%s)""",
            [scorer.pk, image_ids[inputs.problematic].tolist()],
        )
        cursor.execute("SELECT COUNT(*) FROM annotate_reviewitem WHERE dataset_id = %s", [dataset.pk])
        times["review_items"] = cursor.fetchone()[0]
    with benchlib.timed(times, "vacuum_analyze_s"), connection.cursor() as cursor:
        for table in ("annotate_image", "annotate_reviewitem", "annotate_prediction", "annotate_problematicflag"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return times


def pack_blocks():
    """Pack every predictor's prediction blocks (annotate.prediction_blocks), as the imports that store predictions
    do, unless a reused database has them already; the seconds it took (None: already there)."""
    from annotate import prediction_blocks
    from annotate.models import ClassifierModel, PredictionBlock

    if PredictionBlock.objects.exists():
        return None
    start = time.perf_counter()
    for model_id in ClassifierModel.objects.values_list("pk", flat=True):
        prediction_blocks.rebuild(model_id)
    return time.perf_counter() - start


def time_database(args):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from evaluation import scores

    results = {}
    seconds, loaded = repeat_timed(args.repeat, lambda: scores.load_inputs([DATASET]))
    results["load_copy"] = summary(seconds)
    if not args.skip_portable:
        seconds, portable = repeat_timed(1, lambda: scores.load_inputs([DATASET], fast=False))
        results["load_portable"] = summary(seconds)
        results["portable_equals_copy"] = all(
            np.array_equal(getattr(loaded, field), getattr(portable, field))
            for field in ("top1", "in_top5", "original", "problematic", "dataset", "item_keys", "item_verdicts")
        )
    with CaptureQueriesContext(connection) as captured:
        scores.load_inputs([DATASET])
    results["queries"] = len(captured)

    seconds, rows = repeat_timed(args.repeat, lambda: scores.score_rows([DATASET]))
    results["score_rows"] = summary(seconds)
    results["rows"] = len(rows)
    results.update(time_cache(args.repeat, rows))
    results["shape"] = {"predictors": len(loaded.predictors), "images": len(loaded.original)}
    results["decided_items"] = len(loaded.item_keys)
    return results, loaded


def time_cache(repeat, rows):
    """The fingerprint of the data behind the figures, and score_rows through the cache of figures: computed (under
    a key of its own each time, rather than emptying a cache that may be shared), then served from it; both must
    give the rows computed without it."""
    from itertools import count

    from evaluation import figures_cache, scores, selectors

    runs = count()

    def through_cache(run):
        return figures_cache.cached("bench", {"run": run}, lambda: scores.score_rows([DATASET]))[0]

    results, started = {}, time.time()
    seconds, _ = repeat_timed(repeat, selectors.figures_fingerprint)
    results["fingerprint"] = summary(seconds)
    seconds, missed = repeat_timed(repeat, lambda: through_cache(f"{started} {next(runs)}"))
    results["cache_miss"] = summary(seconds)
    seconds, hit = repeat_timed(repeat, lambda: through_cache(f"{started} 0"))  # the first one computed
    results["cache_hit"] = summary(seconds)
    results["cache_gives_the_rows"] = missed == rows and hit == rows
    return results


def main():
    from evaluation import scoring

    args = parse_args()
    results = {"parameters": {k: v for k, v in vars(args).items() if k not in {"json", "database_url"}}}
    database_url = benchlib.configure_environment(args.database_url)
    reused = False if args.engine_only else existing_build(args)
    if not args.engine_only and not reused:
        benchlib.setup_django(reset=True, database_url=args.database_url)
    start = time.perf_counter()
    inputs, top5 = generate(args)
    results["generate_s"] = time.perf_counter() - start
    print(
        f"engine: {args.models} models + {args.humans} humans x {args.images:,} images, "
        f"{len(inputs.item_keys):,} decided review items",
        flush=True,
    )
    results["engine"] = time_engine(inputs, args.repeat)
    if not args.engine_only:
        if reused:
            print(f"reusing dataset {DATASET!r} in the bench database (--keep-db)")
        else:
            print("building the bench database ...", flush=True)
            results["build"] = build(args, inputs, top5)
        results["pack_blocks_s"] = pack_blocks()
        results["database"], loaded = time_database(args)
        # The bench database holds no evaluation phases: its humans have no seen / fast subsets.
        generated = [row for row in scoring.figures(inputs, False) if row["subset"] == scoring.ALL]
        results["database"]["rows_equal_generated"] = scoring.figures(loaded, False) == generated
        results["engine_on_loaded"] = time_engine(loaded, args.repeat)
    results["reused_db"] = reused
    report(results)
    engine_s = results["engine"]["score"]["best_s"]
    goals = {"engine_score_s": {"limit": ENGINE_GOAL_S, "value": engine_s, "met": engine_s < ENGINE_GOAL_S}}
    if "database" in results:
        end_to_end_s = results["database"]["score_rows"]["best_s"]
        goals["score_rows_s"] = {
            "limit": END_TO_END_GOAL_S,
            "value": end_to_end_s,
            "met": end_to_end_s < END_TO_END_GOAL_S,
        }
    benchlib.write_json(args.json, "score", database_url, results, goals)


def report(results):
    engine = results["engine"]
    print(
        f"\n{engine['predictors']} predictors (ensembles included), {engine['rows']:,} rows, "
        f"{engine['image_rows']:,} per-image figures ({engine['image_rows_with_bounds']:,} with bounds)"
    )
    lines = [
        ["figures, no intervals", engine["figures_without_ci"]],
        ["figures + intervals (score)", engine["score"]],
        ["mistake analysis", engine["mistakes"]],
    ]
    if "database" in results:
        database = results["database"]
        lines += [
            ["load from PostgreSQL (COPY)", database["load_copy"]],
            *([["load, portable fetch", database["load_portable"]]] if "load_portable" in database else []),
            ["score_rows end to end (load included)", database["score_rows"]],
            ["fingerprint of the data", database["fingerprint"]],
            ["score_rows, cache miss", database["cache_miss"]],
            ["score_rows, cache hit", database["cache_hit"]],
            ["engine on loaded: no intervals", results["engine_on_loaded"]["figures_without_ci"]],
            ["engine on loaded: + intervals", results["engine_on_loaded"]["score"]],
        ]
    benchlib.print_table(
        "Seconds", ["step", "best", "median", "runs"], [[n, s["best_s"], s["median_s"], s["runs"]] for n, s in lines]
    )
    if "build" in results:
        build_info = results["build"]
        benchlib.print_table("Build", ["step", "value"], [[k.removesuffix("_s"), v] for k, v in build_info.items()])
    if results.get("pack_blocks_s") is not None:
        print(f"prediction blocks packed in {results['pack_blocks_s']:.2f} s (annotate.prediction_blocks.rebuild)")
    if "database" in results:
        database = results["database"]
        print(
            f"loaded {database['shape']['predictors']} predictors x {database['shape']['images']:,} images, "
            f"{database['decided_items']:,} decided items in {database['queries']} queries; portable fetch gives the "
            f"same arrays: {database.get('portable_equals_copy', 'not run')}; rows equal those of the generated "
            f"arrays: {database['rows_equal_generated']}; the cache gives the same rows: "
            f"{database['cache_gives_the_rows']}"
        )
    print(f"images every model / human / both get wrong: {engine['mistaken_images']}")
    goals = [
        benchlib.goal_line("engine, figures", engine["figures_without_ci"]["best_s"], ENGINE_GOAL_S, "s"),
        benchlib.goal_line("engine, + intervals", engine["score"]["best_s"], ENGINE_GOAL_S, "s"),
    ]
    if "database" in results:
        end_to_end_s = results["database"]["score_rows"]["best_s"]
        goals.append(benchlib.goal_line("load included (score_rows)", end_to_end_s, END_TO_END_GOAL_S, "s"))
    benchlib.print_table("Goals", ["goal", "measured", "target", "status"], goals)


if __name__ == "__main__":
    main()
