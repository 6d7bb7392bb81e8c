"""Sampling a new test set from its candidates, as ImageNetV2 did (MatchedFrequency, Threshold, TopImages), over
arrays read in bulk: plain numpy, no Django, so that 200,000 candidates of 1,000 classes take milliseconds.

Classes are codes 0..C-1 and candidates are positions in arrays of one length (Candidates). A sample starts from a
previous revision where one is given: its candidates that still qualify are taken first, so that a new revision
keeps them and replaces only the rest. Every random choice comes from one numpy Generator seeded by the caller, one
draw per candidate in array order: the same arrays and seed give the same sample.
"""

from dataclasses import dataclass, replace

import numpy as np

# ImageNetV2: a class's frequency histogram is taken from at least 20 reference images annotated often enough.
MIN_REFERENCE = 20
DEFAULT_THRESHOLD = 0.7


@dataclass(frozen=True)
class Candidates:
    """One entry per candidate: its class code (0..class_count-1), its id (the last tie-breaker), its selection
    frequency and number of annotations for its class, whether it may be sampled (`eligible`) and whether it is in
    the revision the sample starts from (`previous`)."""

    class_count: int
    classes: np.ndarray
    ids: np.ndarray
    frequency: np.ndarray
    annotations: np.ndarray
    eligible: np.ndarray
    previous: np.ndarray


@dataclass(frozen=True)
class Reference:
    """The reference (original) test set's images with a frequency for their own class: class code, frequency and
    number of annotations of each."""

    classes: np.ndarray
    frequency: np.ndarray
    annotations: np.ndarray


@dataclass(frozen=True)
class Sample:
    """The candidates chosen (positions in the Candidates arrays, by class, then bin, then id), which of them were
    taken for a lower bin that had run dry (`upward`), and per class how many were wanted and how many found.
    MatchedFrequency adds per class the target per bin (`quota`, classes × bins) and its count of reference images
    annotated often enough (`reference`); a class with fewer than its minimum gets no quota and no images."""

    chosen: np.ndarray
    upward: np.ndarray
    wanted: np.ndarray
    sampled: np.ndarray
    quota: np.ndarray | None = None
    reference: np.ndarray | None = None

    @property
    def short(self):
        """The codes of the classes that got fewer images than wanted."""
        return np.flatnonzero(self.sampled < self.wanted)


def bins(frequency, edges):
    """The bin of each frequency: 0 below the first edge, len(edges) at or above the last."""
    return np.searchsorted(np.asarray(edges), frequency, side="right")


def frequencies(selected, annotations):
    """selected / annotations, 0 where an image has no annotations."""
    selected, annotations = np.asarray(selected), np.asarray(annotations)
    return np.divide(selected, annotations, out=np.zeros(len(annotations)), where=annotations > 0)


def eligible(annotations, blacklisted, min_annotations, near_duplicate=None):
    """Candidates that may be sampled: annotated at least `min_annotations` times, not blacklisted, and not a
    near-duplicate where that is known (a mask, or None)."""
    allowed = (np.asarray(annotations) >= min_annotations) & ~np.asarray(blacklisted, dtype=bool)
    return allowed if near_duplicate is None else allowed & ~np.asarray(near_duplicate, dtype=bool)


def largest_remainder(counts, total):
    """Each row of `counts` (classes × bins) scaled to sum to `total`, in whole numbers: every bin gets the whole
    part of its share, and what is left goes one by one to the bins with the largest remainders (the lower bin
    first where remainders are equal). A row of zeros gets nothing. Integer arithmetic: no rounding error."""
    counts = np.asarray(counts, dtype=np.int64)
    sums = counts.sum(axis=1, keepdims=True)
    divisor = np.maximum(sums, 1)
    whole, remainder = np.divmod(counts * total, divisor)
    left = np.where(sums[:, 0] > 0, total - whole.sum(axis=1), 0)
    by_remainder = np.argsort(-remainder, axis=1, kind="stable")
    place = np.empty_like(by_remainder)
    np.put_along_axis(place, by_remainder, np.arange(counts.shape[1])[None, :], axis=1)
    return whole + (place < left[:, None])


def histogram(classes, frequency, class_count, edges):
    """Per class, how many of the frequencies fall in each bin: an array classes × bins."""
    bin_count = len(edges) + 1
    cells = np.asarray(classes, dtype=np.int64) * bin_count + bins(frequency, edges)
    return np.bincount(cells, minlength=class_count * bin_count).reshape(class_count, bin_count)


