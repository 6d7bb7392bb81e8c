"""Resolution of near-duplicates among the candidates of a new test set (issue 16): no Django here.

Nodes are the candidates, the reference (original) images met in a duplicate pair, and one node per source id
(the photo's id at its source; candidates, and references where known, that share it are joined through it).
Edges are the duplicate pairs a review confirmed, candidate–candidate and candidate–reference. Each connected
component (scipy.sparse.csgraph.connected_components) is then decided as ImageNetV2 did:

- a component that contains a reference image rejects all its candidates (reason TOUCHES_REFERENCE, related:
  the smallest reference id of the component);
- otherwise exactly one candidate survives, the first under (its class's number of eligible candidates with
  frequency >= 0.7 ascending, frequency descending, annotations descending, id ascending): from the class with
  the fewest eligible high-frequency candidates, its highest-frequency image. It is KEPT (or UNIQUE when alone
  in its component); the others are DUPLICATE, related: the kept candidate's id. A candidate whose frequency is
  unknown (NaN) comes after every known one.

Manual overrides act on top: a candidate in `keep` always survives (OVERRIDE_KEPT), one in `reject` never does
(OVERRIDE_REJECTED). In a component without references, the kept ones replace the rule's survivor (the others are
DUPLICATE of the smallest kept id); when the rule's choice is rejected by hand, the next under the same order
survives; when every candidate is rejected by hand, none survives. In a component with references, the kept ones
survive and the rest are still rejected as touching a reference.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

HIGH_FREQUENCY = 0.7

UNIQUE = "unique"
KEPT = "kept"
DUPLICATE = "duplicate"
TOUCHES_REFERENCE = "touches_reference"
OVERRIDE_KEPT = "override_kept"
OVERRIDE_REJECTED = "override_rejected"
SURVIVING = (UNIQUE, KEPT, OVERRIDE_KEPT)


@dataclass(frozen=True)
class Candidates:
    """The candidates of a test set, one array entry each (ids unique). `eligible` (default all) says which count
    towards their class's number of eligible high-frequency candidates; `source_ids` ("" for unknown) join
    candidates of the same source photo."""

    ids: np.ndarray
    classes: np.ndarray
    frequencies: np.ndarray
    annotations: np.ndarray
    eligible: np.ndarray | None = None
    source_ids: np.ndarray | None = None


@dataclass(frozen=True)
class Resolution:
    """Per candidate, in the order of Candidates.ids: whether it survives, why (one of the reasons above), the id
    the reason names (-1 for none) and its component's number (candidates alone have their own)."""

    ids: np.ndarray
    survives: np.ndarray
    reasons: np.ndarray
    related: np.ndarray
    components: np.ndarray = field(repr=False)


def high_frequency_counts(classes, frequencies, eligible=None, threshold=HIGH_FREQUENCY):
    """{class: number of eligible candidates with frequency >= threshold}; classes without any are left out."""
    classes = np.asarray(classes)
    high = np.asarray(frequencies, dtype=np.float64) >= threshold
    if eligible is not None:
        high &= np.asarray(eligible, dtype=bool)
    names, counts = np.unique(classes[high], return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))


