"""The scoring engine (evaluation/scoring.py) against a direct computation written plainly here."""

import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import pytest
from scipy.stats import binomtest

import taxonomy
from evaluation import scoring

SPLITS = {name: {taxonomy.class_index(w) for w in taxonomy.split_classes(name)} for name in taxonomy.SPLITS}
TENCH = taxonomy.class_index("n01440764")  # an organism, not a dog
GOLDFISH = taxonomy.class_index("n01443537")  # an organism, not a dog
CHIHUAHUA = taxonomy.class_index("n02085620")  # a dog
SPANIEL = taxonomy.class_index("n02085782")  # a dog (Japanese spaniel)
AIRLINER = taxonomy.class_index("n02690373")  # an object
CANOE = taxonomy.class_index("n02951358")  # an object


# --- the direct computation ------------------------------------------------------------------------------------


def majority(answers):
    """The most frequent answer; ties to the smallest class index; None without answers."""
    if not answers:
        return None
    counts = Counter(answers)
    most = max(counts.values())
    return min(c for c, votes in counts.items() if votes == most)


def with_ensembles(predictions, kinds):
    predictions, kinds = dict(predictions), dict(kinds)
    for kind, name in (("human", "human majority vote"), ("model", "model majority vote")):
        members = [p for p in list(predictions) if kinds[p] == kind]
        if len(members) < 2:
            continue
        images = {image for member in members for image in predictions[member]}
        predictions[name] = {
            image: [majority([predictions[m][image][0] for m in members if image in predictions[m]])]
            for image in images
        }
        kinds[name] = "ensemble"
    return predictions, kinds


def hits(metric, image, ranked, original, labels):
    """(right when undecided counts as wrong, right when undecided counts as right) for one prediction."""
    verdict = labels.get((image, ranked[0]))
    if metric == "multilabel":
        return verdict == "correct", verdict in ("correct", None)
    if metric == "multilabel_lenient":
        return verdict in ("correct", "unclear"), verdict in ("correct", "unclear", None)
    if metric == "top1":
        return ranked[0] == original, ranked[0] == original
    return original in ranked[:5], original in ranked[:5]


def reference_rows(images, labels, predictions, kinds, datasets):
    """Rows keyed by (predictor, dataset, split, metric, averaging), computed with loops over dicts.

    images: {image: (dataset, original class, problematic)}; labels: {(image, class): decided verdict};
    predictions: {predictor: {image: ranked classes}}; kinds: {predictor: "model" or "human"}.
    """
    predictions, kinds = with_ensembles(predictions, kinds)
    rows = {}
    for dataset in datasets:
        for predictor, answers in predictions.items():
            if not any(images[image][0] == dataset for image in answers):
                continue
            for split, classes in SPLITS.items():
                scored = [
                    image
                    for image, (where, original, problematic) in images.items()
                    if where == dataset and not problematic and original in classes and image in answers
                ]
                for metric in scoring.METRICS:
                    if metric in ("top1", "top5") and kinds[predictor] != "model":
                        continue
                    outcome = {i: hits(metric, i, answers[i], images[i][1], labels) for i in scored}
                    key = (predictor, dataset, split, metric)
                    rows[(*key, "image")] = image_figure(predictor, kinds[predictor], key, outcome)
                    rows[(*key, "class")] = class_figure(predictor, kinds[predictor], key, outcome, images)
    return rows


def image_figure(predictor, kind, key, outcome):
    n = len(outcome)
    lower = sum(low for low, _ in outcome.values())
    upper = sum(up for _, up in outcome.values())
    row = {"predictor": predictor, "kind": kind, "dataset": key[1], "split": key[2], "metric": key[3]}
    row.update(averaging="image", subset="all", value=None, lower=None, upper=None, ci_low=None, ci_high=None, n=n)
    if n:
        row["lower"], row["upper"] = lower / n, upper / n
        row["value"] = lower / n if lower == upper else None
        row["ci_low"] = binomtest(lower, n).proportion_ci(confidence_level=0.95, method="exact").low
        row["ci_high"] = binomtest(upper, n).proportion_ci(confidence_level=0.95, method="exact").high
    return row


