"""The multi-label scoring engine: accuracy figures of predictors as flat rows, from arrays, vectorised.

Plain numpy and scipy, no Django: evaluation/scores.py loads the arrays from the database. The words are
those of the glossary (docs/glossary.md).

Inputs (P predictors, I images, C = 1,000 classes, each class by its class index):

- ``top1`` int16 [P, I]: the class each predictor predicts for each image; -1 where it has no prediction
  (humans answer only a sample). ``in_top5`` bool [P, I] or None: whether the original label is among the
  ranked classes (at most 5) of each prediction; top-5 figures are given for models only.
- ``original`` [I]: the class index of each image's original label; ``problematic`` bool [I];
  ``dataset`` [I]: the index of each image's dataset in ``datasets``.
- The multi-label annotation as decided review items: ``item_keys`` int64 [R], sorted, the pair key
  ``image index * PAIR_BASE + class index`` of each item, and ``item_verdicts`` int8 [R], its verdict code
  (CORRECT, WRONG or UNCLEAR). A pair without a decided item (unreviewed, don't know, or no item at all)
  is UNDECIDED, except on an image whose label list is ``complete`` (bool [I] or None; a ReaL file lists
  every valid class), where it is WRONG: so ReaL accuracy is the multi-label accuracy of a ReaL-labelled set.
- ``splits``: {split name: class indices}; a split holds the images whose original label is one of them.
- ``voters`` bool [P] or None (all): the predictors that vote in their kind's majority vote and count among
  "every model" / "every human" of ``mistakes``; the loader leaves out simulated and random-weight models.
- ``seen``: {predictor name: bool [I]}, the images a human predictor had reviewed or met in training before
  labeling them; ``seconds``: {predictor name: float [I]}, the seconds they took per image (nan: not timed).

Figures, each for one predictor, dataset and split, over the non-problematic images the predictor answered:

- ``multilabel``: share of images whose predicted class is correct in the multi-label annotation;
  ``multilabel_lenient``: correct or unclear. Where some predictions are undecided, ``value`` is null and
  ``lower`` / ``upper`` count them as wrong / right; otherwise lower = upper = value.
- ``top1`` / ``top5`` (models only): the original label is the predicted class / among the top 5 (a
  prediction with fewer than 5 ranked classes counts the ones it has). Problematic images are left out
  here too, so that every figure of a predictor, dataset and split stands on the same images.
- ``averaging`` "image": over images; "class": the TFDS recipe, the mean over classes (by original label)
  of each class's accuracy, skipping classes where the predictor has no image (lower / upper are the means
  of the classes' bounds).
- ``subset`` "all": every image the predictor answered. A predictor in ``seen`` also has figures on the
  images it had "seen" and on the others ("unseen"); one in ``seconds`` on its "fast" and "slow" images, split
  at the median of its seconds per image on the images scored (at most the median: fast).
- ``ci_low`` / ``ci_high``: for "image" figures, the 95% Clopper-Pearson interval, the one of scipy's
  ``binomtest(k, n).proportion_ci(method="exact")``, from scipy's beta quantiles (vectorised; binomtest
  solves for each bound one at a time, seconds for thousands of figures); with bounds, the low end of the
  interval of the lower bound and the high end of that of the upper bound (it covers every way the undecided
  ones may go). Null for "class" figures: a class average is not one binomial proportion, and no exact
  interval is given.
- ``n``: the images behind the figure (for "class" too: the images of the classes averaged). A figure
  over no image is null, with n = 0.

Ensembles, predictors of kind "ensemble", when a kind has at least two voters: "human majority vote" and
"model majority vote" predict, on each image, the class most of their voters predict (voters without a
prediction on the image do not vote; none voting, no prediction). Ties go to the smallest class index: a
fixed rule that does not look at any label, so it favours no answer. Top-1 and top-5 are given for models
only, not for ensembles.

Rows come for each dataset, then each predictor that has predictions on that dataset (each followed by its
subsets, ensembles last), split, metric and averaging; see ROW_KEYS. ``drops`` compares datasets;
``mistakes`` finds the images every model or every human gets wrong.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import beta

CLASS_COUNT = 1000
PAIR_BASE = 1000  # the pair key of (image index, class index) is image index * PAIR_BASE + class index
NO_PREDICTION = -1

# Verdict codes of a (image, class) pair; NOT_PREDICTED marks the cells of a verdict matrix without prediction.
NOT_PREDICTED = -1
UNDECIDED = 0
CORRECT = 1
WRONG = 2
UNCLEAR = 3

MODEL, HUMAN, ENSEMBLE = "model", "human", "ensemble"
KINDS = (MODEL, HUMAN, ENSEMBLE)
ENSEMBLE_NAMES = {MODEL: "model majority vote", HUMAN: "human majority vote"}
METRICS = ("multilabel", "multilabel_lenient", "top1", "top5")
MODEL_ONLY_METRICS = ("top1", "top5")
AVERAGINGS = ("image", "class")
ALL, SEEN, UNSEEN, FAST, SLOW = "all", "seen", "unseen", "fast", "slow"
SUBSETS = (ALL, SEEN, UNSEEN, FAST, SLOW)
CONFIDENCE_LEVEL = 0.95
ROW_KEYS = (
    "predictor",
    "kind",
    "dataset",
    "split",
    "metric",
    "averaging",
    "subset",
    "value",
    "lower",
    "upper",
    "ci_low",
    "ci_high",
    "n",
)
DROP_KEYS = (
    "predictor",
    "kind",
    "reference",
    "dataset",
    "split",
    "metric",
    "averaging",
    "subset",
    "value",
    "lower",
    "upper",
    "n_reference",
    "n",
)


@dataclass
class Inputs:
    """The arrays the engine scores (see the module docstring)."""

    predictors: list
    kinds: list
    top1: np.ndarray
    in_top5: np.ndarray | None
    original: np.ndarray
    problematic: np.ndarray
    dataset: np.ndarray
    datasets: list
    item_keys: np.ndarray
    item_verdicts: np.ndarray
    splits: dict
    voters: np.ndarray | None = None
    seen: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    image_ids: np.ndarray | None = None  # the database id of each image, for the loader's callers; never read here
    complete: np.ndarray | None = None  # bool [I]: the image's label list is complete (none: no image's is)

    def voting(self):
        """bool [P]: the predictors that vote (all when voters is None)."""
        if self.voters is None:
            return np.ones(len(self.predictors), dtype=bool)
        return np.asarray(self.voters, dtype=bool)


def pair_keys(image_index, class_index):
    """The pair key of (image index, class index) pairs; negative where the class index is negative."""
    image_index = np.asarray(image_index, dtype=np.int64)
    class_index = np.asarray(class_index, dtype=np.int64)
    return np.where(class_index >= 0, image_index * PAIR_BASE + class_index, -1)


def verdict_matrix(top1, image_index, item_keys, item_verdicts, complete=None):
    """The verdict code of each predicted class: int8 like top1 [P, I], NOT_PREDICTED where top1 is -1.

    image_index [I] is the image index of each column of top1 (columns may be reordered). Found with
    np.searchsorted over the sorted pair keys of the decided items. On an image whose label list is `complete`
    (bool per image index), a class without a decided item is no valid label: WRONG, not UNDECIDED.
    """
    keys = np.asarray(image_index, dtype=np.int64)[None, :] * PAIR_BASE + top1
    if len(item_keys):
        found_at = np.searchsorted(item_keys, keys)
        np.minimum(found_at, len(item_keys) - 1, out=found_at)
        verdicts = np.where(item_keys[found_at] == keys, item_verdicts[found_at], np.int8(UNDECIDED))
    else:
        verdicts = np.full(top1.shape, UNDECIDED, dtype=np.int8)
    if complete is not None:
        closed = np.asarray(complete, dtype=bool)[np.asarray(image_index, dtype=np.int64)][None, :]
        verdicts = np.where(closed & (verdicts == UNDECIDED), np.int8(WRONG), verdicts)
    return np.where(top1 < 0, np.int8(NOT_PREDICTED), verdicts).astype(np.int8, copy=False)


def majority_vote(top1):
    """The class most rows of top1 [M, I] predict on each image (-1 rows do not vote; ties: smallest class).

    Sorts each image's votes, then measures the run of equal votes ending at each position: the first
    position where the longest run ends is the winner, so among equally long runs the smallest class wins.
    """
    votes = np.sort(top1.T, axis=1)  # [I, M], each image's votes in a contiguous row
    images, members = votes.shape
    if members == 0:
        return np.full(images, NO_PREDICTION, dtype=top1.dtype)
    position = np.arange(members, dtype=np.int32)[None, :]
    starts = np.ones(votes.shape, dtype=bool)
    starts[:, 1:] = votes[:, 1:] != votes[:, :-1]
    run_start = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    run_length = position - run_start + 1
    run_length[votes < 0] = 0
    best = run_length.argmax(axis=1)
    winner = votes[np.arange(images), best]
    winner[run_length[np.arange(images), best] == 0] = NO_PREDICTION
    return winner


def clopper_pearson(k, n, confidence_level=CONFIDENCE_LEVEL):
    """The Clopper-Pearson interval of k successes in n trials, elementwise over arrays (n > 0): (low, high).

    The quantiles of scipy's beta distribution with the interval's standard parameters, low = B(a/2; k, n-k+1)
    (0 where k = 0) and high = B(1-a/2; k+1, n-k) (1 where k = n), a = 1 - confidence_level: the interval of
    ``binomtest(k, n).proportion_ci(confidence_level, method="exact")``, which finds each bound by a root search.
    """
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    tail = (1 - confidence_level) / 2
    # Parameters kept above 0 where the bound is fixed anyway: beta.ppf would give nan there.
    low = np.where(k > 0, beta.ppf(tail, np.maximum(k, 1), n - k + 1), 0.0)
    high = np.where(k < n, beta.ppf(1 - tail, k + 1, np.maximum(n - k, 1)), 1.0)
    return low, high


def split_at_median(seconds):
    """(fast, slow): bool masks of the timed entries of seconds (nan: not timed) at most / above their median."""
    seconds = np.asarray(seconds, dtype=np.float64)
    timed = ~np.isnan(seconds)
    if not timed.any():
        return timed, timed.copy()
    median = np.median(seconds[timed])
    return timed & (seconds <= median), timed & (seconds > median)


def _subsets(inputs, p):
    """[(subset name, bool [I])] of predictor p besides "all": seen / unseen, fast / slow."""
    name = inputs.predictors[p]
    answered = inputs.top1[p] >= 0
    subsets = []
    if name in inputs.seen:
        seen = np.asarray(inputs.seen[name], dtype=bool)
        subsets += [(SEEN, answered & seen), (UNSEEN, answered & ~seen)]
    if name in inputs.seconds:
        seconds = np.where(answered, inputs.seconds[name], np.nan)
        fast, slow = split_at_median(seconds)
        subsets += [(FAST, fast), (SLOW, slow)]
    return subsets


@dataclass
class Scored:
    """What count() scores: one entry per row of top1 [Q, I]. Each predictor (subset "all"), followed by its
    subsets (its predictions on those images only), then the ensembles. parents: the row of the entry's subset
    "all"; sources: the predictor whose top-5 the row has (-1: none, for ensembles)."""

    names: list
    kinds: list
    subsets: list
    parents: np.ndarray
    sources: np.ndarray
    top1: np.ndarray


def scored_rows(inputs):
    """The rows count() scores (see Scored)."""
    names, kinds, subsets, parents, sources, rows = [], [], [], [], [], []

    def add(name, kind, subset, parent, source, top1):
        names.append(name)
        kinds.append(kind)
        subsets.append(subset)
        parents.append(parent)
        sources.append(source)
        rows.append(top1)

    for p, (name, kind) in enumerate(zip(inputs.predictors, inputs.kinds, strict=True)):
        parent = len(rows)
        add(name, kind, ALL, parent, p, inputs.top1[p])
        for subset, mask in _subsets(inputs, p):
            add(name, kind, subset, parent, p, np.where(mask, inputs.top1[p], np.int16(NO_PREDICTION)))
    voting = inputs.voting()
    for kind in (HUMAN, MODEL):
        voters = [i for i, k in enumerate(inputs.kinds) if k == kind and voting[i]]
        if len(voters) >= 2:
            add(ENSEMBLE_NAMES[kind], ENSEMBLE, ALL, len(rows), -1, majority_vote(inputs.top1[voters]))
    top1 = np.stack(rows) if rows else np.zeros((0, len(inputs.original)), dtype=np.int16)
    return Scored(names, kinds, subsets, np.array(parents, dtype=np.int64), np.array(sources, dtype=np.int64), top1)


def _class_counts(hits, starts, groups, shape):
    """Per predictor, dataset and class: how many cells of hits [Q, I] (columns sorted by group) are true."""
    counts = np.zeros(shape, dtype=np.int64)
    if len(starts) and shape[0]:
        # Summed as int8 into int32: a bool sum would be a logical or; a class never has 2**31 images.
        summed = np.add.reduceat(hits.view(np.int8), starts, axis=1, dtype=np.int32)
        counts.reshape(shape[0], shape[1] * shape[2])[:, groups] = summed
    return counts


def count(inputs):
    """The counts behind every figure, per row of scored_rows(inputs), dataset and class.

    Returns a dict: "scored" (the Scored rows) and int64 arrays [Q, D, C]: "predicted" (predictions,
    problematic images included), "n" (non-problematic images predicted) and, per metric, "<metric>_lower" /
    "<metric>_upper" (images right when undecided ones count as wrong / right; equal for top1 and top5).
    """
    scored = scored_rows(inputs)
    datasets = len(inputs.datasets)
    # Columns sorted by (dataset, original class), so that each class's images are one run.
    order = np.lexsort((inputs.original, inputs.dataset))
    group = inputs.dataset[order].astype(np.int64) * CLASS_COUNT + inputs.original[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.zeros(0, dtype=np.int64)
    groups = group[starts]
    shape = (len(scored.names), datasets, CLASS_COUNT)

    # The verdicts are looked up in image order (each row's pair keys ascending), then reordered.
    top1 = scored.top1
    verdicts = np.take(
        verdict_matrix(top1, np.arange(len(order)), inputs.item_keys, inputs.item_verdicts, inputs.complete), order, 1
    )
    top1 = np.take(top1, order, axis=1)
    original = inputs.original[order]
    predicted = top1 >= 0
    valid = predicted & ~inputs.problematic[order][None, :]
    undecided = valid & (verdicts == UNDECIDED)
    correct = valid & (verdicts == CORRECT)
    correct_or_unclear = correct | (valid & (verdicts == UNCLEAR))
    top1_hit = valid & (top1 == original[None, :])

    counts = {"scored": scored}
    for key, hits in (
        ("predicted", predicted),
        ("n", valid),
        ("multilabel_lower", correct),
        ("multilabel_upper", correct | undecided),
        ("multilabel_lenient_lower", correct_or_unclear),
        ("multilabel_lenient_upper", correct_or_unclear | undecided),
        ("top1_lower", top1_hit),
    ):
        counts[key] = _class_counts(hits, starts, groups, shape)
    counts["top1_upper"] = counts["top1_lower"]

    # Top-5 of the rows of a predictor (not the ensembles); only the rows of models become figures.
    top5 = np.zeros(shape, dtype=np.int64)
    with_top5 = np.flatnonzero(scored.sources >= 0)
    if inputs.in_top5 is not None and len(with_top5):
        top5_hit = valid[with_top5] & np.take(inputs.in_top5, order, axis=1)[scored.sources[with_top5]]
        top5[with_top5] = _class_counts(top5_hit, starts, groups, (len(with_top5), datasets, CLASS_COUNT))
    counts["top5_lower"] = counts["top5_upper"] = top5
    return counts


def _split_matrix(splits):
    """[C, S], 1 where a split holds a class, else 0."""
    matrix = np.zeros((CLASS_COUNT, len(splits)), dtype=np.int64)
    for column, classes in enumerate(splits.values()):
        matrix[np.asarray(list(classes), dtype=np.int64), column] = 1
    return matrix


def _image_figures(counts, key, members):
    """Per-image counts [Q, D, S] of counts[key]: the sums over each split's classes."""
    return counts[key] @ members


