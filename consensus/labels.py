"""The label of review items from their reviewers' verdicts under a dataset's consensus policy."""

import numpy as np

from annotate.models import LabelSource, ReviewerVerdict, Verdict
from consensus import rules
from consensus.models import ConsensusPosterior, Rule

# Verdict codes of consensus.rules, then "don't know": a verdict, but no vote.
VERDICTS_BY_CODE = [Verdict.CORRECT, Verdict.WRONG, Verdict.UNCLEAR, Verdict.DONT_KNOW]
DONT_KNOW_CODE = 3
POSTERIOR_FIELDS = ["p_correct", "p_wrong", "p_unclear"]
LABEL_FIELDS = ["verdict", "verdict_by", "verdict_at", "source", "needs_adjudication"]


def item_labels(policy, item_ids, vote_items, reviewers, codes):
    """(label code or NO_LABEL, deciding reviewer id or 0, posterior [n, 3], needs adjudication) of each item.

    `item_ids` are sorted; the votes are grouped by item, each item's in the order they were given. One reviewer
    decides alone under the single rule: the item takes the latest verdict, "don't know" included.
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


def label_values(code, reviewer_id, needs_adjudication, at, source):
    """The LABEL_FIELDS values of one item."""
    if code == rules.NO_LABEL:
        return Verdict.UNREVIEWED.value, None, None, LabelSource.REVIEW.value, False
    return VERDICTS_BY_CODE[code].value, int(reviewer_id) or None, at, source, bool(needs_adjudication)


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
    source = LabelSource.REVIEW if policy.rule == Rule.SINGLE else LabelSource.CONSENSUS
    values = label_values(labels[0], deciders[0], needs[0], at, source)
    for field, value in zip(LABEL_FIELDS, values, strict=True):
        setattr(item, field if field != "verdict_by" else "verdict_by_id", value)
    if np.isnan(posterior[0]).any():
        ConsensusPosterior.objects.filter(item=item).delete()
    else:
        ConsensusPosterior.objects.update_or_create(item=item, defaults=posterior_fields(posterior[0]))


def posterior_fields(posterior):
    return dict(zip(POSTERIOR_FIELDS, (round(float(p), 6) for p in posterior), strict=True))