def class_figure(predictor, kind, key, outcome, images):
    by_class = defaultdict(list)
    for image, pair in outcome.items():
        by_class[images[image][1]].append(pair)
    row = {"predictor": predictor, "kind": kind, "dataset": key[1], "split": key[2], "metric": key[3]}
    row.update(
        averaging="class", subset="all", value=None, lower=None, upper=None, ci_low=None, ci_high=None, n=len(outcome)
    )
    if by_class:
        row["lower"] = sum(sum(low for low, _ in pairs) / len(pairs) for pairs in by_class.values()) / len(by_class)
        row["upper"] = sum(sum(up for _, up in pairs) / len(pairs) for pairs in by_class.values()) / len(by_class)
        if all(low == up for pairs in by_class.values() for low, up in pairs):
            row["value"] = row["lower"]
    return row


# --- the same data as the engine's arrays -------------------------------------------------------------------


def as_inputs(images, labels, predictions, kinds, datasets):
    """The engine's inputs for the dicts of reference_rows (images, predictors in the order of the dicts)."""
    names = list(images)
    index = {image: i for i, image in enumerate(names)}
    codes = {"correct": scoring.CORRECT, "wrong": scoring.WRONG, "unclear": scoring.UNCLEAR}
    top1 = np.full((len(predictions), len(names)), -1, dtype=np.int16)
    in_top5 = np.zeros((len(predictions), len(names)), dtype=bool)
    for p, answers in enumerate(predictions.values()):
        for image, ranked in answers.items():
            top1[p, index[image]] = ranked[0]
            in_top5[p, index[image]] = images[image][1] in ranked[:5]
    keyed = sorted((index[image] * scoring.PAIR_BASE + c, codes[v]) for (image, c), v in labels.items())
    return scoring.Inputs(
        predictors=list(predictions),
        kinds=[kinds[p] for p in predictions],
        top1=top1,
        in_top5=in_top5,
        original=np.array([images[i][1] for i in names], dtype=np.int16),
        problematic=np.array([images[i][2] for i in names], dtype=bool),
        dataset=np.array([datasets.index(images[i][0]) for i in names], dtype=np.int64),
        datasets=list(datasets),
        item_keys=np.array([k for k, _ in keyed], dtype=np.int64),
        item_verdicts=np.array([v for _, v in keyed], dtype=np.int8),
        splits={name: sorted(classes) for name, classes in SPLITS.items()},
    )


def keyed(rows):
    return {(r["predictor"], r["dataset"], r["split"], r["metric"], r["averaging"]): r for r in rows}


def assert_rows_match(rows, expected):
    rows = keyed(rows)
    assert set(rows) == set(expected)
    for key, row in rows.items():
        assert list(row) == list(scoring.ROW_KEYS), key
        for name, value in row.items():
            want = expected[key][name]
            if isinstance(want, float) and value is not None:
                assert value == pytest.approx(want, rel=1e-12, abs=1e-12), (key, name)
            else:
                assert value == want, (key, name)


# --- hand-made cases ----------------------------------------------------------------------------------------