def matched_frequency(candidates, reference, *, per_class, min_annotations, edges, seed, min_reference=MIN_REFERENCE):
    """ImageNetV2's MatchedFrequency: per class, the histogram of its reference images' frequencies (those annotated
    at least `min_annotations` times; a class needs `min_reference` of them) rounded to `per_class` by largest
    remainder; each bin filled at random from the eligible candidates of that bin, the previous revision's first;
    where a bin runs dry, the next higher bin gives what it has left, then the one above."""
    counted = np.asarray(reference.annotations) >= min_annotations
    reference_histogram = histogram(
        reference.classes[counted], reference.frequency[counted], candidates.class_count, edges
    )
    reference_counts = reference_histogram.sum(axis=1)
    quota = largest_remainder(reference_histogram, per_class)
    quota[reference_counts < min_reference] = 0
    bin_count = len(edges) + 1

    order = _shuffled_previous_first(candidates, candidates.eligible, seed, bins(candidates.frequency, edges))
    cells = candidates.classes[order] * bin_count + bins(candidates.frequency[order], edges)
    rank = _rank_in_groups(cells)
    cell_quota = quota.ravel()[cells]
    chosen = rank < cell_quota
    upward = np.zeros(len(order), dtype=bool)

    found = np.bincount(cells, minlength=quota.size).reshape(quota.shape)
    missing = np.maximum(quota - found, 0)
    spare = np.maximum(found - quota, 0)
    lent = np.zeros_like(spare)
    # The rank among a cell's candidates left over once its own quota is filled: a lower bin takes them in turn.
    spare_rank = rank - cell_quota
    cell_class, cell_bin = np.divmod(cells, bin_count)
    for low in range(bin_count - 1):
        for high in range(low + 1, bin_count):
            taken = np.minimum(missing[:, low], spare[:, high] - lent[:, high])
            if not taken.any():
                continue
            first = lent[cell_class, high]
            lending = (cell_bin == high) & (spare_rank >= first) & (spare_rank < first + taken[cell_class])
            chosen |= lending
            upward |= lending
            lent[:, high] += taken
            missing[:, low] -= taken
    sample = _sample(candidates, order[chosen], per_class, edges, upward[chosen])
    return replace(sample, quota=quota, reference=reference_counts)


def threshold(candidates, *, per_class, thresholds, edges, seed):
    """ImageNetV2's Threshold: per class, `per_class` eligible candidates at random among those whose frequency is
    at least the class's threshold (`thresholds`: one per class code), the previous revision's first."""
    above = candidates.eligible & (candidates.frequency >= np.asarray(thresholds)[candidates.classes])
    order = _shuffled_previous_first(candidates, above, seed)
    return _sample(candidates, order[_rank_in_groups(candidates.classes[order]) < per_class], per_class, edges)


def top_images(candidates, *, per_class, edges):
    """ImageNetV2's TopImages: per class, the first `per_class` eligible candidates by frequency (highest first),
    then number of annotations (most first), then membership in the previous revision, then id."""
    at = np.flatnonzero(candidates.eligible)
    order = at[
        np.lexsort(
            (
                candidates.ids[at],
                ~candidates.previous[at],
                -candidates.annotations[at],
                -candidates.frequency[at],
                candidates.classes[at],
            )
        )
    ]
    return _sample(candidates, order[_rank_in_groups(candidates.classes[order]) < per_class], per_class, edges)


def _shuffled_previous_first(candidates, mask, seed, *groups):
    """The positions where `mask` holds, grouped by class (and by `groups`, arrays over all candidates), within a
    group the previous revision's candidates first, each part in a random order drawn from `seed`."""
    keys = np.random.default_rng(seed).random(len(candidates.ids))
    at = np.flatnonzero(mask)
    sort_keys = (keys[at], ~candidates.previous[at], *(group[at] for group in groups), candidates.classes[at])
    return at[np.lexsort(sort_keys)]


def _rank_in_groups(groups):
    """For values sorted into runs of equal groups, each one's place within its run (0 first)."""
    groups = np.asarray(groups)
    return np.arange(len(groups)) - np.searchsorted(groups, groups, side="left")


def _sample(candidates, chosen, per_class, edges, upward=None):
    """A Sample of the positions `chosen` (those taken for a lower bin marked in `upward`), put in order of class,
    bin and id."""
    order = np.lexsort((candidates.ids[chosen], bins(candidates.frequency[chosen], edges), candidates.classes[chosen]))
    return Sample(
        chosen=chosen[order],
        upward=np.zeros(len(chosen), dtype=bool) if upward is None else upward[order],
        wanted=np.full(candidates.class_count, per_class),
        sampled=np.bincount(candidates.classes[chosen], minlength=candidates.class_count),
    )
