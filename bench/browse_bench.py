"""Image browser benchmark against PostgreSQL: GET /api/datasets/<name>/images/ deep in 50,000 images.

Builds the dataset of bench/review_bench.py (50,000 registered images, 3 generated models, ~20% of the items
decided), gives its first reviewer those decided items as their own verdicts (one day apart at most), flags 2% of
the images problematic and opens a suggestion on 1%. Then, as that reviewer (not an admin, so that the rules of
annotate.access apply in full), times each list two ways:

- its first page, with the count of the whole list;
- a page deep in it: after the image 90% of the way through the list (keyset: no offset to skip).

Requests go through django.test.Client (full middleware, auth, DRF view, selector, in-process), so the time measured
is the server time without the network.

    .venv/bin/python bench/browse_bench.py [--keep-db] [--rounds 20] [--json FILE] [--explain]

The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/relabel_bench) is dropped and rebuilt
unless --keep-db finds the bench dataset already built at the requested size.
"""

import argparse
import sys
import time
from urllib.parse import urlencode

import benchlib
import review_bench

# A deep page costs what a first one does without its count; counting a list whose filter asks a subquery of each
# image (models disagree) reads every image of the dataset, once per list.
PAGE_GOAL_MS = 100.0
FIRST_PAGE_GOAL_MS = 1000.0
DOG = "n02084071"
# Each list as the browser asks for it: (name, query parameters).
LISTS = [
    ("every image", {}),
    ("unreviewed", {"status": "unreviewed"}),
    ("reviewed", {"status": "reviewed"}),
    ("problematic", {"status": "problematic"}),
    ("with a suggestion", {"status": "suggested"}),
    ("under dog (118 classes)", {"wnid": DOG}),
    ("model a, top-1 differs", {"model": review_bench.MODELS[0], "model_top1": "differs"}),
    ("models disagree", {"disagree": "true"}),
    ("file name has 04", {"q": "04"}),
    ("by file name, Z to A", {"sort": "-file_name"}),
    ("my recent", {"sort": "recent"}),
    ("unreviewed, dogs, disagree", {"status": "unreviewed", "wnid": DOG, "disagree": "true"}),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_review_set_arguments(parser)
    parser.add_argument("--rounds", type=int, default=20, help="timed requests per list and kind (default 20)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-analyze", action="store_true", help="skip VACUUM ANALYZE after the build")
    parser.add_argument("--explain", action="store_true", help="always print EXPLAIN ANALYZE of the deep pages")
    return parser.parse_args()


def add_browse_state(dataset, reviewer):
    """The reviewer's own verdicts (the decided items), problematic flags on 2% and open suggestions on 1%."""
    from django.db import connection, transaction

    from annotate.models import ProblemReason, SuggestionKind

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """INSERT INTO annotate_reviewerverdict (item_id, reviewer_id, value, updated_at)
               SELECT id, %s, verdict, now() - random() * interval '1 day' FROM annotate_reviewitem
               WHERE dataset_id = %s AND verdict <> 'unreviewed' ON CONFLICT DO NOTHING""",
            [reviewer.pk, dataset.pk],
        )
        verdicts = cursor.rowcount
        cursor.execute(
            """INSERT INTO annotate_problematicflag (image_id, reason, note, reviewer_id, time_marked, time_reviewed)
               SELECT id, %s, '', %s, now(), now() FROM annotate_image WHERE dataset_id = %s AND random() < 0.02
               ON CONFLICT DO NOTHING""",
            [ProblemReason.DRAWING, reviewer.pk, dataset.pk],
        )
        flags = cursor.rowcount
        cursor.execute(
            """INSERT INTO annotate_suggestion (image_id, kind, wnid, reason, note, suggested_by_id, created_at,
                                                resolution)
               SELECT id, %s, original_wnid, '', '', %s, now(), '' FROM annotate_image
               WHERE dataset_id = %s AND random() < 0.01 ON CONFLICT DO NOTHING""",
            [SuggestionKind.LABEL_CORRECT, reviewer.pk, dataset.pk],
        )
        suggestions = cursor.rowcount
        cursor.execute(
            """UPDATE annotate_image i SET pending_items = pending_items + 1
               FROM annotate_suggestion s WHERE s.image_id = i.id AND i.dataset_id = %s""",
            [dataset.pk],
        )
    return {"reviewer_verdicts": verdicts, "problematic_flags": flags, "open_suggestions": suggestions}


def deep_cursor(dataset, reviewer, params):
    """The id of the image 90% of the way through the list, and the list's length."""
    from django.http import QueryDict

    from annotate import browse

    listing = browse.image_list(QueryDict(urlencode(params)))
    images = browse.listed_images(dataset=dataset, user=reviewer, listing=listing).order_by(*browse.SORTS[listing.sort])
    total = images.count()
    if total == 0:
        return None, 0
    return images.values_list("pk", flat=True)[int(total * 0.9)], total


