"""Agreement between reviewers: the numeric rules, the statistics of a dataset, its API and its page."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from sklearn.metrics import cohen_kappa_score

from accounts import roles
from annotate import labelling, rules
from annotate.models import ReviewItem
from annotate.services import set_verdict
from consensus import services
from consensus.agreement import dataset_agreement, dataset_items, dataset_verdicts, golden_items, golden_verdicts
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user

C, W, U = rules.CORRECT, rules.WRONG, rules.UNCLEAR
DAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday


# --- annotate.rules --------------------------------------------------------------------------------------------


def plain_cohen_kappa(first, second):
    """Cohen's kappa of two raters' labels of the same items, straight from its definition."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    expected = sum((first.count(code) / n) * (second.count(code) / n) for code in range(rules.CODES))
    return (observed - expected) / (1 - expected)


def plain_fleiss_kappa(votes_per_item):
    """Fleiss' kappa of items rated by varying numbers of raters (lists of codes), straight from its definition."""
    rated = [votes for votes in votes_per_item if len(votes) >= 2]
    agreement_per_item = [
        sum(votes.count(code) * (votes.count(code) - 1) for code in range(rules.CODES))
        / (len(votes) * (len(votes) - 1))
        for votes in rated
    ]
    all_votes = [code for votes in rated for code in votes]
    expected = sum((all_votes.count(code) / len(all_votes)) ** 2 for code in range(rules.CODES))
    return (sum(agreement_per_item) / len(rated) - expected) / (1 - expected)


# Three reviewers' votes on six items (item, reviewer, code); reviewer 2 skips item 5, reviewer 0 item 4.
HAND_MADE_VOTES = [
    (0, 0, C), (0, 1, C), (0, 2, C),
    (1, 0, W), (1, 1, W), (1, 2, C),
    (2, 0, C), (2, 1, W), (2, 2, W),
    (3, 0, U), (3, 1, W), (3, 2, U),
    (4, 1, C), (4, 2, W),
    (5, 0, W), (5, 1, W),
]  # fmt: skip


def hand_made():
    items, reviewers, codes = (np.array(column) for column in zip(*HAND_MADE_VOTES, strict=True))
    return items, reviewers, codes


def labels_of(reviewer, shared_with):
    """The codes a reviewer gave to the items another reviewer also decided, in item order."""
    mine = {item: code for item, who, code in HAND_MADE_VOTES if who == reviewer}
    theirs = {item for item, who, _ in HAND_MADE_VOTES if who == shared_with}
    return [mine[item] for item in sorted(mine) if item in theirs]


@pytest.mark.parametrize("pair", [(0, 1), (0, 2), (1, 2)])
def test_cohen_kappa_of_every_pair_matches_its_definition_and_sklearn(pair):
    kappas = rules.cohen_kappa(rules.pairwise_confusions(*hand_made(), 6, 3))
    first, second = labels_of(*pair), labels_of(*reversed(pair))
    assert kappas[pair] == pytest.approx(plain_cohen_kappa(first, second))
    assert kappas[pair] == pytest.approx(cohen_kappa_score(first, second))
    assert kappas[pair[::-1]] == pytest.approx(kappas[pair])


def test_cohen_kappa_is_one_for_identical_raters_and_undefined_without_shared_items():
    items, reviewers, codes = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 2]), np.array([C, C, W, W, U])
    kappas = rules.cohen_kappa(rules.pairwise_confusions(items, reviewers, codes, 3, 3))
    assert kappas[0, 1] == pytest.approx(1.0)
    assert np.isnan(kappas[0, 2]) and np.isnan(kappas[1, 2])


def test_fleiss_kappa_matches_its_definition_with_varying_raters_per_item():
    items, _, codes = hand_made()
    per_item = [[int(code) for item, code in zip(items, codes, strict=True) if item == i] for i in range(6)]
    assert rules.fleiss_kappa(rules.vote_counts(items, codes, 6)) == pytest.approx(plain_fleiss_kappa(per_item))


def test_fleiss_kappa_of_perfect_agreement_is_one_and_of_one_rater_undefined():
    counts = np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3]])
    assert rules.fleiss_kappa(counts) == pytest.approx(1.0)
    assert np.isnan(rules.fleiss_kappa(np.array([[1, 0, 0], [0, 1, 0]])))


