"""Reads of quality control: agreement between a dataset's reviewers, with its consensus and with golden answers.

A dataset's reviewer verdicts are loaded as arrays in one query (no model instances: a million verdicts take
about a second) and handed to annotate.rules.
"""

from datetime import date, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Count, F, Func, IntegerField, Prefetch, Q, Value, When

from annotate import bulk, rules
from annotate.labelling import FIXED_SOURCES
from annotate.labels import DONT_KNOW_CODE, VERDICTS_BY_CODE
from annotate.models import LabelSource, ReviewerVerdict, ReviewItem, Rule, Verdict
from annotate.policies import policy_for
from consensus.models import GoldenItem

NO_CODE = rules.NO_LABEL  # no verdict: no label, no reference, no golden answer
UNIX_EPOCH = date(1970, 1, 1)


class UnixSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, as an integer: no datetime objects to build per row."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::bigint", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Julian day 2440587.5 is the Unix epoch.
        template = "CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)


def verdict_code(field, condition=None):
    """The annotate.rules code of a verdict column (3 for don't know), NO_CODE for unreviewed or where
    `condition` fails."""
    condition = condition or Q()
    return Case(
        *(When(condition & Q(**{field: value}), then=Value(code)) for code, value in enumerate(VERDICTS_BY_CODE)),
        default=Value(NO_CODE),
        output_field=IntegerField(),
    )


def dataset_verdicts(dataset):
    """(item id, reviewer id, verdict code, Unix seconds) of each of the dataset's reviewer verdicts."""
    return (
        ReviewerVerdict.objects.filter(item__dataset=dataset)
        .exclude(value=Verdict.UNREVIEWED)
        .annotate(code=verdict_code("value"), at=UnixSeconds("updated_at"))
        .values_list("item_id", "reviewer_id", "code", "at")
    )


def golden_verdicts(dataset):
    """(reviewer id, verdict code, answer code) of each reviewer verdict on the dataset's golden items."""
    return (
        ReviewerVerdict.objects.filter(item__dataset=dataset, item__golden__isnull=False)
        .annotate(code=verdict_code("value"), answer=verdict_code("item__golden__answer"))
        .values_list("reviewer_id", "code", "answer")
    )