def time_lists(client, dataset, reviewer, rounds):
    url = f"/api/datasets/{dataset.name}/images/"
    results = {}
    for name, params in LISTS:
        cursor, total = deep_cursor(dataset, reviewer, params)
        timings = {"first": [], "deep": []}
        kinds = [("first", params)] + ([("deep", {**params, "after": cursor})] if cursor else [])
        for _ in range(rounds + 2):
            for kind, query in kinds:
                start = time.perf_counter()
                response = client.get(url, query)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    sys.exit(f"error: GET {url} {query} answered {response.status_code}: {response.content[:300]!r}")
                timings[kind].append(elapsed)
        # The first two rounds warm the caches.
        results[name] = {
            "params": params,
            "images": total,
            **{kind: benchlib.latency_summary(values[2:]) for kind, values in timings.items() if values},
        }
    return results


def explain_deep(client, dataset, reviewer):
    """EXPLAIN ANALYZE of the slowest query of each list's deep page, as the request ran it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plans = {}
    for name, params in LISTS:
        cursor, _ = deep_cursor(dataset, reviewer, params)
        if cursor is None:
            continue
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/api/datasets/{dataset.name}/images/", {**params, "after": cursor})
        slowest = max(captured.captured_queries, key=lambda query: float(query["time"]))
        with connection.cursor() as sql:
            sql.execute(f"EXPLAIN ANALYZE {slowest['sql']}")
            plans[name] = "\n".join(row[0] for row in sql.fetchall())
    return plans


def main():
    args = parse_args()
    results = {"parameters": {k: v for k, v in vars(args).items() if k not in {"json", "database_url"}}}
    reused = review_bench.existing_build(args)
    if reused:
        database_url = benchlib.configure_environment(args.database_url)
        print(f"reusing dataset {review_bench.DATASET!r} in the bench database (--keep-db)")
    else:
        database_url = benchlib.setup_django(reset=True, database_url=args.database_url)
        print(f"building {args.images:,} images with {len(review_bench.MODELS)} models ...", flush=True)
        review_bench.build(args, results)
    results["reused_db"] = reused

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from annotate.models import Dataset, ReviewerVerdict

    dataset = Dataset.objects.get(name=review_bench.DATASET)
    reviewer = User.objects.get(username=review_bench.REVIEWERS[0])
    if not ReviewerVerdict.objects.filter(reviewer=reviewer, item__dataset=dataset).exists():
        results["browse_state"] = add_browse_state(dataset, reviewer)
        if not args.no_analyze:
            review_bench.vacuum_analyze()
            with connection.cursor() as cursor:
                for table in ("annotate_reviewerverdict", "annotate_problematicflag", "annotate_suggestion"):
                    cursor.execute(f"VACUUM ANALYZE {table}")
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(reviewer)
    print(f"timing {len(LISTS)} lists, first and deep pages, {args.rounds} rounds each", flush=True)
    results["lists"] = time_lists(client, dataset, reviewer, args.rounds)
    worst_deep = max(r["deep"]["p95_ms"] for r in results["lists"].values() if "deep" in r)
    worst_first = max(r["first"]["p95_ms"] for r in results["lists"].values())
    if args.explain or worst_deep >= PAGE_GOAL_MS:
        results["explain"] = explain_deep(client, dataset, reviewer)
    report(results, worst_deep, worst_first)
    goals = {
        "deep_page_p95_ms": {"limit": PAGE_GOAL_MS, "value": worst_deep},
        "first_page_with_count_p95_ms": {"limit": FIRST_PAGE_GOAL_MS, "value": worst_first},
    }
    for goal in goals.values():
        goal["met"] = goal["value"] < goal["limit"]
    benchlib.write_json(args.json, "browse_bench", database_url, results, goals)


def report(results, worst_deep, worst_first):
    if "build" in results:
        rows = [[key.removesuffix("_s"), value] for key, value in results["build"].items() if key.endswith("_s")]
        benchlib.print_table("Build (seconds)", ["step", "seconds"], rows)
    rows = []
    for name, result in results["lists"].items():
        first, deep = result["first"], result.get("deep")
        rows.append(
            [
                name,
                result["images"],
                first["p50_ms"],
                first["p95_ms"],
                deep["p50_ms"] if deep else "-",
                deep["p95_ms"] if deep else "-",
            ]
        )
    benchlib.print_table(
        "GET /api/datasets/<name>/images/ as a reviewer (ms, django.test.Client in-process, 60 images a page)",
        ["list", "images", "first p50", "first p95", "deep p50", "deep p95"],
        rows,
    )
    benchlib.print_table(
        "Goals",
        ["goal", "measured", "target", "status"],
        [
            benchlib.goal_line("deep page p95, worst list", worst_deep, PAGE_GOAL_MS, "ms"),
            benchlib.goal_line("first page + count p95, worst list", worst_first, FIRST_PAGE_GOAL_MS, "ms"),
        ],
    )
    for name, plan in (results.get("explain") or {}).items():
        print(f"\nEXPLAIN ANALYZE deep page of {name}:\n{plan}")


if __name__ == "__main__":
    main()
