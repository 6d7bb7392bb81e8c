"""The label of review items from their reviewers' verdicts under a dataset's consensus policy."""

import numpy as np

from annotate import bulk, rules
from annotate.models import ConsensusPolicy, ConsensusPosterior, LabelSource, ReviewerVerdict, Rule, Verdict

# Verdict codes of annotate.rules, then "don't know": a verdict, but no vote.
VERDICTS_BY_CODE = [Verdict.CORRECT, Verdict.WRONG, Verdict.UNCLEAR, Verdict.DONT_KNOW]
DONT_KNOW_CODE = 3
POSTERIOR_FIELDS = ["p_correct", "p_wrong", "p_unclear"]
LABEL_FIELDS = ["verdict", "verdict_by", "verdict_at", "source", "needs_adjudication"]
# How labels and their sources travel column-wise: a label as its code + 1 (rules.NO_LABEL first), a source as its
# index in SOURCES.
LABELS = [Verdict.UNREVIEWED.value, *(verdict.value for verdict in VERDICTS_BY_CODE)]
SOURCES = list(LabelSource.values)


def item_labels(policy, item_ids, vote_items, reviewers, codes):
    """(label code or NO_LABEL, deciding reviewer id or 0, posterior [n, 3], needs adjudication) of each item.

    `item_ids` are sorted. One reviewer decides alone under the single rule: the item takes the latest verdict,
    "don't know" included, and for that the votes come grouped by item, each item's in the order they were given.
    """
    n = len(item_ids)
    index = np.searchsorted(item_ids, vote_items)
    if policy.rule == Rule.SINGLE:
        labels, deciders = np.full(n, rules.NO_LABEL, dtype=np.int8), np.zeros(n, dtype=np.int64)
        last = np.flatnonzero(np.r_[index[1:] != index[:-1], True]) if len(index) else index
        labels[index[last]], deciders[index[last]] = codes[last], reviewers[last]
        return labels, deciders, np.full((n, rules.CODES), np.nan), np.zeros(n, dtype=bool)
    decided = codes != DONT_KNOW_CODE
    index, reviewers, codes = index[decided], reviewers[decided], codes[decided]
    if policy.rule == Rule.DAWID_SKENE and len(item_ids) > 1:
        posterior = rules.dawid_skene(index, reviewers, codes, n)
        labels, needs = rules.label_by_posterior(posterior, np.bincount(index, minlength=n), policy.overlap)
    else:
        # One item at a time (a new verdict) has no reviewer reliabilities to learn from: majority until the
        # next aggregate.
        rule = rules.MAJORITY if policy.rule == Rule.DAWID_SKENE else policy.rule
        labels, posterior, needs = rules.label_by_votes(rules.vote_counts(index, codes, n), rule, policy.overlap)
    return labels, np.zeros(n, dtype=np.int64), posterior, needs


def label_columns(codes, deciders, needs_adjudication, at, source):
    """The LABEL_FIELDS of items as columns (annotate.bulk.insert_columns), from their label codes (rules.NO_LABEL:
    unreviewed), deciding reviewer ids (0: none) and whether they need adjudication: a label comes from `source`
    at `at`; an item without one is unreviewed, from no one, at no time, by review."""
    labelled = codes != rules.NO_LABEL
    decider_ids, decider_codes = np.unique(np.where(labelled, deciders, 0), return_inverse=True)
    return {
        "verdict": bulk.Coded(codes.astype(np.int64) + 1, LABELS),
        "verdict_by": bulk.Coded(decider_codes, [int(reviewer) or None for reviewer in decider_ids]),
        "verdict_at": bulk.Coded(labelled, [None, at]),
        "source": bulk.Coded(np.where(labelled, SOURCES.index(source), SOURCES.index(LabelSource.REVIEW)), SOURCES),
        "needs_adjudication": needs_adjudication & labelled,
    }


def label_source(rule):
    """Where labels under `rule` come from: one reviewer's review, or several reviewers' consensus."""
    return LabelSource.REVIEW if rule == Rule.SINGLE else LabelSource.CONSENSUS


def new_item_labels(rule, overlap, keys, vote_keys, reviewers, codes, at):
    """The label columns (label_columns) of items not stored yet, known by `keys` (ascending), from their votes
    (the key, reviewer and code in VERDICTS_BY_CODE of each), under `rule` and `overlap`: the labels aggregate
    would give them, so that items created with them need no second write."""
    theirs = np.isin(vote_keys, keys)
    policy = ConsensusPolicy(rule=rule, overlap=overlap)
    codes, deciders, _, needs = item_labels(policy, keys, vote_keys[theirs], reviewers[theirs], codes[theirs])
    return label_columns(codes, deciders, needs, at, label_source(rule))


def label_values(code, reviewer_id, needs_adjudication, at, source):
    """The LABEL_FIELDS values of one item."""
    columns = label_columns(np.array([code]), np.array([reviewer_id]), np.array([needs_adjudication]), at, source)
    return bulk.rows_of([columns[field] for field in LABEL_FIELDS], 1)[0]


def relabel_item(item, policy, at):
    """Set the label of one locked item from its reviewers' verdicts, and its posterior; the caller saves the
    item."""
    votes = list(
        ReviewerVerdict.objects.filter(item=item)
        .exclude(value=Verdict.UNREVIEWED)
        .order_by("updated_at", "pk")
        .values_list("reviewer_id", "value")
    )
    reviewers = np.array([reviewer for reviewer, _ in votes], dtype=np.int64)
    codes = np.array([VERDICTS_BY_CODE.index(value) for _, value in votes], dtype=np.int64)
    labels, deciders, posterior, needs = item_labels(
        policy, np.array([item.pk]), np.full(len(votes), item.pk), reviewers, codes
    )
    source = label_source(policy.rule)
    values = label_values(labels[0], deciders[0], needs[0], at, source)
    for field, value in zip(LABEL_FIELDS, values, strict=True):
        setattr(item, field if field != "verdict_by" else "verdict_by_id", value)
    if np.isnan(posterior[0]).any():
        ConsensusPosterior.objects.filter(item=item).delete()
    else:
        ConsensusPosterior.objects.update_or_create(item=item, defaults=posterior_fields(posterior[0]))


def posterior_fields(posterior):
    return dict(zip(POSTERIOR_FIELDS, (round(float(p), 6) for p in posterior), strict=True))
