"""Proposing a metric's threshold from the candidates' nearest distances (no Django here).

Most candidates have no copy: their nearest distances form the bulk, whose spread on a log scale is that of
distinct images. A copy lies far nearer to its original than that. The proposal is the distance that many robust
standard deviations (median absolute deviations, scaled) below the median of the log distances: nothing in a pool
without copies, and the copies of a pool that has them, fall under it. People then move it where review shows.

Counts (pHash Hamming distances, 0 to 64 bits) tie: when more than half of the nearest distances share the median
their deviation is 0, and the proposal would be the median itself, half the candidates under it. A count only
tells distances a unit apart, so the spread is at least that of half a unit at the median, and the proposal a
whole count."""

import numpy as np

ROBUST_DEVIATIONS = 4.0
# The median absolute deviation of a normal distribution is this share of its standard deviation.
MAD_TO_SD = 1.4826


def proposed_threshold(nearest):
    """The distance under which a neighbour is proposed for review, from the nearest distances of candidates."""
    distances = np.asarray(nearest, np.float64)
    distances = distances[np.isfinite(distances)]
    if not len(distances):
        raise ValueError("no finite distance to propose a threshold from")
    positive = distances[distances > 0]
    if not len(positive):
        return 0.0
    logs = np.log(positive)
    centre = np.median(logs)
    spread = MAD_TO_SD * np.median(np.abs(logs - centre))
    if not np.array_equal(distances, np.round(distances)):
        return float(np.exp(centre - ROBUST_DEVIATIONS * spread))
    # log(m ± 1/2) ≈ log m ± 1/(2m): half a unit at the median m on the log scale.
    spread = max(spread, MAD_TO_SD * 0.5 / np.exp(centre))
    return float(np.floor(np.exp(centre - ROBUST_DEVIATIONS * spread)))