def plain_consensus_without(votes, rule):
    """{(item, reviewer): the consensus of the other reviewers' votes on the item} under unanimity or majority,
    where they reach one, one vote at a time."""
    result = {}
    for item, reviewer, _ in votes:
        others = [code for i, r, code in votes if i == item and r != reviewer]
        if not others:
            continue
        top = max(set(others), key=others.count)
        if others.count(top) == len(others) if rule == rules.UNANIMITY else 2 * others.count(top) > len(others):
            result[(item, reviewer)] = top
    return result


def plain_dawid_skene_without(votes, posterior):
    """{(item, reviewer): the verdict whose Dawid-Skene posterior given the other votes on the item is over one
    half}, one vote at a time: priors and each reviewer's error rates from `posterior` (one M-step, floored as
    crowd-kit floors them), then the posterior of the item from the other votes alone."""
    floor = rules.DAWID_SKENE_FLOOR
    priors = [max(float(np.mean(posterior[:, k])), floor) for k in range(rules.CODES)]

    def error(reviewer, code, true):
        given = {c for _, r, c in votes if r == reviewer}
        mass = {c: max(sum(posterior[i][true] for i, r, v in votes if r == reviewer and v == c), floor) for c in given}
        return mass[code] / sum(mass.values())

    result = {}
    for item, reviewer, _ in votes:
        others = [(r, code) for i, r, code in votes if i == item and r != reviewer]
        if not others:
            continue
        joint = [priors[k] * np.prod([error(r, code, k) for r, code in others]) for k in range(rules.CODES)]
        best = max(range(rules.CODES), key=lambda k: joint[k])
        if joint[best] / sum(joint) > 0.5:
            result[(item, reviewer)] = best
    return result


def as_votes(without, votes):
    """The references of consensus_without_each_vote as {(item, reviewer): code}, none where there is none."""
    return {(item, reviewer): int(code) for (item, reviewer, _), code in zip(votes, without, strict=True) if code >= 0}


@pytest.mark.parametrize("rule", [rules.UNANIMITY, rules.MAJORITY])
def test_consensus_without_each_vote_matches_a_plain_loop(rule):
    without = rules.consensus_without_each_vote(*hand_made(), 6, rule)
    expected = plain_consensus_without(HAND_MADE_VOTES, rule)
    assert as_votes(without, HAND_MADE_VOTES) == expected
    # Item 1 (wrong, wrong, correct): with every vote the label is wrong, but the two who said wrong are each
    # compared with one wrong and one correct, no majority; only the dissenter is compared, and disagrees.
    if rule == rules.MAJORITY:
        assert {key: code for key, code in expected.items() if key[0] == 1} == {(1, 2): W}
    # Item 4 (correct, wrong): each reviewer against the other alone.
    assert expected[(4, 1)] == W and expected[(4, 2)] == C


def test_consensus_without_each_vote_under_dawid_skene_matches_a_plain_loop():
    items, reviewers, codes = hand_made()
    posterior = rules.dawid_skene(items, reviewers, codes, 6)
    without = rules.consensus_without_each_vote(items, reviewers, codes, 6, rules.DAWID_SKENE, posterior)
    expected = plain_dawid_skene_without(HAND_MADE_VOTES, posterior)
    assert as_votes(without, HAND_MADE_VOTES) == expected
    # Item 5 (wrong, wrong) is wrong with both votes; without reviewer 0's, reviewer 1's wrong says nothing (they
    # say wrong whatever the truth), so reviewer 0 is not compared. Item 2 (correct, wrong, wrong) is correct:
    # reviewer 0, who is always right, outweighs the two others.
    assert posterior[5].argmax() == W and (5, 0) not in expected and expected[(5, 1)] == W
    assert expected[(2, 1)] == expected[(2, 2)] == C


def seconds(when):
    return int(when.timestamp())


def test_time_periods_are_days_over_a_short_span():
    times = [seconds(DAY + timedelta(days=offset, hours=hours)) for offset, hours in [(0, 0), (2, 13), (2, 1), (9, 0)]]
    periods, n_periods, days, first_day = rules.time_periods(times)
    assert (periods.tolist(), n_periods, days) == ([0, 2, 2, 9], 10, 1)
    assert first_day == (DAY.date() - datetime(1970, 1, 1).date()).days


