"""k-nearest-neighbour search of feature vectors for the near-duplicate search (issue 16): no Django here.

Distance: squared Euclidean distance (L2²), the value FAISS returns and the scale of ImageNetV2's thresholds
(pixel 1.2e8 on 256×256×3 images only makes sense squared). Thresholds are compared against it as it is stored.

The reference is an iterable of blocks ``(ids int64 (m,), vectors float32 (m, d))``, read once, so memory stays
bounded by one block whatever the reference's size. Results are ``(distances float32 (n, k), ids int64 (n, k))``,
each row sorted by distance then id; rows with fewer than k references end in ``inf`` / ``-1``. ``exclude_ids``
gives, per query, one reference id it must not be matched with (its own id when candidates are searched among
themselves; -1 for none).

Exact search (`exact_top_k`)
    10,000 × 1.33 million × 512 is 6.8·10¹² multiply-adds. This machine's two Zen 4 cores do about 90 GFLOP/s
    each in float32 (FAISS's IndexFlatL2 and MKL alike), so float32 exact search cannot fit 60 s here: FAISS
    took 166 CPU seconds, over 80 s on two idle cores. bfloat16 products (AVX512-BF16) run twice as fast, so
    every pair is screened in bfloat16 and the few pairs that may matter are re-ranked exactly:

    1. queries and references are centred on the queries' mean (L2 is unchanged; it shrinks the values the
       products cancel). For each tile of references and each query, with U the query's current k-th distance,
       one bfloat16 product with float32 accumulation gives G = q·x - |x|²/2 - s: -|x|²/2 rides in two extra
       columns of the references, -s in two extra columns of the queries;
    2. s is the query's threshold t = (|q|² - U)/2 lowered by a rounding-error bound E (`_ErrorBound`: input
       rounding, float32 accumulation, the two-part constants, the float32 re-ranking, widened by a quarter).
       A pair that could be at or under U has H = q·x - |x|²/2 >= t, so its sum before rounding is >= E - e > 0,
       and rounding keeps the sign: the pairs to keep are those whose product's sign bit is clear;
    3. the sign test reads each group of 128 products' maximum first and only the groups with one >= 0 entry by
       entry; the pairs kept get their distance in float32 from the float32 vectors, and those at or under U are
       merged into the running top k. A query's first tile seeds U from its k+1 best products, re-ranked.

    So the result is the exact top k of the float32 distances between the centred vectors (FAISS's own float32
    distances, computed as |q|² + |x|² - 2q·x, agree to about 1e-6 relative). Neighbours closer together than
    float32's rounding may swap. On a CUDA GPU (torch) the same steps run with float32 (or TensorFloat-32)
    products.

IVF (`build_ivf`, then `search_ivf`)
    FAISS IndexIVFFlat with nlist = √N lists, trained on a sample, nprobe lists visited per query; approximate.
    `index_choice.choose_index` says which to use: exact up to `EXACT_SEARCH_LIMIT` query·reference·dimension
    products (where exact search of 10,000 queries passes 60 s here: about 1.45 million 512-d references), IVF
    beyond; a search job's shards each build the IVF of their own blocks (nearduplicates/ivf_searching.py). On this
    CPU IVF is no bargain near that size: scanning a list re-reads its vectors for every query (2 KB each at
    512-d, bound by memory bandwidth), and the build assigns every reference to √N centroids. Its search grows
    with nprobe·√N instead of N, so it pays where the reference is far larger or one index serves many
    searches. FAISS's GPU build holds the index when FAISS sees a GPU (faiss-cpu sees none).

Measured (bench/near_duplicate_search_bench.py: 10,000 queries × 1.33 million references × 512-d, top 30, this
2-core Zen 4 machine shared with other jobs, 1-minute load average in brackets; drawing the synthetic blocks is
left out):
    exact_top_k               54.1 s, 107 CPU s, peak RSS 1.11 GB (1.6); 70.0 s, 106 CPU s (2.4)
    FAISS IndexFlatL2 float32 88.7 s, 166 CPU s (3.6; a tenth of the references, scaled; same run as 70.0 s)
    two workers, 1 thread     63.4 s and 62.0 s per shard (3.0), merged with merge_top_k: equal to one search
    IVF, 200,000 clustered    built in 14.4 s; nprobe 1, 4, 16, 64: 2.4, 20.8, 54.9, 123 s, recall@30 0.980,
                              0.998, 1.000, 1.000; exact on the same data 40.5 s (3.3 to 5.7)
"""

