"""Class search speed: the in-memory ranked synset search and the API request the class pickers make.

Goal: under 50 ms server time per search while typing (training and evaluation pickers).

    .venv/bin/python bench/search_bench.py [--rounds 20] [--json FILE]

Runs on the embedded defaults (a temporary SQLite database): the search reads no table.
"""

import argparse
import os
import tempfile
import time

import benchlib

QUERIES = ["a", "s", "sh", "shark", "great white", "dog", "walker", "terrier long haired", "retriever gold", "n0208"]
QUERIES += ["n02085620", "ray", "electric", "insect", "bird of prey", "mushroom", "the", "x", "zzzz", "red"]
# Whole words before prefixes ("cat"), then one typo each: a letter added, swapped, changed, left out.
QUERIES += ["cat", "tabbby", "retreiver", "sherk", "tabby ct"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    database_url = f"sqlite:///{tempfile.mkdtemp(prefix='relabel-bench-search-')}/db.sqlite3"
    os.environ["DATABASE_URL"] = database_url
    benchlib.setup_django(reset=False, database_url=database_url)
    from django.contrib.auth.models import User
    from django.test import Client

    import taxonomy

    taxonomy.search("warm up the index")
    in_memory = {True: [], False: []}
    for _ in range(args.rounds):
        for query in QUERIES:
            for classes_only, timings in in_memory.items():
                started = time.perf_counter()
                taxonomy.search(query, limit=12, classes_only=classes_only)
                timings.append(time.perf_counter() - started)

    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.create_user("bench-search"))
    client.get("/api/synsets/", {"q": "warm", "classes_only": "1"})
    requests = []
    for _ in range(args.rounds):
        for query in QUERIES:
            started = time.perf_counter()
            response = client.get("/api/synsets/", {"q": query, "classes_only": "1", "limit": "12"})
            requests.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content

    results = {
        "taxonomy_search": benchlib.latency_summary(in_memory[True]),
        "taxonomy_search_hierarchy": benchlib.latency_summary(in_memory[False]),
        "api_request": benchlib.latency_summary(requests),
    }
    benchlib.print_table(
        f"Class search, {len(QUERIES)} queries x {args.rounds} rounds (ms)",
        ["what", "n", "p50", "p95", "p99", "max"],
        [
            [name, r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"]]
            for name, r in (
                ("taxonomy.search, classes", results["taxonomy_search"]),
                ("taxonomy.search, every synset", results["taxonomy_search_hierarchy"]),
                ("GET /api/synsets/", results["api_request"]),
            )
        ],
    )
    benchlib.print_table(
        "Goal",
        ["goal", "measured", "target", "status"],
        [benchlib.goal_line("search request p95", results["api_request"]["p95_ms"], 50, "ms")],
    )
    benchlib.write_json(args.json, "search", database_url, results, {"search_request_p95_ms": "< 50"})


if __name__ == "__main__":
    main()