def test_time_periods_are_weeks_from_monday_over_a_long_span():
    sunday, monday = DAY - timedelta(days=1), DAY
    times = [
        seconds(sunday),
        seconds(monday),
        seconds(monday + timedelta(days=6)),
        seconds(monday + timedelta(days=100)),
    ]
    periods, n_periods, days, first_day = rules.time_periods(times)
    assert (periods.tolist(), n_periods, days) == ([0, 1, 1, 15], 16, 7)
    first_monday = (sunday.date() - timedelta(days=6) - datetime(1970, 1, 1).date()).days
    assert first_day == first_monday


def test_time_periods_of_nothing():
    periods, n_periods, _, _ = rules.time_periods([])
    assert len(periods) == 0 and n_periods == 0


# --- consensus.agreement on a dataset ---------------------------------------------------------------------------

# Three reviewers, majority of three, on the first five review items: (item, verdicts of r1, r2, r3).
# Item 3 has no majority (adjudication); item 4 gets one decided vote, then a golden answer.
VOTES = [
    ("correct", "correct", "correct"),
    ("wrong", "wrong", "correct"),
    ("correct", "wrong", "wrong"),
    ("unclear", "wrong", "correct"),
    ("correct", "dont_know", None),
]


@pytest.fixture
def voted(db, image_folder, tmp_path):
    """The review-set dataset under majority of three with VOTES: reviewer k votes on day k (r1 on DAY)."""
    dataset = build_dataset(image_folder, tmp_path)
    labelling.set_policy(dataset=dataset, rule="majority", overlap=3)
    reviewers = [make_user(f"r{k}", roles.REVIEWER) for k in (1, 2, 3)]
    items = list(ReviewItem.objects.filter(dataset=dataset).order_by("pk"))[: len(VOTES)]
    for item, verdicts in zip(items, VOTES, strict=True):
        for day, (reviewer, value) in enumerate(zip(reviewers, verdicts, strict=True)):
            if value:
                set_verdict(item_id=item.pk, reviewer=reviewer, value=value, at=DAY + timedelta(days=day))
    services.mark_golden(item_id=items[4].pk, answer="correct", user=make_user("ada", roles.ADMIN))
    return dataset, items


def by_reviewer(stats):
    return {row["reviewer"]: row for row in stats["reviewers"]}


CODES = {"correct": C, "wrong": W, "unclear": U}


def decided_votes(items=None):
    """(item, reviewer, code) of the decided votes of VOTES, items numbered as in `items` (else from 0), reviewers
    from 1."""
    return [
        (item, reviewer, CODES[value])
        for item, verdicts in zip(items or range(len(VOTES)), VOTES, strict=True)
        for reviewer, value in enumerate(verdicts, start=1)
        if value in CODES
    ]


def plain_agreement(votes, others, fixed):
    """{reviewer name: (agreed, compared)}, one vote at a time: a vote on an item with a fixed label ({item: code})
    is compared with it, any other with the consensus of the other votes ({(item, reviewer): code}) where there is
    one."""
    result = {}
    for item, reviewer, code in votes:
        reference = fixed.get(item, others.get((item, reviewer)))
        if reference is not None:
            agreed, compared = result.get(f"r{reviewer}", (0, 0))
            result[f"r{reviewer}"] = (agreed + (code == reference), compared + 1)
    return result


def consensus_figures(stats):
    return {row["reviewer"]: (row["consensus"]["agreed"], row["consensus"]["compared"]) for row in stats["reviewers"]}