import itertools
import math

import faiss
import numpy as np
import torch

from nearduplicates.index_choice import DEFAULT_NPROBE

DEFAULT_K = 30
# k-means wants at least 39 training points per list (FAISS warns below that); 64 leaves room.
TRAINING_POINTS_PER_LIST = 64

_TILE = 8192  # references multiplied with the queries at once
_GROUP = 128  # columns whose maximum is tested before their elements
_PRODUCT_CELLS = 1 << 26  # largest query × reference product computed at once (128 MB in bfloat16)
_RERANK_CELLS = 1 << 22  # pair × dimension cells re-ranked at once (16 MB)


def merge_top_k(parts, k=None):
    """The k best of several top-k lists of the same queries: [(distances (n, k_i), ids (n, k_i)), ...].

    Merges the running top k with a block's, and the per-shard lists of different workers. The lists must not
    share (query, id) pairs (shards are disjoint). Rows are sorted by distance, ties by id; k defaults to the
    widest list; rows with fewer than k entries end in inf / -1.
    """
    if not parts:
        raise ValueError("merge_top_k needs at least one (distances, ids) pair")
    distances = [np.asarray(d, dtype=np.float32) for d, _ in parts]
    ids = [np.asarray(i, dtype=np.int64) for _, i in parts]
    rows = {d.shape[0] for d in distances} | {i.shape[0] for i in ids}
    if len(rows) != 1 or any(d.ndim != 2 or d.shape != i.shape for d, i in zip(distances, ids, strict=True)):
        raise ValueError("merge_top_k: every part must be a pair of (n, k_i) arrays with the same n")
    k = max(d.shape[1] for d in distances) if k is None else k
    merged_distances = np.concatenate(distances, axis=1)
    merged_ids = np.concatenate(ids, axis=1)
    # Padding (inf, -1) sorts after every finite distance, so it only shows where real entries run out.
    order = np.lexsort((merged_ids, merged_distances), axis=1)[:, :k]
    merged_distances = np.take_along_axis(merged_distances, order, axis=1)
    merged_ids = np.take_along_axis(merged_ids, order, axis=1)
    if merged_distances.shape[1] < k:
        missing = k - merged_distances.shape[1]
        merged_distances = np.pad(merged_distances, ((0, 0), (0, missing)), constant_values=np.inf)
        merged_ids = np.pad(merged_ids, ((0, 0), (0, missing)), constant_values=-1)
    return merged_distances, merged_ids


def ivf_list_count(n_reference):
    """nlist = √N lists: N/nlist vectors scanned per list visited, nlist centroids compared per query."""
    return max(1, round(math.sqrt(n_reference)))


def default_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def exact_top_k(queries, reference_blocks, k=DEFAULT_K, *, exclude_ids=None, device=None):
    """The exact k nearest references of each query under squared L2 (see the module docstring)."""
    queries = _matrix(queries, "queries")
    n, dim = queries.shape
    exclude = _exclude_ids(exclude_ids, n)
    _check_k(k)
    if n == 0:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    device = torch.device(device) if device else default_device()
    centre = queries.mean(axis=0, dtype=np.float64).astype(np.float32)
    screen = _Screen(queries - centre, exclude, k, device)
    for ids, vectors in reference_blocks:
        ids, vectors = _block(ids, vectors, dim)
        for start in range(0, len(ids), _TILE):
            screen.add_tile(ids[start : start + _TILE], vectors[start : start + _TILE] - centre)
    return screen.distances, screen.ids