# Dataset "val": two tench images (t1, t2), a goldfish image, two Chihuahua images, an airliner image and a
# problematic canoe image; dataset "v2": a tench, a Chihuahua and an airliner image. No class of a split is
# empty in val except canoe's (its only image is problematic); v2 has no goldfish.
IMAGES = {
    "t1": ("val", TENCH, False),
    "t2": ("val", TENCH, False),
    "g1": ("val", GOLDFISH, False),
    "c1": ("val", CHIHUAHUA, False),
    "c2": ("val", CHIHUAHUA, False),
    "a1": ("val", AIRLINER, False),
    "p1": ("val", CANOE, True),
    "v-t": ("v2", TENCH, False),
    "v-c": ("v2", CHIHUAHUA, False),
    "v-a": ("v2", AIRLINER, False),
}
LABELS = {
    ("t1", TENCH): "correct",
    ("t1", GOLDFISH): "correct",  # two correct labels
    ("t2", TENCH): "correct",
    ("t2", GOLDFISH): "unclear",
    ("g1", GOLDFISH): "correct",
    ("g1", TENCH): "wrong",
    ("c1", CHIHUAHUA): "correct",
    ("c1", SPANIEL): "wrong",
    ("c2", CHIHUAHUA): "unclear",  # c2's spaniel pair is unreviewed: undecided
    ("a1", AIRLINER): "correct",
    ("p1", CANOE): "correct",
    ("v-t", TENCH): "correct",
    ("v-c", CHIHUAHUA): "correct",
    ("v-a", AIRLINER): "wrong",
    ("v-a", CANOE): "correct",
}
PREDICTIONS = {
    "m-a": {
        "t1": [GOLDFISH, TENCH],
        "t2": [GOLDFISH, TENCH],
        "g1": [GOLDFISH],
        "c1": [SPANIEL, CHIHUAHUA],
        "c2": [SPANIEL, GOLDFISH, TENCH, AIRLINER, CHIHUAHUA],
        "a1": [AIRLINER],
        "p1": [CANOE],
        "v-t": [TENCH],
        "v-c": [SPANIEL],
        "v-a": [AIRLINER],
    },
    "m-b": {
        "t1": [TENCH],
        "t2": [TENCH],
        "g1": [TENCH, GOLDFISH],
        "c1": [CHIHUAHUA],
        "c2": [CHIHUAHUA],
        "a1": [CANOE, AIRLINER],
        "p1": [AIRLINER],
        "v-t": [GOLDFISH],
        "v-c": [CHIHUAHUA],
        "v-a": [CANOE],
    },
    "m-c": {"t1": [GOLDFISH], "t2": [TENCH], "g1": [TENCH], "c1": [CHIHUAHUA], "c2": [SPANIEL], "a1": [AIRLINER]},
    "h-1": {"t2": [GOLDFISH], "c2": [CHIHUAHUA], "p1": [CANOE]},
    "h-2": {"t2": [TENCH], "c2": [CHIHUAHUA], "a1": [CANOE]},
}
KINDS = {"m-a": "model", "m-b": "model", "m-c": "model", "h-1": "human", "h-2": "human"}
DATASETS = ["val", "v2"]


def hand_made_rows():
    return keyed(scoring.score(as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS)))


def test_hand_made_case_matches_the_direct_computation():
    rows = scoring.score(as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS))
    assert_rows_match(rows, reference_rows(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS))


def test_hand_made_figures_worked_out_by_hand():
    rows = hand_made_rows()
    # m-a on val, non-problematic: t1 goldfish correct, t2 goldfish unclear, g1 correct, c1 spaniel wrong,
    # c2 spaniel undecided, a1 correct: 3 right for sure, 4 at best, of 6.
    strict = rows[("m-a", "val", "all", "multilabel", "image")]
    assert (strict["value"], strict["lower"], strict["upper"], strict["n"]) == (None, 3 / 6, 4 / 6, 6)
    assert strict["ci_low"] == pytest.approx(binomtest(3, 6).proportion_ci(method="exact").low)
    assert strict["ci_high"] == pytest.approx(binomtest(4, 6).proportion_ci(method="exact").high)
    lenient = rows[("m-a", "val", "all", "multilabel_lenient", "image")]
    assert (lenient["lower"], lenient["upper"]) == (4 / 6, 5 / 6)
    # Per class: tench 1/2 (lower) and 1/2 (upper); goldfish 1; Chihuahua 0 and 1/2; airliner 1. Canoe: no image.
    by_class = rows[("m-a", "val", "all", "multilabel", "class")]
    assert by_class["lower"] == pytest.approx((1 / 2 + 1 + 0 + 1) / 4)
    assert by_class["upper"] == pytest.approx((1 / 2 + 1 + 1 / 2 + 1) / 4)
    assert (by_class["value"], by_class["ci_low"], by_class["ci_high"], by_class["n"]) == (None, None, None, 6)
    # Top-1 and top-5 are against the original label, always decided; the problematic canoe is left out.
    top1 = rows[("m-a", "val", "all", "top1", "image")]
    assert (top1["value"], top1["lower"], top1["upper"], top1["n"]) == (2 / 6, 2 / 6, 2 / 6, 6)
    assert rows[("m-a", "val", "all", "top5", "image")]["value"] == 1.0
    assert rows[("m-a", "val", "dogs", "top5", "image")]["value"] == 1.0
    # m-b on dogs: c1 and c2 Chihuahua, correct and unclear.
    assert rows[("m-b", "val", "dogs", "multilabel", "image")]["value"] == 1 / 2
    assert rows[("m-b", "val", "dogs", "multilabel_lenient", "image")]["value"] == 1.0