def _class_figures(counts, key, members):
    """Per-class averages [Q, D, S] of counts[key] / counts["n"], over classes with images; nan if none."""
    n = counts["n"]
    has = n > 0
    accuracy = np.divide(counts[key], n, out=np.zeros(n.shape), where=has)
    classes = has.astype(np.int64) @ members
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(classes > 0, (accuracy @ members) / classes, np.nan)


def _number(value):
    return None if value is None or np.isnan(value) else float(value)


def figures(inputs, confidence_intervals=True, metrics=METRICS):
    """The score rows (dicts with ROW_KEYS) of the inputs, for the given metrics (all by default) and the splits
    of the inputs; ci_low / ci_high null unless confidence_intervals."""
    counts = count(inputs)
    scored = counts["scored"]
    members = _split_matrix(inputs.splits)
    split_names = list(inputs.splits)
    n_image = _image_figures(counts, "n", members)
    predicted = counts["predicted"].sum(axis=2)
    metrics = [metric for metric in METRICS if metric in metrics]
    per_metric = {}
    for metric in metrics:
        k_lower = _image_figures(counts, f"{metric}_lower", members)
        k_upper = _image_figures(counts, f"{metric}_upper", members)
        if confidence_intervals:
            ci_low, ci_high = clopper_pearson(k_lower, n_image)[0], clopper_pearson(k_upper, n_image)[1]
        else:
            ci_low = ci_high = np.full(k_lower.shape, np.nan)
        class_lower = _class_figures(counts, f"{metric}_lower", members)
        class_upper = _class_figures(counts, f"{metric}_upper", members)
        per_metric[metric] = (k_lower, k_upper, ci_low, ci_high, class_lower, class_upper)
    rows = []
    for d, dataset in enumerate(inputs.datasets):
        for q, (name, kind, subset) in enumerate(zip(scored.names, scored.kinds, scored.subsets, strict=True)):
            if not predicted[scored.parents[q], d]:
                continue
            for s, split in enumerate(split_names):
                n = int(n_image[q, d, s])
                for metric in metrics:
                    if metric in MODEL_ONLY_METRICS and kind != MODEL:
                        continue
                    k_lower, k_upper, ci_low, ci_high, class_lower, class_upper = per_metric[metric]
                    base = {"predictor": name, "kind": kind, "dataset": dataset, "split": split, "metric": metric}
                    at = q, d, s
                    rows.append(
                        _image_row(base, subset, int(k_lower[at]), int(k_upper[at]), n, ci_low[at], ci_high[at])
                    )
                    rows.append(_class_row(base, subset, class_lower[at], class_upper[at], n))
    return rows