def build_ivf(reference_blocks, n_reference, *, training_vectors=None):
    """A FAISS IndexIVFFlat of all the references, √n_reference lists (on the GPU when FAISS sees one). It holds
    every reference (4·d bytes each). It is trained on training_vectors, or else on the stream's first
    TRAINING_POINTS_PER_LIST vectors per list: pass a random sample when the blocks come in an order (by class,
    say) that their beginning does not represent."""
    blocks = iter(reference_blocks)
    waiting = []
    if training_vectors is None:
        wanted = ivf_list_count(n_reference) * TRAINING_POINTS_PER_LIST
        while sum(len(ids) for ids, _ in waiting) < wanted and (block := next(blocks, None)) is not None:
            waiting.append(block)
        if not waiting:
            raise ValueError("an IVF index needs references")
        training_vectors = np.concatenate([vectors for _, vectors in waiting])
    training_vectors = _matrix(training_vectors, "training_vectors")
    dim = training_vectors.shape[1]
    lists = ivf_list_count(n_reference)
    if len(training_vectors) < lists:
        raise ValueError(f"an IVF index of {lists} lists needs as many training vectors, not {len(training_vectors)}")
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, lists)
    if faiss.get_num_gpus() > 0:
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    index.train(training_vectors)
    # chain, not a tuple: the blocks still to come are read one at a time.
    for block_ids, block_vectors in itertools.chain(waiting, blocks):
        ids, vectors = _block(block_ids, block_vectors, dim)
        index.add_with_ids(vectors, ids)
    return index


def search_ivf(index, queries, k=DEFAULT_K, *, exclude_ids=None, nprobe=DEFAULT_NPROBE):
    """The approximate k nearest references under squared L2 from build_ivf's index, nprobe lists visited per
    query."""
    queries = _matrix(queries, "queries")
    exclude = _exclude_ids(exclude_ids, len(queries))
    _check_k(k)
    if queries.shape[1] != index.d:
        raise ValueError(f"queries of {queries.shape[1]} dimensions against an index of {index.d}")
    index.nprobe = nprobe
    extra = int((exclude >= 0).any())
    distances, ids = index.search(queries, k + extra)
    distances[ids < 0] = np.inf
    if extra:
        # Each row drops its excluded id where found, else its last entry.
        order = np.argsort(ids == exclude[:, None], axis=1, kind="stable")[:, :k]
        distances, ids = np.take_along_axis(distances, order, axis=1), np.take_along_axis(ids, order, axis=1)
    return merge_top_k([(distances, ids)], k)