def test_empty_splits_and_classes():
    rows = hand_made_rows()
    # Objects in val: a1 only; the canoe image is problematic, which leaves its class without images.
    objects = rows[("m-b", "val", "objects", "top1", "class")]
    assert (objects["value"], objects["n"]) == (0.0, 1)
    # h-1's only object image is the problematic one: n = 0 and nulls.
    for averaging in ("image", "class"):
        empty = rows[("h-1", "val", "objects", "multilabel", averaging)]
        figures = [empty[key] for key in ("value", "lower", "upper", "ci_low", "ci_high", "n")]
        assert figures == [None, None, None, None, None, 0]
    # v2 has no goldfish image: the class average over organisms without dogs is tench's alone.
    tench_only = rows[("m-a", "v2", "organisms_without_dogs", "top1", "class")]
    assert (tench_only["value"], tench_only["n"]) == (1.0, 1)


def test_predictors_kinds_and_ensembles():
    rows = hand_made_rows()
    kinds = {(p, r["kind"]) for (p, *_), r in rows.items()}
    assert kinds == {
        ("m-a", "model"),
        ("m-b", "model"),
        ("m-c", "model"),
        ("h-1", "human"),
        ("h-2", "human"),
        ("model majority vote", "ensemble"),
        ("human majority vote", "ensemble"),
    }
    metrics = {(r["kind"], r["metric"]) for r in rows.values()}
    assert ("human", "top1") not in metrics and ("ensemble", "top5") not in metrics and ("model", "top5") in metrics
    # Humans and m-c answered nothing in v2: no rows there.
    assert {p for (p, d, *_), _ in rows.items() if d == "v2"} == {"m-a", "m-b", "model majority vote"}
    # Human vote on t2: goldfish (h-1) against tench (h-2), a tie: tench has the smaller class index.
    assert TENCH < GOLDFISH
    vote = rows[("human majority vote", "val", "organisms_without_dogs", "multilabel", "image")]
    assert (vote["value"], vote["n"]) == (1.0, 1)


def test_rows_come_in_a_fixed_order():
    rows = scoring.score(as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS))
    order = [(r["dataset"], r["predictor"], r["split"], r["metric"], r["averaging"]) for r in rows]
    assert order[:3] == [
        ("val", "m-a", "all", "multilabel", "image"),
        ("val", "m-a", "all", "multilabel", "class"),
        ("val", "m-a", "all", "multilabel_lenient", "image"),
    ]
    predictors = list(dict.fromkeys(r["predictor"] for r in rows if r["dataset"] == "val"))
    assert predictors == ["m-a", "m-b", "m-c", "h-1", "h-2", "human majority vote", "model majority vote"]
    assert list(dict.fromkeys(r["dataset"] for r in rows)) == ["val", "v2"]


def test_drops_between_datasets():
    rows = scoring.score(as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS))
    drops = {(d["predictor"], d["split"], d["metric"], d["averaging"]): d for d in scoring.drops(rows, "val")}
    # m-a: val all strict in [3/6, 4/6]; v2: tench correct, spaniel (undecided) on the Chihuahua, airliner wrong.
    drop = drops[("m-a", "all", "multilabel", "image")]
    assert list(drop) == list(scoring.DROP_KEYS)
    assert [drop[key] for key in ("reference", "dataset", "value", "n_reference", "n")] == ["val", "v2", None, 6, 3]
    assert drop["lower"] == pytest.approx(3 / 6 - 2 / 3) and drop["upper"] == pytest.approx(4 / 6 - 1 / 3)
    top1 = drops[("m-a", "all", "top1", "image")]
    assert top1["value"] == pytest.approx(2 / 6 - 2 / 3) and top1["lower"] == top1["upper"] == top1["value"]
    # Only predictors with figures on both datasets have drops.
    assert {p for p, *_ in drops} == {"m-a", "m-b", "model majority vote"}
    assert scoring.drops(rows, "nowhere") == []


# --- subsets, voters, mistakes -------------------------------------------------------------------------------

SEEN = {"h-1": {"t2"}, "h-2": {"t2", "a1"}}
SECONDS = {"h-1": {"t2": 4.0, "c2": 10.0, "p1": 7.0}, "h-2": {"t2": 3.0, "c2": 3.0, "a1": 9.0}}