def _image_row(base, subset, k_lower, k_upper, n, ci_low, ci_high):
    row = {**base, "averaging": "image", "subset": subset, "value": None, "lower": None, "upper": None}
    row.update(ci_low=None, ci_high=None, n=n)
    if n == 0:
        return row
    row["lower"], row["upper"] = k_lower / n, k_upper / n
    if k_lower == k_upper:
        row["value"] = row["lower"]
    row["ci_low"], row["ci_high"] = _number(ci_low), _number(ci_high)
    return row


def _class_row(base, subset, lower, upper, n):
    lower, upper = _number(lower), _number(upper)
    value = lower if lower is not None and lower == upper else None
    row = {**base, "averaging": "class", "subset": subset, "value": value, "lower": lower, "upper": upper}
    row.update(ci_low=None, ci_high=None, n=n)
    return row


def score(inputs, metrics=METRICS):
    """The score rows of the inputs, confidence intervals included."""
    return figures(inputs, confidence_intervals=True, metrics=metrics)


def drops(rows, reference):
    """Per score row of another dataset, the drop from the same figure on the reference dataset (DROP_KEYS).

    value = reference value - other value (positive: the predictor does worse on the other dataset), null
    where either is; lower / upper = the least / greatest drop the bounds allow. n_reference and n are the
    images behind each figure.
    """

    def key(row):
        return row["predictor"], row["kind"], row["split"], row["metric"], row["averaging"], row["subset"]

    on_reference = {key(row): row for row in rows if row["dataset"] == reference}
    result = []
    for row in rows:
        ref = on_reference.get(key(row))
        if row["dataset"] == reference or ref is None:
            continue
        known = ref["lower"] is not None and row["lower"] is not None
        result.append(
            {
                "predictor": row["predictor"],
                "kind": row["kind"],
                "reference": reference,
                "dataset": row["dataset"],
                "split": row["split"],
                "metric": row["metric"],
                "averaging": row["averaging"],
                "subset": row["subset"],
                "value": ref["value"] - row["value"] if ref["value"] is not None and row["value"] is not None else None,
                "lower": ref["lower"] - row["upper"] if known else None,
                "upper": ref["upper"] - row["lower"] if known else None,
                "n_reference": ref["n"],
                "n": row["n"],
            }
        )
    return result


