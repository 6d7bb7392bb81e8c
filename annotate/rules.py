"""Consensus of several reviewers' verdicts and agreement between reviewers, vectorised; no Django.

Votes are parallel arrays: the item index, the reviewer index and the verdict code of each vote, with codes
0 correct, 1 wrong, 2 unclear ("don't know" is no vote and never reaches these functions). Dawid-Skene gives
crowd-kit's posteriors (tests/test_consensus.py compares them) without its start-up of pandas and scipy.stats.
"""

import numpy as np
from scipy import sparse

CORRECT, WRONG, UNCLEAR = 0, 1, 2
CODES = 3
NO_LABEL = -1  # fewer decided verdicts than the overlap: the item stays unreviewed
UNANIMITY, MAJORITY, DAWID_SKENE = "unanimity", "majority", "dawid_skene"


def vote_counts(items, codes, n_items):
    """int [n_items, 3]: how many reviewers gave each verdict to each item."""
    flat = np.asarray(items, dtype=np.int64) * CODES + np.asarray(codes, dtype=np.int64)
    return np.bincount(flat, minlength=n_items * CODES).reshape(n_items, CODES)


def vote_shares(counts):
    """float [n_items, 3]: each verdict's share of an item's votes; NaN for items without votes."""
    decided = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(decided > 0, counts / np.maximum(decided, 1), np.nan)


def label_by_votes(counts, rule, overlap):
    """(labels, posterior, needs adjudication) of items under unanimity or majority.

    An item with at least `overlap` votes gets the verdict that all of them (unanimity) or more than half of
    them (majority) gave; where none did it is unclear and needs adjudication. The posterior is the vote shares.
    """
    if rule not in (UNANIMITY, MAJORITY):
        raise ValueError(f"unknown vote rule {rule!r}; expected {UNANIMITY} or {MAJORITY}")
    decided = counts.sum(axis=1)
    top = counts.max(axis=1)
    agreed = top == decided if rule == UNANIMITY else top * 2 > decided
    enough = decided >= overlap
    return _labels(counts.argmax(axis=1), agreed, enough), vote_shares(counts), enough & ~agreed


def dawid_skene(items, reviewers, codes, n_items, n_iter=100, tol=1e-5):
    """float [n_items, 3]: the Dawid-Skene posterior of each item's verdict; NaN for items without votes.

    Expectation-maximisation as crowd-kit's DawidSkene runs it (the same start, floor and stopping rule, so the
    same posteriors), with every step a few passes of numpy over the votes: it starts from the majority vote's
    shares, then alternates the M-step (class priors and each reviewer's error rates from the posteriors) and the
    E-step (posteriors from them) until the evidence lower bound per vote gains less than `tol`.
    """
    posterior = np.full((n_items, CODES), np.nan)
    if len(items) == 0:
        return posterior
    voted, tasks = np.unique(items, return_inverse=True)
    model = _VoteModel(tasks, reviewers, codes)
    counts = vote_counts(tasks, codes, len(voted))
    probas = counts / counts.sum(axis=1, keepdims=True)
    priors, (mass, errors) = probas.mean(axis=0), model.error_rates(probas)
    bound = -np.inf
    for _ in range(n_iter):
        log_priors = np.log(np.maximum(priors, DAWID_SKENE_FLOOR))
        probas = _normalised(log_priors + model.log_likelihoods(errors, len(voted)))
        priors, (mass, errors) = probas.mean(axis=0), model.error_rates(probas)
        # crowd-kit floors the posteriors in place when it computes their entropy, and returns them so.
        probas = np.maximum(probas, DAWID_SKENE_FLOOR)
        new_bound = model.evidence_lower_bound(mass, errors, priors, probas)
        if new_bound - bound < tol:
            break
        bound = new_bound
    posterior[voted] = probas
    return posterior


# crowd-kit's floor for error rates and priors: a verdict a reviewer gave, or a class, is never impossible.
DAWID_SKENE_FLOOR = 1e-10


