"""Which index a near-duplicate search of vectors uses: exact search, or an IVF index past the size where exact
search stops fitting a minute. No numpy, torch or FAISS here, so that the web process can decide when it plans a
search; the measurements behind the figures are in nearduplicates/search.py's docstring."""

EXACT = "exact"
IVF = "ivf"
# Query × reference × dimension products exact search does within 60 s on this machine (see search.py).
EXACT_SEARCH_LIMIT = 10_000 * 1_450_000 * 512
# IVF lists visited per query: recall@30 was 0.998 at 4 on clustered data; real features overlap more.
DEFAULT_NPROBE = 8
MAX_NPROBE = 1024


def choose_index(n_reference, dim, n_queries=10_000):
    """EXACT while exact search of n_queries among n_reference dim-d vectors fits 60 s here, else IVF."""
    return EXACT if n_queries * n_reference * dim <= EXACT_SEARCH_LIMIT else IVF