def test_verdict_counts_and_agreement_with_consensus(voted):
    dataset, items = voted
    stats = dataset_agreement(dataset)
    rows = by_reviewer(stats)
    assert [(name, rows[name]["verdicts"], rows[name]["dont_know"]) for name in rows] == [
        ("r1", 5, 0),
        ("r2", 5, 1),
        ("r3", 4, 0),
    ]
    votes = decided_votes()
    assert consensus_figures(stats) == plain_agreement(votes, plain_consensus_without(votes, rules.MAJORITY), {4: C})
    # Each vote is compared with the majority of the two others: on items 1 and 2 (two against one) only the
    # dissenter is, on item 3 (all differ) nobody; item 4's golden answer is r1's reference. Against the labels,
    # their own vote in them, the figures were 3/4, 3/3 and 2/3.
    assert rows["r1"]["consensus"] == {"agreed": 2, "compared": 3, "rate": round(2 / 3, 4)}
    assert rows["r2"]["consensus"] == {"agreed": 1, "compared": 1, "rate": 1.0}
    assert rows["r3"]["consensus"] == {"agreed": 1, "compared": 2, "rate": 0.5}
    assert stats["consensus"] == {"agreed": 4, "compared": 6, "rate": round(4 / 6, 4)}
    assert stats["verdicts"] == 14


def test_under_unanimity_the_others_can_agree_on_an_item_that_awaits_adjudication(voted):
    dataset, _ = voted
    labelling.set_policy(dataset=dataset, rule="unanimity", overlap=3)
    votes = decided_votes()
    expected = plain_agreement(votes, plain_consensus_without(votes, rules.UNANIMITY), {4: C})
    # Items 1 and 2 await adjudication, but the two who agree there are each other's consensus against the
    # dissenter. Against the labels only item 0 and the golden item counted: everybody agreed every time.
    assert consensus_figures(dataset_agreement(dataset)) == expected == {"r1": (2, 3), "r2": (1, 1), "r3": (1, 2)}


def test_under_dawid_skene_the_consensus_without_a_vote_comes_from_the_stored_posteriors(voted):
    dataset, items = voted
    labelling.set_policy(dataset=dataset, rule="dawid_skene", overlap=3)
    rows = (
        ReviewItem.objects.filter(dataset=dataset, posterior__isnull=False)
        .order_by("pk")
        .values_list("pk", "posterior__p_correct", "posterior__p_wrong", "posterior__p_unclear")
    )
    index = {pk: i for i, (pk, *_) in enumerate(rows)}
    posterior = np.array([shares for _, *shares in rows])
    votes = decided_votes([index[item.pk] for item in items])
    expected = plain_agreement(votes, plain_dawid_skene_without(votes, posterior), {index[items[4].pk]: C})
    # Against the labels, their own vote in them, the figures were 4/5, 3/4 and 2/4.
    assert consensus_figures(dataset_agreement(dataset)) == expected == {"r1": (2, 3), "r2": (2, 4), "r3": (1, 4)}


def test_an_adjudicated_item_becomes_a_reference(voted):
    dataset, items = voted
    services.adjudicate(item_id=items[3].pk, adjudicator=make_user("sam", roles.ADMIN), value="unclear")
    votes = decided_votes()
    expected = plain_agreement(votes, plain_consensus_without(votes, rules.MAJORITY), {3: U, 4: C})
    assert consensus_figures(dataset_agreement(dataset)) == expected == {"r1": (3, 4), "r2": (1, 2), "r3": (1, 3)}


def test_kappas_of_the_dataset_match_sklearn_and_their_definition(voted):
    dataset, _ = voted
    stats = dataset_agreement(dataset)
    codes = {"correct": C, "wrong": W, "unclear": U}
    columns = list(zip(*VOTES, strict=True))
    for pair in stats["pairs"]:
        first, second = (int(name[1]) - 1 for name in pair["reviewers"])
        shared = [
            (codes[a], codes[b])
            for a, b in zip(columns[first], columns[second], strict=True)
            if a in codes and b in codes
        ]
        assert pair["shared"] == len(shared) == 4
        assert pair["kappa"] == pytest.approx(cohen_kappa_score(*zip(*shared, strict=True)), abs=1e-4)
    assert [pair["reviewers"] for pair in stats["pairs"]] == [["r1", "r2"], ["r1", "r3"], ["r2", "r3"]]
    per_item = [[codes[value] for value in verdicts if value in codes] for verdicts in VOTES]
    assert stats["fleiss_kappa"] == pytest.approx(plain_fleiss_kappa(per_item), abs=1e-4)
    assert stats["items_with_several_votes"] == 4


