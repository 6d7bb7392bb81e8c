"""The numeric parts of the near-duplicate search on their own: k-NN search, DSSIM, resolution. No database."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageDraw
from skimage.metrics import structural_similarity

from nearduplicates import graph, index_choice, search, ssim, thresholds


def blocks_of(ids, vectors, size):
    return [(ids[start : start + size], vectors[start : start + size]) for start in range(0, len(ids), size)]


def brute_force(queries, references, ids, k, exclude_ids=None):
    """Top k by float64 squared L2, ties by id, excluded pairs left out, padded with inf / -1."""
    distances = ((queries[:, None, :].astype(np.float64) - references[None, :, :]) ** 2).sum(axis=2)
    if exclude_ids is not None:
        distances[ids[None, :] == np.asarray(exclude_ids)[:, None]] = np.inf
    order = np.lexsort((np.broadcast_to(ids, distances.shape), distances), axis=1)[:, :k]
    best = np.take_along_axis(distances, order, axis=1)
    best_ids = np.where(np.isinf(best), -1, ids[order])
    missing = k - best.shape[1]
    return (
        np.pad(best, ((0, 0), (0, missing)), constant_values=np.inf),
        np.pad(best_ids, ((0, 0), (0, missing)), constant_values=-1),
    )


def assert_same_top_k(found, expected):
    np.testing.assert_array_equal(found[1], expected[1])
    np.testing.assert_allclose(found[0], expected[0], rtol=1e-5, atol=1e-5)


@pytest.fixture
def rng():
    return np.random.default_rng(16)


@pytest.mark.parametrize(
    ("n_references", "block", "k"),
    [(1000, 128, 10), (500, 7, 30), (1000, 1000, 30), (2500, 1024, 30), (20, 3, 30), (9000, 9000, 5)],
    ids=["blocks", "blocks-smaller-than-k", "one-block", "last-block-partial", "fewer-references-than-k", "2-tiles"],
)
def test_exact_search_equals_brute_force(rng, n_references, block, k):
    queries = rng.normal(5, 1, (40, 24)).astype(np.float32)
    references = rng.normal(5, 1, (n_references, 24)).astype(np.float32)
    ids = rng.permutation(n_references * 3)[:n_references].astype(np.int64)
    found = search.exact_top_k(queries, blocks_of(ids, references, block), k)
    assert_same_top_k(found, brute_force(queries, references, ids, k))


def test_exact_search_tells_apart_distances_closer_than_bfloat16_can(rng):
    """References on thin shells around each query, shuffled over many blocks: their distances differ by less than
    bfloat16's rounding, so only the screen's error bound keeps the nearest ones (without it, hundreds go)."""
    queries = rng.normal(0, 1, (30, 64)).astype(np.float32)
    directions = rng.normal(0, 1, (30, 400, 64))
    directions /= np.linalg.norm(directions, axis=2, keepdims=True)
    # Distinct radii 7.5e-6 apart: float32 orders them, bfloat16 (relative precision 4e-3) cannot.
    radii = 3 + 3e-3 * rng.permuted(np.tile(np.arange(400), (30, 1)), axis=1)[:, :, None] / 400
    references = (queries[:, None, :] + radii * directions).reshape(-1, 64).astype(np.float32)
    references = references[rng.permutation(len(references))]
    ids = np.arange(len(references), dtype=np.int64)
    found = search.exact_top_k(queries, blocks_of(ids, references, 400), 30)
    assert_same_top_k(found, brute_force(queries, references, ids, 30))


def test_equal_distances_are_ordered_by_id(rng):
    queries = rng.normal(0, 1, (5, 8)).astype(np.float32)
    copies = np.repeat(rng.normal(0, 1, (1, 8)).astype(np.float32), 6, axis=0)
    ids = np.array([50, 7, 31, 2, 90, 11], dtype=np.int64)
    distances, found = search.exact_top_k(queries, [(ids[:3], copies[:3]), (ids[3:], copies[3:])], 4)
    np.testing.assert_array_equal(found, np.tile([2, 7, 11, 31], (5, 1)))
    assert (distances == distances[:, :1]).all()


def test_shards_merged_equal_the_search_of_all_references(rng):
    queries = rng.normal(0, 1, (60, 32)).astype(np.float32)
    references = rng.normal(0, 1, (3000, 32)).astype(np.float32)
    ids = np.arange(10_000, 13_000, dtype=np.int64)
    whole = search.exact_top_k(queries, blocks_of(ids, references, 700), 30)
    shards = [
        search.exact_top_k(queries, blocks_of(ids[part], references[part], 700), 30)
        for part in np.array_split(rng.permutation(3000), 3)
    ]
    merged = search.merge_top_k(shards)
    np.testing.assert_array_equal(merged[1], whole[1])
    np.testing.assert_array_equal(merged[0], whole[0])


def test_merge_top_k_sorts_breaks_ties_by_id_and_pads():
    first = (np.array([[1.0, 3.0], [0.5, np.inf]], np.float32), np.array([[9, 4], [8, -1]]))
    second = (np.array([[1.0, 2.0], [0.5, 0.7]], np.float32), np.array([[5, 6], [3, 1]]))
    distances, ids = search.merge_top_k([first, second], k=5)
    np.testing.assert_array_equal(ids, [[5, 9, 6, 4, -1], [3, 8, 1, -1, -1]])
    np.testing.assert_array_equal(distances[0], [1.0, 1.0, 2.0, 3.0, np.inf])


def test_merge_top_k_refuses_lists_of_other_queries():
    with pytest.raises(ValueError, match="same n"):
        search.merge_top_k([(np.zeros((2, 3)), np.zeros((2, 3))), (np.zeros((3, 3)), np.zeros((3, 3)))])


def test_candidates_among_themselves_never_find_themselves(rng):
    vectors = rng.normal(0, 1, (400, 16)).astype(np.float32)
    vectors[10] = vectors[20]  # a true duplicate under another id is still found, at distance 0
    ids = np.arange(100, 500, dtype=np.int64)
    distances, found = search.exact_top_k(vectors, blocks_of(ids, vectors, 64), 30, exclude_ids=ids)
    assert not (found == ids[:, None]).any()
    assert found[10, 0] == ids[20] and distances[10, 0] == 0
    assert_same_top_k((distances, found), brute_force(vectors, vectors, ids, 30, exclude_ids=ids))


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ([(np.arange(3), np.zeros((3, 5)))], r"vectors of shape \(m, 4\)"),
        ([(np.arange(2), np.zeros((3, 4)))], "ids of shape"),
        ([(np.arange(1), np.full((1, 4), np.nan))], "NaN"),
    ],
)
def test_bad_reference_blocks_are_refused_by_name(blocks, message):
    with pytest.raises(ValueError, match=message):
        search.exact_top_k(np.zeros((2, 4), np.float32), blocks, 3)


def test_no_queries_give_empty_lists():
    distances, ids = search.exact_top_k(np.zeros((0, 4), np.float32), [(np.arange(3), np.ones((3, 4)))], 5)
    assert distances.shape == ids.shape == (0, 5)


def test_bad_queries_and_exclusions_are_refused_by_name():
    with pytest.raises(ValueError, match="queries"):
        search.exact_top_k(np.zeros(4, np.float32), [], 3)
    with pytest.raises(ValueError, match="exclude_ids"):
        search.exact_top_k(np.zeros((2, 4), np.float32), [], 3, exclude_ids=[1])
    with pytest.raises(ValueError, match="k must be"):
        search.exact_top_k(np.zeros((2, 4), np.float32), [], 0)


def clustered(rng, n, dim, centres):
    labels = rng.integers(0, len(centres), n)
    return (centres[labels] + rng.normal(0, 0.5, (n, dim))).astype(np.float32)


def test_ivf_finds_nearly_all_exact_neighbours_of_clustered_data(rng):
    centres = rng.normal(0, 4, (50, 32))
    references = clustered(rng, 20_000, 32, centres)
    queries = clustered(rng, 200, 32, centres)
    ids = np.arange(len(references), dtype=np.int64)
    exact = search.exact_top_k(queries, blocks_of(ids, references, 5000), 30)
    index = search.build_ivf(blocks_of(ids, references, 5000), len(ids))
    approximate = search.search_ivf(index, queries, 30, nprobe=8)
    recall = np.mean([len(np.intersect1d(a, e)) / 30 for a, e in zip(approximate[1], exact[1], strict=True)])
    assert recall >= 0.99
    assert (np.diff(approximate[0], axis=1) >= 0).all()


def test_ivf_leaves_out_the_excluded_ids(rng):
    centres = rng.normal(0, 4, (10, 16))
    vectors = clustered(rng, 3000, 16, centres)
    ids = np.arange(3000, dtype=np.int64) * 2
    index = search.build_ivf(blocks_of(ids, vectors, 1000), 3000, training_vectors=vectors[::2])
    _, found = search.search_ivf(index, vectors, 10, exclude_ids=ids)
    assert not (found == ids[:, None]).any()
    assert (found >= 0).all()


def test_choose_index_switches_to_ivf_past_the_measured_size():
    assert index_choice.choose_index(1_330_000, 512) == index_choice.EXACT
    assert index_choice.choose_index(20_000_000, 512) == index_choice.IVF
    assert index_choice.choose_index(20_000_000, 512, n_queries=100) == index_choice.EXACT


def test_a_threshold_proposed_from_bit_counts_is_a_whole_count_under_their_tied_median():
    """Most nearest Hamming distances at 12 bits leave no deviation: the proposal must still lie under them."""
    counts = [0, 2, 3] + [12] * 60 + [11] * 10 + [13] * 10
    proposed = thresholds.proposed_threshold(counts)
    assert proposed == int(proposed) and 3 <= proposed < 11
    # Distances that are no counts keep their proposal, between the copies and the bulk.
    assert 0.01 < thresholds.proposed_threshold([0.01] * 3 + list(np.linspace(0.5, 1.5, 80))) < 0.5


def scene(seed, size=(200, 150)):
    """A picture with structure: a gradient under a few filled shapes, all drawn from the seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 1, width)[None, :, None]
    start, end = rng.integers(0, 256, (2, 3))
    pixels = np.broadcast_to(start + (end - start) * ramp, (height, width, 3)).astype(np.uint8)
    image = PILImage.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.integers(0, width - 40), rng.integers(0, height - 40)
        w, h = rng.integers(15, 60, 2)
        draw.ellipse([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return image


def encoded(image, quality=90):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_dssim_is_zero_for_the_same_image_and_small_for_a_reencoded_copy():
    original = ssim.SsimImage.decode(encoded(scene(1)))
    copy = ssim.SsimImage.decode(encoded(scene(1).resize((180, 135)), quality=40))
    other = ssim.SsimImage.decode(encoded(scene(2)))
    same, near, far = ssim.dssim(original, [original, copy, other])
    assert same == pytest.approx(0, abs=1e-12)
    assert near < 0.05
    assert far > 4 * near


def test_dssim_equals_scikit_image_structural_similarity():
    images = [ssim.SsimImage.decode(encoded(scene(seed))) for seed in range(4)]
    expected = [
        (1 - structural_similarity(images[0].pixels, other.pixels, win_size=ssim.WINDOW, data_range=1.0)) / 2
        for other in images
    ]
    np.testing.assert_allclose(ssim.dssim(images[0], images), expected, rtol=0, atol=1e-12)


def test_rerank_orders_neighbours_by_dssim_then_id_from_bytes_or_decoded_images():
    files = {seed: encoded(scene(seed)) for seed in range(3)}
    candidate = encoded(scene(0), quality=50)
    decoded = ssim.SsimImage.decode(files[2])
    ranked = ssim.rerank(candidate, [(12, files[2]), (7, files[1]), (30, files[0]), (5, decoded)])
    ids = [neighbour for neighbour, _ in ranked]
    distances = [distance for _, distance in ranked]
    assert ids[0] == 30
    assert distances == sorted(distances)
    assert ids.index(5) < ids.index(12)  # the same image twice: the lower id first
    assert ssim.rerank(candidate, []) == []


def test_dssim_refuses_images_of_different_sizes():
    with pytest.raises(ValueError, match="one size"):
        ssim.dssim(ssim.SsimImage.decode(encoded(scene(1))), [ssim.SsimImage.decode(encoded(scene(1)), size=96)])


def candidates(rows):
    """Candidates from (id, class, frequency, annotations[, source id]) rows."""
    columns = list(zip(*rows, strict=True))
    return graph.Candidates(
        ids=np.array(columns[0]),
        classes=np.array(columns[1]),
        frequencies=np.array(columns[2], dtype=float),
        annotations=np.array(columns[3]),
        source_ids=np.array(columns[4], dtype=object) if len(columns) > 4 else None,
    )


def decided(resolution):
    return {
        int(i): (bool(s), str(r), int(x))
        for i, s, r, x in zip(resolution.ids, resolution.survives, resolution.reasons, resolution.related, strict=True)
    }


POOL = candidates(
    [
        (1, "a", 0.9, 10),
        (2, "a", 0.8, 10),
        (3, "a", 0.75, 10),
        (4, "b", 0.6, 10),
        (5, "b", 0.95, 10),
        (6, "b", 0.9, 12),
        (7, "b", 0.9, 11),
        (8, "a", 0.2, 10),
        (9, "b", 0.1, 10),
    ]
)


def test_a_component_touching_a_reference_rejects_all_its_candidates():
    result = decided(graph.resolve(POOL, duplicate_pairs=[(1, 2), (2, 8)], reference_pairs=[(8, 500), (8, 400)]))
    assert {c: result[c] for c in (1, 2, 8)} == dict.fromkeys((1, 2, 8), (False, graph.TOUCHES_REFERENCE, 400))
    assert result[3] == (True, graph.UNIQUE, -1)


def test_one_candidate_survives_from_the_class_with_fewest_high_frequency_candidates():
    # Class a has 3 candidates at >= 0.7 and class b 3 too, but b's 5 is not eligible: b has 2, so b wins, and of
    # b's candidates in the component the highest frequency (6 and 7 tie at 0.9: more annotations wins).
    pool = dataclasses.replace(POOL, eligible=np.array([True] * 4 + [False] + [True] * 4))
    result = decided(graph.resolve(pool, duplicate_pairs=[(1, 6), (6, 7), (7, 9)]))
    assert result[6] == (True, graph.KEPT, -1)
    assert {c: result[c] for c in (1, 7, 9)} == dict.fromkeys((1, 7, 9), (False, graph.DUPLICATE, 6))


def test_given_class_counts_decide_and_ties_fall_to_the_lowest_id():
    pool = candidates([(11, "a", 0.9, 10), (12, "b", 0.9, 10), (13, "b", 0.9, 10), (14, "a", np.nan, 40)])
    result = decided(graph.resolve(pool, duplicate_pairs=[(11, 12), (12, 13), (13, 14)], counts={"a": 1, "b": 1}))
    assert [c for c, (survives, _, _) in result.items() if survives] == [11]
    result = decided(graph.resolve(pool, duplicate_pairs=[(11, 12), (12, 13), (13, 14)], counts={"a": 2, "b": 1}))
    assert [c for c, (survives, _, _) in result.items() if survives] == [12]


def test_shared_source_ids_link_candidates_and_references():
    pool = candidates(
        [
            (1, "a", 0.9, 10, "flickr:1"),
            (2, "a", 0.95, 10, "flickr:1"),
            (3, "a", 0.5, 10, "flickr:2"),
            (4, "a", 0.5, 10, ""),
        ]
    )
    result = decided(graph.resolve(pool))
    assert result[2] == (True, graph.KEPT, -1) and result[1] == (False, graph.DUPLICATE, 2)
    assert result[3][:2] == (True, graph.UNIQUE) and result[4][:2] == (True, graph.UNIQUE)
    result = decided(graph.resolve(pool, reference_pairs=[(4, 70)], reference_source_ids={70: "flickr:2", 71: "x"}))
    assert result[3] == (False, graph.TOUCHES_REFERENCE, 70) and result[4] == (False, graph.TOUCHES_REFERENCE, 70)


def test_manual_overrides_act_on_top_of_the_rule():
    pairs = [(1, 2), (2, 3)]
    assert decided(graph.resolve(POOL, duplicate_pairs=pairs))[1] == (True, graph.KEPT, -1)
    result = decided(graph.resolve(POOL, duplicate_pairs=pairs, keep=[3]))
    assert result[3] == (True, graph.OVERRIDE_KEPT, -1)
    assert result[1] == (False, graph.DUPLICATE, 3) and result[2] == (False, graph.DUPLICATE, 3)
    result = decided(graph.resolve(POOL, duplicate_pairs=pairs, reject=[1]))
    assert result[1] == (False, graph.OVERRIDE_REJECTED, -1) and result[2] == (True, graph.KEPT, -1)
    assert result[3] == (False, graph.DUPLICATE, 2)
    result = decided(graph.resolve(POOL, duplicate_pairs=pairs, keep=[3, 2]))
    assert result[2][:2] == result[3][:2] == (True, graph.OVERRIDE_KEPT) and result[1] == (False, graph.DUPLICATE, 2)
    result = decided(graph.resolve(POOL, duplicate_pairs=pairs, reject=[1, 2, 3]))
    assert not any(result[c][0] for c in (1, 2, 3))
    result = decided(graph.resolve(POOL, duplicate_pairs=pairs, reference_pairs=[(1, 9)], keep=[2]))
    assert result[2] == (True, graph.OVERRIDE_KEPT, -1) and result[3] == (False, graph.TOUCHES_REFERENCE, 9)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keep": [1], "reject": [1]}, "both kept and rejected"),
        ({"keep": [99]}, "keep name ids that are not candidates"),
        ({"duplicate_pairs": [(1, 77)]}, "duplicate_pairs name ids"),
        ({"reference_pairs": [(3, 4, 5)]}, "reference_pairs must be pairs"),
    ],
)
def test_bad_resolution_input_is_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        graph.resolve(POOL, **options)


def test_no_candidates_resolve_to_nothing():
    resolution = graph.resolve(graph.Candidates(*[np.array([])] * 4))
    assert len(resolution.ids) == len(resolution.survives) == 0


def test_high_frequency_counts_count_eligible_candidates_at_the_threshold():
    counts = graph.high_frequency_counts(
        ["a", "a", "b", "b", "c"], [0.7, 0.69, 0.9, 0.8, 0.1], [True, True, False, True, True]
    )
    assert counts == {"a": 1, "b": 1}