def dataset_items(dataset):
    """(id, fixed label code, 1 where the consensus of its reviewers gave the label else 0, golden answer code,
    P(correct), P(wrong), P(unclear)) of each of the dataset's review items, by id. The fixed label is an
    adjudication's or a golden answer, else NO_CODE; the posterior is None where the consensus keeps none."""
    by_consensus = Case(
        When(source=LabelSource.CONSENSUS, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return (
        ReviewItem.objects.filter(dataset=dataset)
        .annotate(
            fixed=verdict_code("verdict", Q(source__in=FIXED_SOURCES)),
            by_consensus=by_consensus,
            answer=verdict_code("golden__answer"),
        )
        .order_by("pk")
        .values_list(
            "pk", "fixed", "by_consensus", "answer",
            "posterior__p_correct", "posterior__p_wrong", "posterior__p_unclear",
        )
    )  # fmt: skip


def _int_columns(rows, width):
    """The `width` integer columns (never null) of a values_list queryset as int64 arrays, from one query."""
    sql, params = rows.query.sql_with_params()
    return bulk.read_int_columns(sql, params, width).T


def _usernames(user_ids):
    names = dict(get_user_model().objects.filter(pk__in=user_ids.tolist()).values_list("pk", "username"))
    return [names[int(pk)] for pk in user_ids]


def _share(part, whole):
    return round(float(part) / float(whole), 4) if whole else None


def _number(value):
    """A float for JSON: NaN (undefined) becomes None."""
    return None if np.isnan(value) else round(float(value), 4)


def _golden_scores(reviewers, codes, answers, n_reviewers):
    """(right, answered) int [n_reviewers]: reviewers' decided verdicts on golden items (answer code >= 0) that
    match the answer, out of how many."""
    answered = (answers >= 0) & (codes != DONT_KNOW_CODE)
    right, total = rules.agreement(reviewers[answered], codes[answered] == answers[answered], n_reviewers)
    return right[:, 0], total[:, 0]


def golden_accuracy(dataset):
    """Each reviewer's accuracy on the dataset's golden items ("don't know" is no answer), by username."""
    reviewer_column, codes, answers = _int_columns(golden_verdicts(dataset), 3)
    reviewer_ids, reviewers = np.unique(reviewer_column, return_inverse=True)
    right, answered = _golden_scores(reviewers, codes, answers, len(reviewer_ids))
    dont_know = np.bincount(reviewers[codes == DONT_KNOW_CODE], minlength=len(reviewer_ids))
    rows = [
        {"reviewer": name, **_golden(right[i], answered[i]), "dont_know": int(dont_know[i])}
        for i, name in enumerate(_usernames(reviewer_ids))
    ]
    return sorted(rows, key=lambda row: row["reviewer"])


def dataset_agreement(dataset):
    """Agreement statistics of the dataset's reviewers, in four queries.

    Per reviewer: their verdicts, "don't know" answers, agreement with the consensus (overall and per period; see
    _references), reliability (the mean consensus posterior of their votes, where a posterior is known) and
    accuracy on golden items. Per dataset: Fleiss' kappa, Cohen's kappa of every pair of reviewers who share
    items, and agreement with the consensus per day, or per week over a longer span. "Don't know" is no vote.
    """
    item_ids, fixed, by_consensus, posterior, golden_answers = _item_arrays(dataset)
    rule = policy_for(dataset.pk).rule
    vote_items, reviewer_column, codes, seconds = _int_columns(dataset_verdicts(dataset), 4)
    reviewer_ids, reviewers = np.unique(reviewer_column, return_inverse=True)
    items = np.searchsorted(item_ids, vote_items)
    n_items, n_reviewers = len(item_ids), len(reviewer_ids)
    decided = codes != DONT_KNOW_CODE
    votes = items[decided], reviewers[decided], codes[decided]

    kappas, shared = _kappa_matrix(*votes, n_items, n_reviewers)
    counts = rules.vote_counts(votes[0], votes[2], n_items)
    reliability = rules.reviewer_reliability(posterior, *votes, n_reviewers)
    right, answered = _golden_scores(reviewers, codes, golden_answers[items], n_reviewers)

    reference = np.full(len(codes), NO_CODE)
    reference[decided] = _references(rule, fixed, by_consensus, posterior, *votes)
    compared = reference != NO_CODE
    periods, n_periods, period_days, first_day = rules.time_periods(seconds[compared])
    agreed, total = rules.agreement(
        reviewers[compared], codes[compared] == reference[compared], n_reviewers, periods, max(n_periods, 1)
    )
    agreed, total = agreed[:, :n_periods], total[:, :n_periods]

    names = _usernames(reviewer_ids)
    verdict_counts = np.bincount(reviewers, minlength=n_reviewers)
    dont_know = np.bincount(reviewers[~decided], minlength=n_reviewers)
    return {
        "dataset": dataset.name,
        "verdicts": int(len(codes)),
        "reviewers": [
            {
                "reviewer": names[i],
                "verdicts": int(verdict_counts[i]),
                "dont_know": int(dont_know[i]),
                "consensus": _agreement(agreed[i].sum(), total[i].sum()),
                "reliability": _number(reliability[i]),
                "golden": {
                    "right": int(right[i]),
                    "answered": int(answered[i]),
                    "accuracy": _share(right[i], answered[i]),
                },
                "over_time": {"agreed": agreed[i].tolist(), "compared": total[i].tolist()},
            }
            for i in range(n_reviewers)
        ],
        "consensus": _agreement(agreed.sum(), total.sum()),
        "golden": {
            "right": int(right.sum()),
            "answered": int(answered.sum()),
            "accuracy": _share(right.sum(), answered.sum()),
        },
        "fleiss_kappa": _number(rules.fleiss_kappa(counts)),
        "items_with_several_votes": int((counts.sum(axis=1) >= 2).sum()),
        "pairs": _pairs(names, kappas, shared),
        "over_time": {
            "period": "day" if period_days == 1 else "week",
            "starts": [
                (UNIX_EPOCH + timedelta(days=first_day + k * period_days)).isoformat() for k in range(n_periods)
            ],
            "agreed": agreed.sum(axis=0).tolist(),
            "compared": total.sum(axis=0).tolist(),
        },
    }


def _references(rule, fixed, by_consensus, posterior, items, reviewers, codes):
    """What each decided vote is compared with: the consensus without it. NO_CODE where there is none.

    - On an item with a fixed label (an adjudication or a golden answer), that label: no vote is part of it.
    - On an item whose label comes from its reviewers' consensus (they decided it; awaiting adjudication or not),
      the consensus of the other reviewers' decided votes on it under the dataset's rule
      (annotate.rules.consensus_without_each_vote): under unanimity the verdict all of them gave, under
      majority the verdict more than half of them gave, under Dawid-Skene the verdict whose posterior given
      their votes is over one half, with the reviewers' error rates that the items' stored posteriors imply.
      Where no other reviewer decided the item, or the others reach no consensus, the vote is not compared: a
      reviewer's own vote never counts as agreement with themselves.
    - Elsewhere (no label yet, or a single reviewer's), nothing.
    """
    reference = fixed[items]
    if rule == Rule.SINGLE:
        return reference
    without = rules.consensus_without_each_vote(items, reviewers, codes, len(fixed), rule, posterior)
    return np.where(by_consensus[items] == 1, without, reference)


def _agreement(agreed, compared):
    return {"agreed": int(agreed), "compared": int(compared), "rate": _share(agreed, compared)}


def _golden(right, answered):
    return {"right": int(right), "answered": int(answered), "accuracy": _share(right, answered)}


def _day(days_since_epoch):
    return (UNIX_EPOCH + timedelta(days=int(days_since_epoch))).isoformat()


def _item_arrays(dataset):
    """(ids in order, fixed label code, whether the consensus gave the label, consensus posterior [n, 3] with NaN
    where unknown, golden answer code) of the dataset's review items, from one query. A hundred thousand rows skip
    the ORM's per-value converters, which would take longer than the query."""
    sql, params = dataset_items(dataset).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ids, fixed, by_consensus, answers = (np.array([row[i] for row in rows], dtype=np.int64) for i in range(4))
    # None (no posterior) becomes NaN.
    posterior = np.array([row[4:] for row in rows], dtype=np.float64).reshape(-1, rules.CODES)
    return ids, fixed, by_consensus, posterior, answers


def _kappa_matrix(items, reviewers, codes, n_items, n_reviewers):
    """(Cohen's kappa, shared items) [n_reviewers, n_reviewers] of every pair of reviewers."""
    confusions = rules.pairwise_confusions(items, reviewers, codes, n_items, n_reviewers)
    return rules.cohen_kappa(confusions), confusions.sum(axis=(-2, -1))


def _pairs(names, kappas, shared):
    """Every pair of reviewers who decided the same items, most shared items first."""
    first, second = np.triu_indices(len(names), k=1)
    together = shared[first, second] > 0
    first, second = first[together], second[together]
    order = np.lexsort((second, first, -shared[first, second]))
    return [
        {"reviewers": [names[a], names[b]], "shared": int(shared[a, b]), "kappa": _number(kappas[a, b])}
        for a, b in zip(first[order], second[order], strict=True)
    ]


def golden_items(dataset):
    """The dataset's golden items with their image and how many reviewers answered them and how many rightly
    ("don't know" is no answer), in image order."""
    return _golden_with_counts().filter(item__dataset=dataset).order_by("item__image__position", "item__wnid")


def golden_item(item_id):
    """One golden item as golden_items gives them, with each reviewer's answer (see with_answers); None where the
    item is not golden."""
    return with_answers(_golden_with_counts().filter(item_id=item_id)).first()


def _golden_with_counts():
    decided = Q(item__reviewer_verdicts__value__in=VERDICTS_BY_CODE[:DONT_KNOW_CODE])
    return GoldenItem.objects.select_related("item__image", "created_by").annotate(
        answered=Count("item__reviewer_verdicts", filter=decided),
        right=Count("item__reviewer_verdicts", filter=decided & Q(item__reviewer_verdicts__value=F("answer"))),
    )


def with_answers(golden):
    """Golden items (a queryset) with each reviewer's current verdict on them in `item.answers`, oldest first."""
    answers = ReviewerVerdict.objects.select_related("reviewer").order_by("updated_at", "pk")
    return golden.prefetch_related(Prefetch("item__reviewer_verdicts", queryset=answers, to_attr="answers"))