class _VoteModel:
    """The votes as Dawid-Skene sees them: each vote's task (0..n_tasks-1) and its cell, the pair (reviewer,
    verdict) whose error rates it looks up."""

    def __init__(self, tasks, reviewers, codes):
        self.tasks = tasks
        self.n_reviewers = int(reviewers.max()) + 1
        self.cells = reviewers * CODES + codes
        self.given = np.bincount(self.cells, minlength=self.n_reviewers * CODES).reshape(-1, CODES, 1) > 0

    def error_rates(self, probas):
        """(mass, errors) [reviewer, verdict, true class]: the posterior mass of the tasks each reviewer gave each
        verdict, and the error rates P(verdict | true class) it implies, floored at DAWID_SKENE_FLOOR where the
        reviewer gave the verdict (0 elsewhere) and normalised per true class. `probas` [n_tasks, 3]."""
        mass = np.stack(
            [
                np.bincount(self.cells, weights=probas[self.tasks, k], minlength=self.n_reviewers * CODES)
                for k in range(CODES)
            ],
            axis=-1,
        ).reshape(self.n_reviewers, CODES, CODES)
        errors = np.where(self.given, np.maximum(mass, DAWID_SKENE_FLOOR), 0.0)
        with np.errstate(invalid="ignore"):  # 0 / 0 for reviewers whose tasks have no posterior: never looked up
            errors /= errors.sum(axis=1, keepdims=True)
        return mass, errors

    def vote_log_errors(self, errors):
        """float [n_votes, 3]: the log error rate of each vote under each true class."""
        return np.log(errors.reshape(-1, CODES)[self.cells])

    def log_likelihoods(self, errors, n_tasks):
        """float [n_tasks, 3]: the log likelihood of each task's votes under each true class."""
        log_errors = self.vote_log_errors(errors)
        return np.stack([np.bincount(self.tasks, weights=log_errors[:, k], minlength=n_tasks) for k in range(3)], 1)

    def evidence_lower_bound(self, mass, errors, priors, probas):
        """The evidence lower bound per vote: the expected log joint of votes and true classes under the
        posteriors `probas`, plus their entropy. The expected log of the votes' error rates is the error rates'
        mass times their log, summed over the cells the reviewers gave."""
        log_errors = np.log(np.where(self.given, errors, 1.0))
        log_priors = np.log(np.maximum(priors, DAWID_SKENE_FLOOR))
        joint = (mass * log_errors).sum() + (mass.sum(axis=(0, 1)) * log_priors).sum()
        return float(joint - (probas * np.log(probas)).sum()) / len(self.tasks)


def _normalised(log_likelihoods):
    """float [n, 3]: each row of log likelihoods as probabilities that sum to one."""
    scaled = np.exp(log_likelihoods - log_likelihoods.max(axis=1, keepdims=True))
    return scaled / scaled.sum(axis=1, keepdims=True)


def label_by_posterior(posterior, decided, overlap):
    """(labels, needs adjudication): the verdict whose posterior is over one half, else unclear and adjudication,
    for items with at least `overlap` decided votes."""
    known = ~np.isnan(posterior).any(axis=1)
    safe = np.where(known[:, None], posterior, 0.0)
    agreed = safe.max(axis=1) > 0.5
    enough = known & (decided >= overlap)
    return _labels(safe.argmax(axis=1), agreed, enough), enough & ~agreed


def _labels(top, agreed, enough):
    return np.where(enough, np.where(agreed, top, UNCLEAR), NO_LABEL).astype(np.int8)


def real_valid(posterior):
    """bool [n_items]: the ReaL yes/no answer, valid where P(correct) + P(unclear) / 2 > 1/2."""
    return np.nan_to_num(posterior[:, CORRECT] + posterior[:, UNCLEAR] / 2) > 0.5


def reviewer_reliability(posterior, items, reviewers, codes, n_reviewers):
    """float [n_reviewers]: each reviewer's expected accuracy, the mean posterior of the verdicts they gave."""
    chance = posterior[items, codes]
    known = ~np.isnan(chance)
    total = np.bincount(reviewers[known], minlength=n_reviewers)
    summed = np.bincount(reviewers[known], weights=chance[known], minlength=n_reviewers)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / np.maximum(total, 1), np.nan)


def consensus_without_each_vote(items, reviewers, codes, n_items, rule, posterior=None):
    """int8 [n_votes]: for each vote, the consensus that the other votes on its item reach under `rule`, NO_LABEL
    where they reach none or there are no other votes.

    - unanimity: the verdict that every other vote gave;
    - majority: the verdict that more than half of the other votes gave;
    - Dawid-Skene: the verdict whose posterior given the other votes is over one half (see
      dawid_skene_without_each_vote; `posterior` is the items' Dawid-Skene posterior with every vote).

    The overlap is not asked of the other votes: one vote fewer than the overlap still says what the others think.
    """
    if rule == DAWID_SKENE:
        return dawid_skene_without_each_vote(posterior, items, reviewers, codes, n_items)
    if rule not in (UNANIMITY, MAJORITY):
        raise ValueError(
            f"no consensus without a vote under {rule!r}; expected {UNANIMITY}, {MAJORITY} or {DAWID_SKENE}"
        )
    others = vote_counts(items, codes, n_items)[items]
    others[np.arange(len(codes)), codes] -= 1
    decided = others.sum(axis=1)
    top = others.max(axis=1)
    agreed = top == decided if rule == UNANIMITY else top * 2 > decided
    return np.where(agreed & (decided > 0), others.argmax(axis=1), NO_LABEL).astype(np.int8)