def with_subsets(inputs, seen, seconds):
    names = list(IMAGES)
    inputs.seen = {p: np.array([name in images for name in names]) for p, images in seen.items()}
    inputs.seconds = {p: np.array([times.get(name, np.nan) for name in names]) for p, times in seconds.items()}
    return inputs


def test_seen_unseen_fast_and_slow_figures_match_the_direct_computation():
    inputs = with_subsets(as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS), SEEN, SECONDS)
    rows = scoring.score(inputs)
    # The figures on every image, the ensembles included, are those without subsets.
    assert keyed([r for r in rows if r["subset"] == "all"]) == hand_made_rows()
    # h-1 took 4, 10 and 7 s: fast (at most the median, 7 s) t2 and p1, slow c2; h-2 took 3, 3 and 9 s.
    fast_and_slow = {
        "h-1": {"fast": {"t2", "p1"}, "slow": {"c2"}},
        "h-2": {"fast": {"t2", "c2"}, "slow": {"a1"}},
    }
    for human, answers in PREDICTIONS.items():
        if KINDS[human] != "human":
            continue
        subsets = {"seen": SEEN[human], "unseen": set(answers) - SEEN[human], **fast_and_slow[human]}
        for subset, images in subsets.items():
            only = {human: {image: ranked for image, ranked in answers.items() if image in images}}
            expected = reference_rows(IMAGES, LABELS, only, {human: "human"}, DATASETS)
            for row in expected.values():
                row["subset"] = subset
            got = [r for r in rows if r["predictor"] == human and r["subset"] == subset]
            assert_rows_match(got, expected)
    # By hand: h-1 saw t2 before and answered goldfish, which reviewers marked unclear.
    seen = {(r["metric"], r["averaging"]): r for r in rows if r["predictor"] == "h-1" and r["subset"] == "seen"}
    assert seen[("multilabel", "image")]["value"] == 0.0 and seen[("multilabel_lenient", "image")]["value"] == 1.0
    # Rows of a predictor: all, then seen, unseen, fast, slow.
    order = [r["subset"] for r in rows if r["predictor"] == "h-2" and r["split"] == "all" and r["averaging"] == "image"]
    assert order == ["all", "all", "seen", "seen", "unseen", "unseen", "fast", "fast", "slow", "slow"]


def test_drops_compare_the_same_subset():
    rows = scoring.score(with_subsets(as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS), SEEN, SECONDS))
    fake_v2 = [{**row, "dataset": "v2"} for row in rows if row["dataset"] == "val"]
    drops = scoring.drops([r for r in rows if r["dataset"] == "val"] + fake_v2, "val")
    assert {d["subset"] for d in drops} == set(scoring.SUBSETS)
    assert all(d["value"] in (0.0, None) and d["n"] == d["n_reference"] for d in drops)


def test_split_at_median():
    fast, slow = scoring.split_at_median([5.0, np.nan, 1.0, 3.0, 8.0])  # median of 5, 1, 3, 8: 4
    assert fast.tolist() == [False, False, True, True, False]
    assert slow.tolist() == [True, False, False, False, True]
    fast, slow = scoring.split_at_median([2.0, 9.0, 4.0])
    assert fast.tolist() == [True, False, True] and slow.tolist() == [False, True, False]
    fast, slow = scoring.split_at_median([np.nan, np.nan])
    assert not fast.any() and not slow.any()


def test_only_voters_make_the_majority_votes():
    voters = {"m-a": True, "m-b": True, "m-c": False, "h-1": True, "h-2": True}
    inputs = as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS)
    inputs.voters = np.array([voters[p] for p in inputs.predictors])
    rows = keyed(scoring.score(inputs))
    voting = {p: PREDICTIONS[p] for p in ("m-a", "m-b")}
    expected = reference_rows(IMAGES, LABELS, voting, KINDS, DATASETS)
    vote = {key: row for key, row in expected.items() if key[0] == "model majority vote"}
    assert_rows_match([row for key, row in rows.items() if key[0] == "model majority vote"], vote)
    # m-c keeps its own figures; with a single voter left there is no model majority vote.
    assert ("m-c", "val", "all", "top1", "image") in rows
    inputs.voters = np.array([p in ("m-a", "h-1", "h-2") for p in inputs.predictors])
    assert not any(key[0] == "model majority vote" for key in keyed(scoring.score(inputs)))