def resolve(
    candidates,
    duplicate_pairs=(),
    reference_pairs=(),
    *,
    reference_source_ids=None,
    counts=None,
    keep=(),
    reject=(),
    threshold=HIGH_FREQUENCY,
):
    """Decide every candidate (see the module docstring).

    duplicate_pairs: (m, 2) candidate ids confirmed duplicates of each other; reference_pairs: (m, 2) (candidate
    id, reference id) confirmed duplicates; reference_source_ids: {reference id: source id} for references whose
    source is known; counts: {class: eligible high-frequency candidates}, by default `high_frequency_counts` of
    the candidates given.
    """
    ids = np.asarray(candidates.ids, dtype=np.int64)
    n = len(ids)
    if len(np.unique(ids)) != n:
        raise ValueError("candidate ids must be unique")
    if n == 0:
        nothing = np.zeros(0, dtype=np.int64)
        return Resolution(ids, nothing.astype(bool), nothing.astype(str), nothing, nothing)
    position = _positions(ids)
    duplicate_pairs = _pairs(duplicate_pairs, "duplicate_pairs")
    reference_pairs = _pairs(reference_pairs, "reference_pairs")
    first, second = (
        position(duplicate_pairs[:, 0], "duplicate_pairs"),
        position(duplicate_pairs[:, 1], "duplicate_pairs"),
    )
    linked = position(reference_pairs[:, 0], "reference_pairs")
    keep = position(np.asarray(list(keep), dtype=np.int64), "keep")
    reject = position(np.asarray(list(reject), dtype=np.int64), "reject")
    if np.intersect1d(keep, reject).size:
        raise ValueError(f"candidates both kept and rejected by hand: {sorted(ids[np.intersect1d(keep, reject)])}")

    # Node numbers: candidates 0..n-1, then the references met, then one node per source id.
    references, reference_nodes = np.unique(reference_pairs[:, 1], return_inverse=True)
    reference_sources = reference_source_ids or {}
    sources = _source_ids(candidates.source_ids, n)
    known = sources != ""
    with_source = np.flatnonzero(np.isin(references, list(reference_sources)))
    source_of_reference = np.array([reference_sources[r] for r in references[with_source].tolist()], dtype=object)
    source_names, source_nodes = np.unique(
        np.concatenate([sources[known], source_of_reference]).astype(str), return_inverse=True
    )
    source_base = n + len(references)
    edges = np.concatenate(
        [
            np.stack([first, second], axis=1),
            np.stack([linked, n + reference_nodes], axis=1),
            np.stack([np.flatnonzero(known), source_base + source_nodes[: known.sum()]], axis=1),
            np.stack([n + with_source, source_base + source_nodes[known.sum() :]], axis=1),
        ]
    ).astype(np.int64)
    nodes = source_base + len(source_names)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(nodes, nodes))
    _, labels = connected_components(graph, directed=False)
    components = labels[:n]

    # The smallest reference id of each component that has one (-1 where none).
    component_count = labels.max() + 1 if len(labels) else 0
    smallest_reference = _smallest_per_component(labels[n:source_base], references, component_count)
    touched = smallest_reference[components] >= 0

    forced_keep = np.zeros(n, dtype=bool)
    forced_keep[keep] = True
    forced_reject = np.zeros(n, dtype=bool)
    forced_reject[reject] = True

    # The rule's survivor of each component: the first of its candidates under the order of the docstring,
    # candidates rejected by hand last.
    counts = (
        high_frequency_counts(candidates.classes, candidates.frequencies, candidates.eligible, threshold)
        if counts is None
        else counts
    )
    class_counts = np.array([counts.get(name, 0) for name in np.asarray(candidates.classes).tolist()], dtype=np.int64)
    frequencies = np.asarray(candidates.frequencies, dtype=np.float64)
    frequencies = np.where(np.isnan(frequencies), -np.inf, frequencies)
    annotations = np.asarray(candidates.annotations, dtype=np.int64)
    ranked = np.lexsort((ids, -annotations, -frequencies, class_counts, forced_reject, components))
    first_of_component = np.ones(n, dtype=bool)
    first_of_component[1:] = components[ranked][1:] != components[ranked][:-1]
    survivor = np.full(component_count, -1, dtype=np.int64)
    survivor[components[ranked[first_of_component]]] = ranked[first_of_component]
    # Every component holds a candidate; its first is rejected by hand only when all of them are.
    survivor[forced_reject[survivor]] = -1
    # Kept by hand replaces the rule's survivor: the smallest kept id is the one the others duplicate.
    kept_by_hand = np.flatnonzero(forced_keep)
    smallest_kept = _smallest_per_component(components[kept_by_hand], ids[kept_by_hand], component_count)
    has_kept = smallest_kept >= 0
    survivor[has_kept] = position(smallest_kept[has_kept], "keep")

    sizes = np.bincount(components, minlength=component_count)
    chosen = survivor[components]
    is_survivor = (np.arange(n) == chosen) & ~touched
    reasons = np.where(touched, TOUCHES_REFERENCE, DUPLICATE).astype(object)
    related = np.where(touched, smallest_reference[components], np.where(chosen >= 0, ids[np.maximum(chosen, 0)], -1))
    reasons[is_survivor] = np.where(sizes[components[is_survivor]] == 1, UNIQUE, KEPT)
    related[is_survivor] = -1
    reasons[forced_keep] = OVERRIDE_KEPT
    reasons[forced_reject] = OVERRIDE_REJECTED
    related[forced_keep | forced_reject] = -1
    survives = is_survivor | forced_keep
    survives[forced_reject] = False
    return Resolution(ids=ids, survives=survives, reasons=reasons.astype(str), related=related, components=components)


def _smallest_per_component(labels, values, component_count):
    """The smallest of the values in each component, -1 where a component has none."""
    none = np.iinfo(np.int64).max
    smallest = np.full(component_count, none, dtype=np.int64)
    np.minimum.at(smallest, labels, values)
    return np.where(smallest == none, -1, smallest)


def _positions(ids):
    """A function mapping candidate ids to their positions, refusing unknown ids with the field's name."""
    order = np.argsort(ids)
    ordered = ids[order]

    def position(values, name):
        values = np.asarray(values, dtype=np.int64)
        found = np.searchsorted(ordered, values).clip(max=max(len(ordered) - 1, 0))
        missing = (ordered[found] != values) if len(ordered) else np.ones(len(values), dtype=bool)
        if missing.any():
            raise ValueError(f"{name} name ids that are not candidates: {sorted(set(values[missing].tolist()))[:10]}")
        return order[found]

    return position


def _pairs(pairs, name):
    pairs = np.asarray(pairs, dtype=np.int64)
    if pairs.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"{name} must be pairs of ids, of shape (m, 2), not {pairs.shape}")
    return pairs


def _source_ids(source_ids, n):
    if source_ids is None:
        return np.full(n, "", dtype=object)
    sources = np.asarray(source_ids, dtype=object)
    if sources.shape != (n,):
        raise ValueError(f"source_ids must hold one entry per candidate ({n}), not shape {sources.shape}")
    return np.where(sources == None, "", sources).astype(str).astype(object)  # noqa: E711 - elementwise
