"""Near-duplicate search at ImageNet's scale on this machine's CPUs (issue 16): nearduplicates/search.py alone.

Goals: 10,000 queries against 1.33 million 512-d float32 references, top 30, exact, in <= 60 s, peak memory < 4 GB
(the references stream in blocks and are never all in memory: they would take 2.7 GB).

    .venv/bin/python bench/near_duplicate_search_bench.py [--references 1330000] [--json FILE]
        [--skip-faiss] [--skip-workers] [--skip-ivf] [--ivf-references 200000]

Steps, each reported with the load average beside it (the machine may be shared: rerun on a quiet one):

1. exact search in this process (torch's threads, 2 here): wall time less the time spent generating blocks,
   CPU time, peak RSS; the planted copies (1 % of the queries have a slightly noisy copy among the references)
   must come first; 100 queries are checked against FAISS's exact IndexFlatL2.
2. FAISS IndexFlatL2 (float32, what exact search is without the bfloat16 screen) on a tenth of the references,
   scaled up, for comparison.
3. two workers: the references split in two shards, each searched by its own process with one thread, the
   per-shard top-k merged with merge_top_k; must equal step 1.
4. IVF crossover: on clustered data (--ivf-references, 512-d, 1,000 centres, each point as far from its centre as
   the centres are from the origin), IndexIVFFlat with √N lists at several nprobe:
   build and search times and recall@30 against exact search, and the reference count past which exact search
   of 10,000 queries takes longer than 60 s (from step 1's rate), which choose_index uses.
5. DSSIM (nearduplicates/ssim.py) at several image sizes: decoding a 500×375 JPEG with its statistics, one
   candidate against 30 neighbours per pair, and scikit-image's structural_similarity per pair for comparison.

Synthetic data: standard normal vectors, block b drawn from the seed (seed, b), so that any process can draw any
block alone.
"""

import argparse
import io
import multiprocessing
import os
import resource
import time

import benchlib
import numpy as np