def test_the_multilabel_annotation_of_one_image():
    inputs = as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS)
    names = list(IMAGES)
    for image in names:
        expected = {
            code: sorted(c for (i, c), verdict in LABELS.items() if i == image and verdict == name)
            for code, name in ((scoring.CORRECT, "correct"), (scoring.WRONG, "wrong"), (scoring.UNCLEAR, "unclear"))
        }
        assert scoring.multilabel(inputs, names.index(image)) == expected, image
    assert scoring.multilabel(inputs, names.index("t2")) == {
        scoring.CORRECT: [TENCH],
        scoring.WRONG: [],
        scoring.UNCLEAR: [GOLDFISH],
    }


def all_wrong(images, labels, members):
    """The non-problematic images some member predicts, where every member's prediction is wrong or unclear."""
    found = set()
    for image, (_, _, problematic) in images.items():
        said = [answers[image][0] for answers in members if image in answers]
        if said and not problematic and all(labels.get((image, c)) in ("wrong", "unclear") for c in said):
            found.add(image)
    return found


def mistakes_of(inputs, names):
    return {group: {names[i] for i in np.flatnonzero(mask)} for group, mask in scoring.mistakes(inputs).items()}


def test_mistakes_worked_out_by_hand():
    inputs = as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS)
    # Humans: c2 is unclear for both; t2 is right for h-2; a1 undecided for h-2; p1 problematic.
    # Models: on v-a m-a's airliner is wrong but m-b's canoe right; every other image has a right or undecided one.
    assert mistakes_of(inputs, list(IMAGES)) == {"models": set(), "humans": {"c2"}, "both": set()}
    inputs.voters = np.array([p != "m-b" for p in inputs.predictors])
    assert mistakes_of(inputs, list(IMAGES)) == {"models": {"v-a"}, "humans": {"c2"}, "both": set()}


@pytest.mark.parametrize("seed", range(6))
def test_random_mistakes_match_the_direct_computation(seed):
    images, labels, predictions, kinds = random_case(seed, models=3)
    inputs = as_inputs(images, labels, predictions, kinds, DATASETS)
    found = mistakes_of(inputs, list(images))
    models = all_wrong(images, labels, [a for p, a in predictions.items() if kinds[p] == "model"])
    humans = all_wrong(images, labels, [a for p, a in predictions.items() if kinds[p] == "human"])
    assert found == {"models": models, "humans": humans, "both": models & humans}


# --- random cases ---------------------------------------------------------------------------------------------

POOL = [TENCH, GOLDFISH, CHIHUAHUA, SPANIEL, AIRLINER, CANOE, taxonomy.class_index("n04552348")]


def random_case(seed, images=60, models=5, humans=3):
    rng = np.random.default_rng(seed)
    names = [f"i{i}" for i in range(images)]
    cases = {name: (str(rng.choice(DATASETS)), int(rng.choice(POOL[:-1])), bool(rng.random() < 0.1)) for name in names}
    predictions, kinds = {}, {}
    for m in range(models):
        answered = names if m else [n for n in names if rng.random() < 0.8]  # a model may miss images
        predictions[f"m{m}"] = {n: [int(c) for c in rng.choice(POOL, int(rng.integers(1, 6)), False)] for n in answered}
        kinds[f"m{m}"] = "model"
    for h in range(humans):
        predictions[f"h{h}"] = {n: [int(rng.choice(POOL))] for n in names if rng.random() < 0.3}
        kinds[f"h{h}"] = "human"
    labels = {}
    for name in names:
        for c in POOL:
            draw = rng.random()
            if draw < 0.75:
                labels[(name, c)] = str(rng.choice(["correct", "wrong", "unclear"], p=[0.4, 0.45, 0.15]))
    return cases, labels, predictions, kinds


@pytest.mark.parametrize("seed", range(8))
def test_random_cases_match_the_direct_computation(seed):
    case = random_case(seed)
    rows = scoring.score(as_inputs(*case, DATASETS))
    assert_rows_match(rows, reference_rows(*case, DATASETS))