def test_reliability_is_the_mean_vote_share_of_a_reviewers_votes(voted):
    rows = by_reviewer(dataset_agreement(voted[0]))
    # Majority keeps the vote shares as the posterior: r2's votes have shares 1, 2/3, 2/3, 1/3 of their items.
    assert rows["r2"]["reliability"] == pytest.approx((1 + 2 / 3 + 2 / 3 + 1 / 3) / 4, abs=1e-4)
    assert rows["r3"]["reliability"] == pytest.approx((1 + 1 / 3 + 2 / 3 + 1 / 3) / 4, abs=1e-4)


def test_golden_accuracy_leaves_dont_know_out(voted):
    stats = dataset_agreement(voted[0])
    rows = by_reviewer(stats)
    assert rows["r1"]["golden"] == {"right": 1, "answered": 1, "accuracy": 1.0}
    assert rows["r2"]["golden"] == {"right": 0, "answered": 0, "accuracy": None}
    assert stats["golden"] == {"right": 1, "answered": 1, "accuracy": 1.0}


def test_agreement_over_time_per_day(voted):
    stats = dataset_agreement(voted[0])
    over_time = stats["over_time"]
    assert over_time["period"] == "day"
    assert over_time["starts"] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert (over_time["agreed"], over_time["compared"]) == ([2, 1, 1], [3, 1, 2])
    assert by_reviewer(stats)["r2"]["over_time"] == {"agreed": [0, 1, 0], "compared": [0, 1, 0]}


def test_a_dataset_without_verdicts_has_empty_statistics(db, image_folder, tmp_path):
    stats = dataset_agreement(build_dataset(image_folder, tmp_path))
    assert stats["reviewers"] == [] and stats["pairs"] == [] and stats["verdicts"] == 0
    assert stats["fleiss_kappa"] is None and stats["consensus"]["rate"] is None
    assert stats["over_time"] == {"period": "day", "starts": [], "agreed": [], "compared": []}


# --- API and page -----------------------------------------------------------------------------------------------


def add_reviewer_votes(dataset, name, value="correct"):
    """One more reviewer who votes on every item of the dataset."""
    reviewer = make_user(name, roles.REVIEWER)
    for item in ReviewItem.objects.filter(dataset=dataset):
        set_verdict(item_id=item.pk, reviewer=reviewer, value=value, at=DAY + timedelta(days=30))


def test_agreement_api_for_admins_only(client, voted):
    dataset, _ = voted
    client.force_login(make_user("rex", roles.REVIEWER))
    assert client.get(f"/api/datasets/{dataset.name}/agreement/").status_code == 403
    client.force_login(make_user("adam", roles.ADMIN))
    body = client.get(f"/api/datasets/{dataset.name}/agreement/").json()
    assert [row["reviewer"] for row in body["reviewers"]] == ["r1", "r2", "r3"]
    assert (body["pairs"][0]["reviewers"], body["pairs"][0]["shared"]) == (["r1", "r2"], 4)
    assert client.get("/api/datasets/nope/agreement/").status_code == 404


@pytest.mark.parametrize("url", ["/api/datasets/{}/agreement/", "/datasets/{}/agreement/"])
def test_agreement_reads_take_the_same_few_queries_whatever_the_data(client, voted, url):
    dataset, _ = voted
    client.force_login(make_user("adam", roles.ADMIN))
    with CaptureQueriesContext(connection) as small:
        assert client.get(url.format(dataset.name)).status_code == 200
    for name in ("r4", "r5", "r6"):
        add_reviewer_votes(dataset, name)
    with CaptureQueriesContext(connection) as larger:
        assert client.get(url.format(dataset.name)).status_code == 200
    # Session, user, roles, dataset; then items, policy, verdicts and usernames.
    assert len(larger) == len(small) == 8


def plan_of(rows):
    """PostgreSQL's plan of a queryset where it may not scan whole tables; skips elsewhere."""
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = rows.explain()
        cursor.execute("SET enable_seqscan = on")
    return plan


@pytest.mark.parametrize("rows", [dataset_items, dataset_verdicts, golden_verdicts, golden_items])
def test_quality_queries_use_indexes(voted, rows):
    plan = plan_of(rows(voted[0]))
    assert "Seq Scan" not in plan