def multilabel(inputs, image_index):
    """The multi-label annotation of one image: {CORRECT, WRONG, UNCLEAR: [class index, ...]}, ascending."""
    first = np.searchsorted(inputs.item_keys, image_index * PAIR_BASE)
    last = np.searchsorted(inputs.item_keys, (image_index + 1) * PAIR_BASE)
    classes, verdicts = inputs.item_keys[first:last] % PAIR_BASE, inputs.item_verdicts[first:last]
    return {code: classes[verdicts == code].tolist() for code in (CORRECT, WRONG, UNCLEAR)}


def every_prediction_wrong(inputs, members):
    """bool [I]: the non-problematic images that at least one of the members (predictor indices) predicts and
    that every member who predicts gets wrong: its prediction decided and not correct (wrong or unclear, a miss
    for strict multi-label accuracy). An undecided prediction keeps its image out: it may yet be right."""
    images = len(inputs.original)
    if not len(members):
        return np.zeros(images, dtype=bool)
    verdicts = verdict_matrix(
        inputs.top1[members], np.arange(images), inputs.item_keys, inputs.item_verdicts, inputs.complete
    )
    predicted = verdicts != NOT_PREDICTED
    missed = (verdicts == WRONG) | (verdicts == UNCLEAR)
    return predicted.any(axis=0) & (missed | ~predicted).all(axis=0) & ~inputs.problematic


def mistakes(inputs):
    """The images every model gets wrong, every human gets wrong, and both: {"models", "humans", "both"} to bool
    [I]. "Every model" is every voting model (inputs.voters), "every human" every human predictor."""
    voting = inputs.voting()
    models = [p for p, kind in enumerate(inputs.kinds) if kind == MODEL and voting[p]]
    humans = [p for p, kind in enumerate(inputs.kinds) if kind == HUMAN]
    by_models, by_humans = every_prediction_wrong(inputs, models), every_prediction_wrong(inputs, humans)
    return {"models": by_models, "humans": by_humans, "both": by_models & by_humans}