def test_everything_decided_gives_values_and_equal_bounds():
    images, labels, predictions, kinds = random_case(99)
    labels = {(i, c): labels.get((i, c), "wrong") for i in images for c in POOL}
    rows = scoring.score(as_inputs(images, labels, predictions, kinds, DATASETS))
    assert_rows_match(rows, reference_rows(images, labels, predictions, kinds, DATASETS))
    for row in rows:
        if row["n"]:
            assert row["value"] is not None and row["lower"] == row["upper"] == row["value"]


def test_figures_without_intervals_leave_them_null():
    inputs = as_inputs(IMAGES, LABELS, PREDICTIONS, KINDS, DATASETS)
    bare, full = scoring.figures(inputs, confidence_intervals=False), scoring.score(inputs)
    assert all(row["ci_low"] is None and row["ci_high"] is None for row in bare)
    strip = [{**row, "ci_low": None, "ci_high": None} for row in full]
    assert bare == strip


# --- building blocks ------------------------------------------------------------------------------------------


def test_majority_vote_ties_and_abstentions():
    votes = np.array(
        [
            [5, 7, -1, 3, -1],
            [7, 7, -1, 9, 4],
            [7, 5, -1, 9, 2],
            [5, 5, -1, 3, -1],
        ],
        dtype=np.int16,
    )
    # image 0: 5 and 7 twice each -> 5; image 1: 7 twice, 5 twice -> 5; image 2: nobody; image 3: 3 vs 9 -> 3;
    # image 4: 4 and 2 once each -> 2.
    assert scoring.majority_vote(votes).tolist() == [5, 5, -1, 3, 2]
    assert scoring.majority_vote(votes[:1]).tolist() == [5, 7, -1, 3, -1]
    assert scoring.majority_vote(np.array([[1, 2], [1, 3], [4, 3]], dtype=np.int16)).tolist() == [1, 3]


def test_verdict_matrix_matches_a_dict_lookup():
    rng = np.random.default_rng(3)
    top1 = rng.integers(-1, 12, (6, 40)).astype(np.int16)
    labels = {(i, c): int(rng.integers(1, 4)) for i in range(40) for c in range(12) if rng.random() < 0.5}
    keys = sorted(labels)
    item_keys = np.array([i * scoring.PAIR_BASE + c for i, c in keys], dtype=np.int64)
    item_verdicts = np.array([labels[k] for k in keys], dtype=np.int8)
    matrix = scoring.verdict_matrix(top1, np.arange(40), item_keys, item_verdicts)
    for p in range(6):
        for i in range(40):
            c = int(top1[p, i])
            expected = scoring.NOT_PREDICTED if c < 0 else labels.get((i, c), scoring.UNDECIDED)
            assert matrix[p, i] == expected
    empty = scoring.verdict_matrix(top1, np.arange(40), np.zeros(0, np.int64), np.zeros(0, np.int8))
    assert set(np.unique(empty).tolist()) <= {scoring.NOT_PREDICTED, scoring.UNDECIDED}


@pytest.mark.parametrize(
    ("k", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (7, 50), (3, 6), (1, 2500), (2124, 2500), (41_234, 50_000)]
)
def test_clopper_pearson_is_scipys_exact_interval(k, n):
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = scoring.clopper_pearson(k, n)
    # binomtest finds each bound by a root search to about 1e-13; the beta quantiles are the exact bounds.
    assert (float(low), float(high)) == pytest.approx((interval.low, interval.high), rel=1e-10, abs=1e-12)


def test_clopper_pearson_takes_arrays():
    k, n = np.array([[0, 3], [6, 50]]), np.array([[10, 6], [6, 60]])
    low, high = scoring.clopper_pearson(k, n)
    assert low.shape == high.shape == (2, 2)
    for at in np.ndindex(2, 2):
        interval = binomtest(int(k[at]), int(n[at])).proportion_ci(method="exact")
        assert (low[at], high[at]) == pytest.approx((interval.low, interval.high), abs=1e-12)
    assert low[0, 0] == 0.0 and high[1, 0] == 1.0


def test_no_images_no_predictors():
    assert scoring.score(as_inputs({}, {}, {}, {}, DATASETS)) == []
    assert scoring.score(as_inputs(IMAGES, LABELS, {}, {}, DATASETS)) == []
    assert scoring.score(as_inputs({}, {}, {"m": {}}, {"m": "model"}, DATASETS)) == []


def test_the_engine_imports_no_django():
    code = "import sys; import evaluation.scoring; print(any(m.split('.')[0] == 'django' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