def test_agreement_page_shows_statistics_matrix_and_chart_data(client, voted):
    dataset, _ = voted
    client.force_login(make_user("adam", roles.ADMIN))
    response = client.get(f"/datasets/{dataset.name}/agreement/")
    html = response.content.decode()
    first_row = response.context["matrix"][0]
    assert first_row["reviewer"] == "r1" and first_row["cells"][0]["diagonal"]
    assert first_row["cells"][1]["pair"]["reviewers"] == ["r1", "r2"]
    assert 'data-testid="kappa-matrix"' in html and 'id="agreement-over-time"' in html
    assert 'data-reviewer="r2"' in html and "frontend/agreement.js" in html


def test_agreement_page_with_many_reviewers_lists_top_pairs(client, voted):
    dataset, _ = voted
    for k in range(4, 15):
        add_reviewer_votes(dataset, f"r{k}", value="wrong" if k % 2 else "correct")
    client.force_login(make_user("adam", roles.ADMIN))
    response = client.get(f"/datasets/{dataset.name}/agreement/")
    assert "matrix" not in response.context
    assert len(response.context["top_pairs"]) == 40
    assert 'data-testid="kappa-pairs"' in response.content.decode()


def test_agreement_page_empty_states(client, db, image_folder, tmp_path):
    dataset = build_dataset(image_folder, tmp_path)
    client.force_login(make_user("adam", roles.ADMIN))
    assert 'data-testid="empty-agreement"' in client.get(f"/datasets/{dataset.name}/agreement/").content.decode()
    # One reviewer per item: verdicts, but neither consensus nor shared items.
    item = ReviewItem.objects.filter(dataset=dataset).first()
    set_verdict(item_id=item.pk, reviewer=make_user("rex", roles.REVIEWER), value="correct")
    html = client.get(f"/datasets/{dataset.name}/agreement/").content.decode()
    assert 'data-testid="empty-over-time"' in html and 'data-testid="empty-kappas"' in html


def test_agreement_page_is_for_admins(client, voted):
    dataset, _ = voted
    url = f"/datasets/{dataset.name}/agreement/"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(make_user("rex", roles.REVIEWER))
    assert client.get(url).status_code == 403


# --- in the browser ---------------------------------------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_agreement_page_in_the_browser(logged_in_page, voted):
    page = logged_in_page(make_user("adam", roles.ADMIN))
    page.goto(f"/datasets/{DATASET}/")
    page.locator("[data-testid=quality-links]").get_by_role("link", name="Agreement between reviewers").click()
    page.wait_for_url(f"**/datasets/{DATASET}/agreement/")
    summary = page.locator("[data-testid=agreement-summary]")
    assert summary.locator("[data-figure=reviewers]").inner_text() == "3"
    assert summary.locator("[data-figure=consensus]").inner_text() == "67%"

    table = page.locator("[data-testid=reviewer-stats]")
    reviewers = table.locator("tbody tr")
    assert reviewers.evaluate_all("rows => rows.map(row => row.dataset.reviewer)") == ["r1", "r2", "r3"]
    table.get_by_role("button", name="Agreement with consensus").click()
    assert reviewers.evaluate_all("rows => rows.map(row => row.dataset.reviewer)") == ["r2", "r1", "r3"]
    table.get_by_role("button", name="Agreement with consensus").click()
    assert reviewers.evaluate_all("rows => rows.map(row => row.dataset.reviewer)") == ["r3", "r1", "r2"]
    assert table.locator("th[aria-sort=ascending]").text_content() == "Agreement with consensus"

    chart = page.locator("[data-line-chart]")
    assert chart.locator("circle.line-chart__dot").count() == 3
    assert "65%" in chart.locator(".line-chart__axis").all_text_contents()
    page.locator("[data-compare-reviewer]").select_option("r2")
    assert chart.locator("circle.line-chart__dot--compare").count() == 1
    assert "r2, Mar 3, 2026: 100% of 1 votes" in chart.locator("circle.line-chart__dot--compare title").text_content()
    assert page.locator("[data-chart-legend] li").all_inner_texts() == ["All reviewers", "r2"]

    matrix = page.locator("[data-testid=kappa-matrix]")
    assert matrix.locator("tbody tr").count() == 3
    assert matrix.locator("td.kappa[title='4 shared items']").count() == 6