GOAL_SECONDS = 60.0
GOAL_MEMORY_GB = 4.0
PLANTED_SHARE = 0.01
CHECKED_QUERIES = 100
NPROBES = (1, 4, 16, 64)
SSIM_SIZES = (96, 128, 192, 256)
SSIM_NEIGHBOURS = 30


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--references", type=int, default=1_330_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--block", type=int, default=65_536, help="references per block (default 65536)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--ivf-references", type=int, default=200_000, help="clustered references for step 4")
    parser.add_argument("--skip-faiss", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-ivf", action="store_true")
    parser.add_argument("--skip-ssim", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    return parser.parse_args()


class Data:
    """The queries and the references block by block, with the planted copies; cheap to pickle."""

    def __init__(self, queries, references, dim, k, block, seed):
        self.references, self.dim, self.k, self.block, self.seed = references, dim, k, block, seed
        rng = np.random.default_rng([seed, 1])
        self.queries = rng.standard_normal((queries, dim), dtype=np.float32)
        planted = max(1, int(queries * PLANTED_SHARE))
        self.planted_queries = rng.choice(queries, planted, replace=False)
        self.planted_ids = rng.choice(references, planted, replace=False).astype(np.int64)

    @property
    def block_count(self):
        return -(-self.references // self.block)

    def block_at(self, number):
        start = number * self.block
        ids = np.arange(start, min(start + self.block, self.references), dtype=np.int64)
        vectors = np.random.default_rng([self.seed, 2, number]).standard_normal((len(ids), self.dim), np.float32)
        inside = (self.planted_ids >= start) & (self.planted_ids < start + len(ids))
        noise = np.random.default_rng([self.seed, 3, number]).normal(0, 0.05, (inside.sum(), self.dim))
        vectors[self.planted_ids[inside] - start] = self.queries[self.planted_queries[inside]] + noise
        return ids, vectors

    def blocks(self, numbers, clock=None):
        """The blocks, adding the seconds spent drawing them to clock[0]."""
        for number in numbers:
            started = time.perf_counter()
            block = self.block_at(number)
            if clock is not None:
                clock[0] += time.perf_counter() - started
            yield block


def load():
    return os.getloadavg()[0]


def peak_rss_gb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024**2


def exact_search(data, results):
    from nearduplicates import search

    clock = [0.0]
    started, cpu = time.perf_counter(), time.process_time()
    distances, ids = search.exact_top_k(data.queries, data.blocks(range(data.block_count), clock), data.k)
    wall = time.perf_counter() - started
    results["exact"] = {
        "wall_s": wall,
        "generation_s": clock[0],
        "search_s": wall - clock[0],
        "cpu_s": time.process_time() - cpu,
        "peak_rss_gb": peak_rss_gb(),
        "load": load(),
        "threads": _threads(),
    }
    found_first = ids[data.planted_queries, 0] == data.planted_ids
    results["exact"]["planted_first"] = f"{found_first.sum()}/{len(found_first)}"
    return distances, ids


def _threads():
    import torch

    return torch.get_num_threads()


def faiss_check(data, distances, ids, results):
    """The first CHECKED_QUERIES queries against FAISS's float32 exact search, block by block, merged."""
    import faiss

    from nearduplicates import search

    queries = data.queries[:CHECKED_QUERIES]
    best = None
    for block_ids, vectors in data.blocks(range(data.block_count)):
        found_distances, found = faiss.knn(queries, vectors, data.k)
        part = (found_distances, block_ids[found])
        best = part if best is None else search.merge_top_k([best, part], data.k)
    faiss_distances, faiss_ids = best
    same = (faiss_ids == ids[:CHECKED_QUERIES]).mean()
    gap = np.abs(faiss_distances - distances[:CHECKED_QUERIES]).max() / np.abs(distances[:CHECKED_QUERIES]).max()
    results["faiss_check"] = {"queries": CHECKED_QUERIES, "same_ids": float(same), "largest_relative_gap": float(gap)}


def faiss_flat(data, results):
    """FAISS IndexFlatL2 per block on a tenth of the blocks, merged as exact_top_k merges, scaled to all."""
    import faiss

    from nearduplicates import search

    numbers = range(max(1, data.block_count // 10))
    searched = sum(len(ids) for ids, _ in data.blocks(numbers))
    clock = [0.0]
    started, cpu = time.perf_counter(), time.process_time()
    best = None
    for block_ids, vectors in data.blocks(numbers, clock):
        index = faiss.IndexFlatL2(data.dim)
        index.add(vectors)
        found_distances, found = index.search(data.queries, data.k)
        block_best = (found_distances, block_ids[found])
        best = block_best if best is None else search.merge_top_k([best, block_best], data.k)
    wall = time.perf_counter() - started - clock[0]
    scale = data.references / searched
    results["faiss_flat"] = {
        "references_searched": searched,
        "search_s": wall,
        "cpu_s": time.process_time() - cpu,
        "scaled_search_s": wall * scale,
        "load": load(),
    }


def _shard_worker(data, numbers):
    import faiss
    import torch

    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    from nearduplicates import search

    clock = [0.0]
    started = time.perf_counter()
    found = search.exact_top_k(data.queries, data.blocks(numbers, clock), data.k)
    return found, time.perf_counter() - started - clock[0], peak_rss_gb()


def two_workers(data, distances, ids, results):
    """Even blocks to one worker, odd to the other; each draws its own blocks (left out of its time)."""
    from nearduplicates import search

    shards = [range(0, data.block_count, 2), range(1, data.block_count, 2)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outcomes = pool.starmap(_shard_worker, [(data, shard) for shard in shards])
    wall = time.perf_counter() - started
    merge_started = time.perf_counter()
    merged = search.merge_top_k([found for found, _, _ in outcomes], data.k)
    results["two_workers"] = {
        "wall_s": wall,
        "shard_search_s": [seconds for _, seconds, _ in outcomes],
        "merge_s": time.perf_counter() - merge_started,
        "peak_rss_gb_per_worker": [rss for _, _, rss in outcomes],
        "equal_to_single": bool(np.array_equal(merged[1], ids) and np.array_equal(merged[0], distances)),
        "load": load(),
    }


def ivf_crossover(args, exact_rate, results):
    """IVF against exact search on clustered data; exact_rate: seconds per query·reference·dimension."""
    from nearduplicates import index_choice, search

    rng = np.random.default_rng([args.seed, 99])
    centres = rng.normal(0, 1, (1000, args.dim)).astype(np.float32)
    count = args.ivf_references

    def clustered(n, generator):
        return centres[generator.integers(0, len(centres), n)] + generator.normal(0, 1, (n, args.dim)).astype(
            np.float32
        )

    queries = clustered(args.queries, rng)

    def blocks():
        for number, start in enumerate(range(0, count, args.block)):
            ids = np.arange(start, min(start + args.block, count), dtype=np.int64)
            yield ids, clustered(len(ids), np.random.default_rng([args.seed, 100 + number]))

    started = time.perf_counter()
    _, exact_ids = search.exact_top_k(queries, blocks(), args.k)
    exact_s = time.perf_counter() - started
    started = time.perf_counter()
    index = search.build_ivf(blocks(), count)
    build_s = time.perf_counter() - started
    rows = []
    for nprobe in NPROBES:
        started = time.perf_counter()
        _, found = search.search_ivf(index, queries, args.k, nprobe=nprobe)
        seconds = time.perf_counter() - started
        recall = np.mean([np.intersect1d(a, b).size for a, b in zip(found, exact_ids, strict=True)]) / args.k
        rows.append({"nprobe": nprobe, "search_s": seconds, "recall_at_k": float(recall), "load": load()})
    limit = GOAL_SECONDS / (exact_rate * args.queries * args.dim)
    results["ivf"] = {
        "references": count,
        "lists": search.ivf_list_count(count),
        "exact_s": exact_s,
        "build_s": build_s,
        "by_nprobe": rows,
        "exact_limit_references_at_60s": int(limit),
        "choose_index_limit_references": int(index_choice.EXACT_SEARCH_LIMIT / (args.queries * args.dim)),
    }


def scene_jpeg(seed, size=(500, 375)):
    """A JPEG with structure (a gradient under filled ellipses), as SSIM sees photographs."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([seed, 7])
    width, height = size
    start, end = rng.integers(0, 256, (2, 3))
    ramp = np.linspace(0, 1, width)[None, :, None]
    image = Image.fromarray(np.broadcast_to(start + (end - start) * ramp, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.integers(0, width - 80), rng.integers(0, height - 80)
        w, h = rng.integers(20, 120, 2)
        draw.ellipse([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def ssim_timing(results):
    from skimage.metrics import structural_similarity

    from nearduplicates import ssim

    files = [scene_jpeg(seed) for seed in range(SSIM_NEIGHBOURS + 1)]
    rows = []
    for size in SSIM_SIZES:
        started = time.perf_counter()
        images = [ssim.SsimImage.decode(data, size) for data in files]
        decode_ms = (time.perf_counter() - started) / len(files) * 1000
        candidate, neighbours = images[0], images[1:]
        started = time.perf_counter()
        ssim.dssim(candidate, neighbours)
        batched_ms = (time.perf_counter() - started) / len(neighbours) * 1000
        started = time.perf_counter()
        for other in neighbours:
            structural_similarity(candidate.pixels, other.pixels, win_size=ssim.WINDOW, data_range=1.0)
        scikit_ms = (time.perf_counter() - started) / len(neighbours) * 1000
        rows.append({"size": size, "decode_ms": decode_ms, "pair_ms": batched_ms, "scikit_pair_ms": scikit_ms})
    results["ssim"] = {"rows": rows, "load": load()}


def report(args, results):
    exact = results["exact"]
    rows = [
        ["exact (bf16 screen + exact re-rank)", exact["search_s"], exact["cpu_s"], exact["peak_rss_gb"], exact["load"]]
    ]
    if "faiss_flat" in results:
        flat = results["faiss_flat"]
        rows.append(["FAISS IndexFlatL2 float32 (scaled)", flat["scaled_search_s"], "", "", flat["load"]])
    if "two_workers" in results:
        workers = results["two_workers"]
        slowest = max(workers["shard_search_s"]) + workers["merge_s"]
        rows.append(
            ["two workers, 1 thread each, merged", slowest, "", max(workers["peak_rss_gb_per_worker"]), workers["load"]]
        )
    benchlib.print_table(
        f"{args.queries:,} queries x {args.references:,} references x {args.dim}-d, top {args.k}",
        ["what", "seconds", "cpu s", "peak RSS GB", "load (1 min)"],
        rows,
    )
    print(
        f"blocks drawn in {exact['generation_s']:.1f} s (left out above); "
        f"planted copies first: {exact['planted_first']}"
    )
    if "faiss_check" in results:
        check = results["faiss_check"]
        print(
            f"against FAISS on {check['queries']} queries: same ids {check['same_ids']:.4f}, "
            f"largest relative distance gap {check['largest_relative_gap']:.1e}"
        )
    if "two_workers" in results:
        workers = results["two_workers"]
        shards = ", ".join(f"{seconds:.1f} s" for seconds in workers["shard_search_s"])
        print(
            f"two workers equal to one search: {workers['equal_to_single']}; shards {shards} (drawing their blocks "
            f"left out), pool wall time {workers['wall_s']:.1f} s"
        )
    if "ivf" in results:
        ivf = results["ivf"]
        benchlib.print_table(
            f"IVF on {ivf['references']:,} clustered references ({ivf['lists']} lists, built in "
            f"{ivf['build_s']:.1f} s); exact search: {ivf['exact_s']:.1f} s",
            ["nprobe", "search s", "recall@k", "load"],
            [[row["nprobe"], row["search_s"], row["recall_at_k"], row["load"]] for row in ivf["by_nprobe"]],
        )
        print(
            f"exact search of {args.queries:,} queries passes {GOAL_SECONDS:.0f} s past "
            f"{ivf['exact_limit_references_at_60s']:,} references "
            f"(choose_index: {ivf['choose_index_limit_references']:,})"
        )
    if "ssim" in results:
        benchlib.print_table(
            f"DSSIM, one candidate against {SSIM_NEIGHBOURS} neighbours, ms (load {results['ssim']['load']:.2f})",
            ["size", "decode + statistics per image", "per pair", "structural_similarity per pair"],
            [[row["size"], row["decode_ms"], row["pair_ms"], row["scikit_pair_ms"]] for row in results["ssim"]["rows"]],
        )
    goals = [
        benchlib.goal_line("exact search", exact["search_s"], GOAL_SECONDS, "s"),
        benchlib.goal_line("peak RSS", exact["peak_rss_gb"], GOAL_MEMORY_GB, "GB"),
    ]
    benchlib.print_table("Goals", ["goal", "measured", "target", "status"], goals)
    return {row[0]: row[1] for row in goals}


def main():
    args = parse_args()
    data = Data(args.queries, args.references, args.dim, args.k, args.block, args.seed)
    results = {"uptime_at_start": os.getloadavg()}
    distances, ids = exact_search(data, results)
    faiss_check(data, distances, ids, results)
    if not args.skip_faiss:
        faiss_flat(data, results)
    if not args.skip_workers:
        two_workers(data, distances, ids, results)
    if not args.skip_ssim:
        ssim_timing(results)
    if not args.skip_ivf:
        ivf_crossover(args, results["exact"]["search_s"] / (args.queries * args.references * args.dim), results)
    goals = report(args, results)
    benchlib.write_json(args.json, "near_duplicate_search", "", results, goals)


if __name__ == "__main__":
    main()