def dawid_skene_without_each_vote(posterior, items, reviewers, codes, n_items):
    """int8 [n_votes]: for each vote, the verdict whose Dawid-Skene posterior given the other votes on its item is
    over one half; NO_LABEL where none is, where there are no other votes or the item has no posterior.

    The model is the one that `posterior` (float [n_items, 3], NaN where unknown: the items' posterior with every
    vote) implies, from one M-step as crowd-kit takes it: the class priors are the items' mean posterior, and a
    reviewer's error rates P(verdict | true class) are the posterior mass of the items they gave each verdict,
    floored at DAWID_SKENE_FLOOR and normalised per true class. Leaving a vote out is then an E-step without it:
    P(true class | the other votes) is proportional to the prior times the other votes' error rates.
    """
    known = ~np.isnan(posterior[items]).any(axis=1)
    if not known.any():
        return np.full(len(items), NO_LABEL, dtype=np.int8)
    model = _VoteModel(items[known], reviewers[known], codes[known])
    _, errors = model.error_rates(posterior)
    log_priors = np.log(np.maximum(np.nanmean(posterior, axis=0), DAWID_SKENE_FLOOR))
    # Items without a posterior get NaN throughout, which no comparison below passes.
    log_errors = np.full((len(items), CODES), np.nan)
    log_errors[known] = model.vote_log_errors(errors)
    by_item = np.stack([np.bincount(items, weights=log_errors[:, k], minlength=n_items) for k in range(CODES)], axis=1)
    without = _normalised(log_priors + by_item[items] - log_errors)
    others = np.bincount(items, minlength=n_items)[items] - 1
    agreed = (others > 0) & (without.max(axis=1) > 0.5)
    return np.where(agreed, np.nan_to_num(without).argmax(axis=1), NO_LABEL).astype(np.int8)


def agreement(reviewers, agrees, n_reviewers, periods=None, n_periods=1):
    """(agreed, total) int [n_reviewers, n_periods]: per reviewer (and period), how many of their votes agree
    with a reference (the consensus, a golden answer) out of how many were compared."""
    periods = np.zeros(len(reviewers), dtype=np.int64) if periods is None else np.asarray(periods, dtype=np.int64)
    cells = np.asarray(reviewers, dtype=np.int64) * n_periods + periods
    size = n_reviewers * n_periods
    agreed = np.bincount(cells, weights=np.asarray(agrees, dtype=np.float64), minlength=size)
    total = np.bincount(cells, minlength=size)
    return agreed.astype(np.int64).reshape(n_reviewers, n_periods), total.reshape(n_reviewers, n_periods)


def pairwise_confusions(items, reviewers, codes, n_items, n_reviewers):
    """int [n_reviewers, n_reviewers, 3, 3]: for each pair of reviewers, how often the first said a and the
    second b on the items both decided; all pairs at once as one sparse product."""
    ones = np.ones(len(items), dtype=np.int64)
    columns = np.asarray(reviewers, dtype=np.int64) * CODES + np.asarray(codes, dtype=np.int64)
    votes = sparse.csr_matrix((ones, (items, columns)), shape=(n_items, n_reviewers * CODES))
    products = (votes.T @ votes).toarray().reshape(n_reviewers, CODES, n_reviewers, CODES)
    return products.transpose(0, 2, 1, 3)


def cohen_kappa(confusions):
    """Cohen's kappa of each confusion matrix (last two axes); NaN where no item is shared or chance is 1."""
    confusions = np.asarray(confusions, dtype=np.float64)
    n = confusions.sum(axis=(-2, -1))
    observed = np.trace(confusions, axis1=-2, axis2=-1)
    expected = (confusions.sum(axis=-1) * confusions.sum(axis=-2)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed, expected = observed / n, expected / n**2
        kappa = (observed - expected) / (1 - expected)
    return np.where((n > 0) & (expected < 1), kappa, np.nan)


def fleiss_kappa(counts):
    """Fleiss' kappa over the items with at least two votes, each item with its own number of raters; NaN when
    there are none or chance agreement is 1."""
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)
    counts, raters = counts[raters >= 2], raters[raters >= 2]
    if not len(counts):
        return float("nan")
    per_item = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / raters.sum()
    expected = (shares**2).sum()
    if expected >= 1:
        return float("nan")
    return float((per_item.mean() - expected) / (1 - expected))


DAY_SECONDS = 86_400
DAILY_UP_TO_DAYS = 92  # a longer span is shown per week: at most ~13 points a quarter instead of ~90
WEEK_DAYS = 7
EPOCH_TO_MONDAY = 3  # 1970-01-01 was a Thursday: shifting days by 3 makes weeks start on Mondays


def time_periods(seconds, daily_up_to_days=DAILY_UP_TO_DAYS):
    """(period of each time, number of periods, days per period, first period's first day) of Unix times in
    seconds (UTC): days where the times span at most `daily_up_to_days` days, else weeks from Monday. Days are
    counted from 1970-01-01; the periods run without gaps from the first time's to the last time's."""
    days = np.floor_divide(np.asarray(seconds, dtype=np.int64), DAY_SECONDS)
    if not len(days):
        return np.zeros(0, dtype=np.int64), 0, 1, 0
    daily = days.max() - days.min() < daily_up_to_days
    length, shift = (1, 0) if daily else (WEEK_DAYS, EPOCH_TO_MONDAY)
    buckets = (days + shift) // length
    first = int(buckets.min())
    return buckets - first, int(buckets.max()) - first + 1, length, first * length - shift