class _Screen:
    """The running exact top k of the queries, fed tile by tile through the reduced-precision screen."""

    def __init__(self, queries, exclude, k, device):
        self.queries = queries
        self.exclude = exclude
        self.k = k
        self.device = device
        self.squared_norms = _squared_norms(queries)
        self.norms = np.sqrt(self.squared_norms)
        self.distances = np.full((len(queries), k), np.inf, dtype=np.float32)
        self.ids = np.full((len(queries), k), -1, dtype=np.int64)
        if device.type == "cpu":
            self.product_dtype, self.sign_dtype, input_rounding = torch.bfloat16, torch.int16, 2.0**-8
        else:
            # float32 products, which CUDA may run as TensorFloat-32 (10-bit mantissa) when allowed.
            self.product_dtype, self.sign_dtype, input_rounding = torch.float32, torch.int32, 2.0**-11
        self.bound = _ErrorBound(queries.shape[1], input_rounding)
        dim = queries.shape[1]
        # Columns dim, dim + 1 meet the reference's -|x|²/2, columns dim + 2, dim + 3 carry the row's -s.
        self.query_operand = self._operand(queries, np.ones((len(queries), 4), dtype=np.float32))
        self.offset_columns = slice(dim + 2, dim + 4)
        self.query_rows = max(1, _PRODUCT_CELLS // _TILE)

    def _operand(self, matrix, extra_columns):
        """The matrix with its extra columns, on the device in the product precision."""
        return torch.from_numpy(np.concatenate([matrix, extra_columns.astype(np.float32)], axis=1)).to(
            self.device, self.product_dtype
        )

    def _parts(self, values):
        """float64 values as two columns of the product precision whose sum is the value to 16 bits or better."""
        high = torch.from_numpy(values).to(self.product_dtype).double().numpy()
        return np.stack([high, values - high], axis=1)

    def add_tile(self, ids, vectors):
        squared_norms = _squared_norms(vectors)
        tile = self._operand(vectors, np.concatenate([self._parts(-squared_norms / 2), np.ones((len(ids), 2))], 1))
        largest = float(np.sqrt(squared_norms.max()))
        for start in range(0, len(self.queries), self.query_rows):
            rows = np.arange(start, min(start + self.query_rows, len(self.queries)))
            self._screen(rows, tile, ids, vectors, largest)

    def _screen(self, rows, tile, ids, vectors, largest):
        """Multiply the rows with the tile shifted by each row's threshold, so that the pairs that may enter the
        top k are those whose product is not negative: a sign bit, which rounding cannot change."""
        bound = self._kth_distances(rows, tile, ids, vectors)
        shift = self.bound.shift(self.squared_norms[rows], self.norms[rows], largest, bound)
        operand = self.query_operand[rows[0] : rows[-1] + 1]
        operand[:, self.offset_columns] = torch.from_numpy(self._parts(-shift)).to(self.device, self.product_dtype)
        signs = (operand @ tile.T).view(self.sign_dtype)
        local, columns = _not_negative(signs)
        if len(local) == 0:
            return
        distances, candidate_ids, local = self._rerank(rows, local, ids, vectors, columns)
        # Only pairs at or under U can change a row's top k: most screened pairs stop here.
        within = distances <= bound[local]
        self._merge(rows[local[within]], distances[within], candidate_ids[within])

    def _kth_distances(self, rows, tile, ids, vectors):
        """U per row: the k-th exact distance so far, or, where there are fewer than k so far, the k-th of the
        running list together with the tile's k+1 best by the screen (one more, for an excluded self), re-ranked."""
        bound = self.distances[rows, -1].astype(np.float64)
        seed = np.flatnonzero(np.isinf(bound))
        if len(seed) == 0:
            return bound
        operand = self.query_operand[torch.from_numpy(rows[seed]).to(self.device)]
        operand[:, self.offset_columns] = 0
        width = min(self.k + 1, tile.shape[0])
        columns = torch.topk(operand @ tile.T, width, dim=1).indices.cpu().numpy().ravel()
        distances, candidate_ids, local = self._rerank(rows, np.repeat(seed, width), ids, vectors, columns)
        candidates = _grouped(np.searchsorted(seed, local), distances, candidate_ids, len(seed))
        seeded, _ = merge_top_k([(self.distances[rows[seed]], self.ids[rows[seed]]), candidates], self.k)
        bound[seed] = seeded[:, -1]
        return bound

    def _rerank(self, rows, local, ids, vectors, columns):
        """Exact distances of the pairs (query rows[local], tile column), the excluded pairs left out:
        (distances, reference ids, local) of the pairs kept."""
        candidate_ids = ids[columns]
        kept = candidate_ids != self.exclude[rows[local]]
        local, columns, candidate_ids = local[kept], columns[kept], candidate_ids[kept]
        query_rows = rows[local]
        distances = np.empty(len(local), dtype=np.float32)
        step = max(1, _RERANK_CELLS // vectors.shape[1])
        for start in range(0, len(local), step):
            part = slice(start, start + step)
            difference = self.queries[query_rows[part]] - vectors[columns[part]]
            distances[part] = np.einsum("ij,ij->i", difference, difference)
        return distances, candidate_ids, local

    def _merge(self, pair_rows, distances, candidate_ids):
        if len(pair_rows) == 0:
            return
        rows, group = np.unique(pair_rows, return_inverse=True)
        candidates = _grouped(group, distances, candidate_ids, len(rows))
        self.distances[rows], self.ids[rows] = merge_top_k([(self.distances[rows], self.ids[rows]), candidates], self.k)


class _ErrorBound:
    """The shift s of each row (module docstring, step 2): a pair may enter the row's top k only if its computed
    G = q·x - |x|²/2 - s is not negative.

    With products of unit roundoff u on input, summed in float32 over d + 4 terms (γ = (d + 4)·2⁻²⁴ / (1 - ...)),
    the two-part constants exact to 2⁻¹⁶, the computed sum misses the real one by at most
    e = a·|q|·r + b·(r²/2 + |s|), a = 2u + u² + γ(1 + u)², b = γ + 2⁻¹⁶(1 + γ), r the tile's largest |x|. The
    float32 re-ranking may misplace a distance by ρ·2(|q|² + r²), ρ = (d + 4)·2⁻²⁴, so the pairs wanted are those
    with H = q·x - |x|²/2 >= t = (|q|² - U)/2 - ρ(|q|² + r²). Choosing s = t - E with E > e makes every such pair
    give a sum >= E - e > 0 before rounding, and rounding keeps the sign. E = 1.25·(a·|q|·r + b·(r²/2 + |t|)) /
    (1 - 1.25·b) covers e, whose |s| <= |t| + E. Rows with no U yet (inf) get s = -1e30: every pair passes.
    """

    SAFETY = 1.25

    def __init__(self, dim, input_rounding):
        accumulation = (dim + 4) * 2.0**-24 / (1 - (dim + 4) * 2.0**-24)
        self.per_norm_product = input_rounding * (2 + input_rounding) + accumulation * (1 + input_rounding) ** 2
        self.per_constant = accumulation + 2.0**-16 * (1 + accumulation)
        self.rerank = (dim + 4) * 2.0**-24

    def shift(self, query_squared_norms, query_norms, largest, kth_distances):
        target = (query_squared_norms - kth_distances) / 2 - self.rerank * (query_squared_norms + largest**2)
        margin = (
            self.SAFETY
            * (self.per_norm_product * query_norms * largest + self.per_constant * (largest**2 / 2 + np.abs(target)))
            / (1 - self.SAFETY * self.per_constant)
        )
        return np.where(np.isinf(kth_distances), -1e30, target - margin)


def _not_negative(signs):
    """(rows, columns) of the entries of a (rows, columns) integer matrix that are >= 0. Maxima of groups of _GROUP
    columns come first (one contiguous pass); only the groups whose maximum is >= 0, late in the search a few
    in a hundred, are looked at entry by entry."""
    width = signs.shape[1]
    full = width - width % _GROUP
    rows, columns = [], []
    if full:
        groups = signs[:, :full].reshape(len(signs), full // _GROUP, _GROUP)
        hit_rows, hit_groups = torch.nonzero(groups.amax(dim=2) >= 0, as_tuple=True)
        segment, offset = torch.nonzero(groups[hit_rows, hit_groups] >= 0, as_tuple=True)
        rows.append(hit_rows[segment])
        columns.append(hit_groups[segment] * _GROUP + offset)
    if full < width:
        rest_rows, offset = torch.nonzero(signs[:, full:] >= 0, as_tuple=True)
        rows.append(rest_rows)
        columns.append(offset + full)
    return torch.cat(rows).cpu().numpy(), torch.cat(columns).cpu().numpy()


def _grouped(group, distances, ids, groups):
    """Pairs of groups 0..groups-1 as (groups, widest group) matrices padded with inf / -1."""
    order = np.argsort(group, kind="stable")
    group = group[order]
    counts = np.bincount(group, minlength=groups)
    position = np.arange(len(group)) - (np.cumsum(counts) - counts)[group]
    width = max(1, int(counts.max(initial=0)))
    matrix_distances = np.full((groups, width), np.inf, dtype=np.float32)
    matrix_ids = np.full((groups, width), -1, dtype=np.int64)
    matrix_distances[group, position] = distances[order]
    matrix_ids[group, position] = ids[order]
    return matrix_distances, matrix_ids


def _squared_norms(matrix):
    return np.einsum("ij,ij->i", matrix, matrix, dtype=np.float64)


def _check_k(k):
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")


def _matrix(values, name):
    matrix = np.ascontiguousarray(values, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array of float32 vectors, not of shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} hold NaN or infinite values")
    return matrix


def _block(ids, vectors, dim):
    ids = np.asarray(ids, dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dim or ids.shape != (vectors.shape[0],):
        raise ValueError(
            f"a reference block must be (ids of shape (m,), vectors of shape (m, {dim})), "
            f"not ids {ids.shape} and vectors {vectors.shape}"
        )
    if not np.isfinite(vectors).all():
        raise ValueError("a reference block holds NaN or infinite values")
    return ids, vectors


def _exclude_ids(exclude_ids, n):
    if exclude_ids is None:
        return np.full(n, -1, dtype=np.int64)
    exclude = np.asarray(exclude_ids, dtype=np.int64)
    if exclude.shape != (n,):
        raise ValueError(f"exclude_ids must hold one id per query ({n}), not shape {exclude.shape}")
    return exclude
