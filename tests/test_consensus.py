"""Several reviewers per item: consensus rules, Dawid-Skene, the review loop under a policy, adjudication,
aggregate and import_votes."""

import io
import json
import warnings

import numpy as np
import pytest
from django.core.management import CommandError, call_command

import taxonomy
from annotate import labelling, rules
from annotate import selectors as annotate_selectors
from annotate import services as review_services
from annotate.errors import ImportFailed
from annotate.image_import import import_image_folder
from annotate.models import (
    ConsensusPolicy,
    ConsensusPosterior,
    Dataset,
    Image,
    ReviewerVerdict,
    ReviewItem,
    VerdictChange,
)
from consensus import services
from consensus.models import Adjudication
from interchange.votes import import_votes, read_real_raters
from tests.conftest import BROWSER_DB, make_user, shared_data
from tests.wnids import CHIHUAHUA, GOLDFISH, TENCH

C, W, U = rules.CORRECT, rules.WRONG, rules.UNCLEAR


# The rules, against answers worked out by hand.


def test_vote_counts_and_shares():
    counts = rules.vote_counts([0, 0, 0, 2], [C, C, W, U], 3)
    assert counts.tolist() == [[2, 1, 0], [0, 0, 0], [0, 0, 1]]
    shares = rules.vote_shares(counts)
    assert shares[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    assert np.isnan(shares[1]).all()


@pytest.mark.parametrize(
    ("rule", "votes", "overlap", "label", "adjudicate"),
    [
        ("majority", [C, C, W], 3, C, False),
        ("majority", [C, W, U], 3, U, True),  # no verdict has more than half
        ("majority", [C, C, W, W], 3, U, True),  # a tie is no majority
        ("majority", [U, U, C], 3, U, False),  # a majority for unclear is a consensus
        ("majority", [C, C], 3, rules.NO_LABEL, False),  # too few votes: still unreviewed
        ("unanimity", [C, C, C], 3, C, False),
        ("unanimity", [C, C, W], 3, U, True),
        ("unanimity", [W], 1, W, False),
    ],
)
def test_label_by_votes(rule, votes, overlap, label, adjudicate):
    counts = rules.vote_counts([0] * len(votes), votes, 1)
    labels, posterior, needs = rules.label_by_votes(counts, rule, overlap)
    assert labels[0] == label
    assert needs[0] == adjudicate
    assert posterior[0].sum() == pytest.approx(1)


def test_label_by_votes_refuses_an_unknown_rule():
    with pytest.raises(ValueError, match="unknown vote rule 'plurality'"):
        rules.label_by_votes(np.zeros((1, 3), int), "plurality", 1)


def test_label_by_posterior_and_real_validity():
    posterior = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.3, 0.1, 0.6], [np.nan] * 3, [0.4, 0.5, 0.1]])
    labels, needs = rules.label_by_posterior(posterior, np.array([5, 5, 5, 0, 1]), overlap=3)
    assert labels.tolist() == [C, U, U, rules.NO_LABEL, rules.NO_LABEL]
    assert needs.tolist() == [False, True, False, False, False]
    # Valid (ReaL) where P(correct) + P(unclear) / 2 > 1/2: 0.925, 0.55, 0.6, unknown, 0.45.
    assert rules.real_valid(posterior).tolist() == [True, True, True, False, False]


def simulated_crowd(seed=7, items=1500, reviewers=25, per_item=5):
    """Items with true labels and reviewers of known accuracy who answer the truth with that probability and
    otherwise one of the two other verdicts at random."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=items, p=[0.3, 0.6, 0.1])
    accuracy = np.linspace(0.45, 0.95, reviewers)
    item_index = np.repeat(np.arange(items), per_item)
    reviewer_index = np.concatenate([rng.choice(reviewers, per_item, replace=False) for _ in range(items)])
    right = rng.random(len(item_index)) < accuracy[reviewer_index]
    wrong_answer = (truth[item_index] + rng.integers(1, 3, len(item_index))) % 3
    codes = np.where(right, truth[item_index], wrong_answer)
    return truth, accuracy, item_index, reviewer_index, codes


def test_dawid_skene_recovers_reviewer_accuracy_and_beats_majority():
    truth, accuracy, items, reviewers, codes = simulated_crowd()
    posterior = rules.dawid_skene(items, reviewers, codes, len(truth))
    estimated = rules.reviewer_reliability(posterior, items, reviewers, codes, len(accuracy))
    assert np.abs(estimated - accuracy).max() < 0.08
    assert np.corrcoef(estimated, accuracy)[0, 1] > 0.97
    ds_labels = posterior.argmax(axis=1)
    majority_labels, _, _ = rules.label_by_votes(rules.vote_counts(items, codes, len(truth)), "majority", 1)
    ds_accuracy = (ds_labels == truth).mean()
    majority_accuracy = (majority_labels == truth).mean()
    assert ds_accuracy > majority_accuracy + 0.03, (ds_accuracy, majority_accuracy)


def crowd_kit_posterior(items, reviewers, codes, n_items):
    """crowd-kit's DawidSkene on the same votes, as float [n_items, 3] with NaN for items without votes: the
    reference our numpy version reproduces (a development dependency only)."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        probas = DawidSkene(n_iter=100).fit(pd.DataFrame({"task": items, "worker": reviewers, "label": codes})).probas_
    posterior = np.full((n_items, rules.CODES), np.nan)
    posterior[probas.index.to_numpy()] = probas.reindex(columns=range(rules.CODES), fill_value=0.0).to_numpy()
    return posterior


@pytest.mark.parametrize(
    "crowd",
    [
        pytest.param(simulated_crowd(), id="simulated"),
        # Items without votes, reviewers who only ever give one verdict, and no "unclear" anywhere.
        pytest.param(
            (
                None,
                None,
                np.array([0, 0, 0, 2, 2, 5, 5, 5]),
                np.array([0, 1, 2, 0, 1, 0, 1, 2]),
                np.array([0, 1, 0, 1, 1, 0, 0, 1]),
            ),
            id="sparse",
        ),
    ],
)
def test_dawid_skene_gives_crowd_kits_posteriors(crowd):
    _, _, items, reviewers, codes = crowd
    n_items = int(items.max()) + 2
    ours = rules.dawid_skene(items, reviewers, codes, n_items)
    reference = crowd_kit_posterior(items, reviewers, codes, n_items)
    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    assert np.nanmax(np.abs(ours - reference)) < 1e-6


def test_dawid_skene_gives_crowd_kits_posteriors_on_the_real_rater_votes():
    path = shared_data("real-raters/raters.npz")
    if path is None:
        pytest.skip("the ReaL rater votes (../shared/data/real-raters) are absent")
    _, _, _, (reviewers, items, answers) = read_real_raters(path)
    codes = np.array([W, U, C])[answers]  # the raters answered no / maybe / yes
    n_items = int(items.max()) + 1
    ours = rules.dawid_skene(items, reviewers, codes, n_items)
    assert np.nanmax(np.abs(ours - crowd_kit_posterior(items, reviewers, codes, n_items))) < 1e-6


def test_agreement_counts_per_reviewer_and_period():
    agreed, total = rules.agreement([0, 0, 1, 1, 1], [1, 0, 1, 1, 0], 3, periods=[0, 1, 1, 1, 0], n_periods=2)
    assert agreed.tolist() == [[1, 0], [0, 2], [0, 0]]
    assert total.tolist() == [[1, 1], [1, 2], [0, 0]]


# The review loop under a policy.


@pytest.fixture
def crew(db):
    return [make_user(f"r{i}", "reviewer") for i in range(3)]


def item(file_name, wnid):
    return ReviewItem.objects.get(image__file_name=file_name, wnid=wnid)


def vote(reviewer, target, value):
    return review_services.set_verdict(item_id=target.pk, reviewer=reviewer, value=value)


def test_majority_of_three_labels_an_item_once_three_reviewers_decided(one_model_dataset, crew):
    labelling.set_policy(dataset=one_model_dataset, rule="majority", overlap=3)
    target = item("a.JPEG", GOLDFISH)
    vote(crew[0], target, "correct")
    vote(crew[1], target, "dont_know")  # no vote
    target.refresh_from_db()
    assert target.verdict == "unreviewed" and target.image.pending_items > 0
    vote(crew[1], target, "correct")
    target.refresh_from_db()
    assert target.verdict == "unreviewed"
    vote(crew[2], target, "wrong")
    target.refresh_from_db()
    assert (target.verdict, target.source, target.needs_adjudication) == ("correct", "consensus", False)
    assert target.posterior.p_correct == pytest.approx(2 / 3)
    assert ReviewerVerdict.objects.filter(item=target).count() == 3
    # Each reviewer's change records the reviewer's own verdict it replaced.
    assert list(VerdictChange.objects.filter(item=target, reviewer=crew[1]).values_list("old", "new")) == [
        ("unreviewed", "dont_know"),
        ("dont_know", "correct"),
    ]
    vote(crew[1], target, "wrong")  # a changed mind turns the majority
    target.refresh_from_db()
    assert target.verdict == "wrong"


def test_disagreement_goes_to_adjudication_and_the_decision_sticks(one_model_dataset, crew, admin_user):
    labelling.set_policy(dataset=one_model_dataset, rule="unanimity", overlap=2)
    target = item("a.JPEG", GOLDFISH)
    vote(crew[0], target, "correct")
    vote(crew[1], target, "wrong")
    target.refresh_from_db()
    assert (target.verdict, target.needs_adjudication) == ("unclear", True)
    services.adjudicate(item_id=target.pk, adjudicator=admin_user, value="correct", note="clearly a goldfish")
    target.refresh_from_db()
    assert (target.verdict, target.source, target.needs_adjudication) == ("correct", "adjudication", False)
    assert Adjudication.objects.get(item=target).note == "clearly a goldfish"
    history = annotate_selectors.image_history(target.image)
    assert [(entry["kind"], entry["reviewer"], entry["new"]) for entry in history] == [
        ("verdict", "r0", "correct"),
        ("verdict", "r1", "wrong"),
        ("adjudication", "ada", "correct"),
    ]
    vote(crew[2], target, "wrong")
    labelling.aggregate(dataset=one_model_dataset)
    target.refresh_from_db()
    assert (target.verdict, target.source) == ("correct", "adjudication")


def test_reviewers_answer_blind_and_get_only_images_they_have_not_answered(client, one_model_dataset, crew):
    labelling.set_policy(dataset=one_model_dataset, rule="majority", overlap=2)
    client.force_login(crew[0])
    first = client.get("/api/review/next/", {"dataset": "val"}).json()
    for candidate in first["items"]:
        client.post(f"/api/review-items/{candidate['id']}/verdict/", {"verdict": "correct"})
    client.force_login(crew[1])
    seen = client.get(f"/api/images/{first['id']}/").json()
    # crew[1] sees no one's verdict: the items are unreviewed for them, and nobody's name is shown.
    assert {c["verdict"] for c in seen["items"]} == {"unreviewed"}
    assert {c["verdict_by"] for c in seen["items"]} == {None}
    client.force_login(crew[0])
    again = client.get("/api/review/next/", {"dataset": "val"}).json()
    assert again["id"] != first["id"]  # crew[0] answered every item of the first image
    mine = client.get(f"/api/images/{first['id']}/").json()
    assert {c["verdict"] for c in mine["items"]} == {"correct"}


def test_switching_rules_recomputes_labels_and_pending_counts(one_model_dataset, crew):
    target = item("b.JPEG", TENCH)
    vote(crew[0], target, "correct")
    assert Image.objects.get(file_name="b.JPEG").pending_items == 0
    summary = labelling.set_policy(dataset=one_model_dataset, rule="majority", overlap=2)
    target.refresh_from_db()
    assert target.verdict == "unreviewed"
    assert Image.objects.get(file_name="b.JPEG").pending_items == 1
    assert summary["labels"]["unreviewed"] == ReviewItem.objects.filter(dataset=one_model_dataset).count()
    vote(crew[1], target, "correct")
    summary = labelling.set_policy(dataset=one_model_dataset, rule="single", overlap=1)
    target.refresh_from_db()
    assert (target.verdict, target.verdict_by) == ("correct", crew[1])
    assert not ConsensusPosterior.objects.filter(item=target).exists()
    assert summary["changed_items"] == 1


def test_bad_policies_are_refused_with_what_is_wrong(one_model_dataset):
    for kwargs, message in [
        ({"rule": "plurality", "overlap": 3}, "unknown consensus rule 'plurality'"),
        ({"rule": "single", "overlap": 3}, "single-reviewer rule needs overlap 1"),
        ({"rule": "majority", "overlap": 0}, "overlap must be a whole number from 1 to 50"),
        ({"rule": "majority", "overlap": 3, "golden_rate": 2}, "golden rate must be between 0 and 1"),
    ]:
        with pytest.raises(labelling.ConsensusError, match=message):
            labelling.set_policy(dataset=one_model_dataset, **kwargs)
    assert not ConsensusPolicy.objects.exists()


def crowd_votes(dataset, crew, answers):
    """answers: {(file name, wnid): [verdict of crew[0], crew[1], ...]}"""
    for (file_name, wnid), verdicts in answers.items():
        target = item(file_name, wnid)
        for reviewer, value in zip(crew, verdicts, strict=False):
            vote(reviewer, target, value)


def test_aggregate_command_with_both_methods(one_model_dataset, crew):
    labelling.set_policy(dataset=one_model_dataset, rule="majority", overlap=3)
    crowd_votes(
        one_model_dataset,
        crew,
        {("a.JPEG", GOLDFISH): ["wrong", "wrong", "correct"], ("a.JPEG", TENCH): ["correct", "correct", "correct"]},
    )
    out = io.StringIO()
    call_command("aggregate", "--dataset", "val", "--method", "dawid-skene", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["rule"] == "dawid_skene" and summary["verdicts"] == 6
    assert item("a.JPEG", TENCH).verdict == "correct"
    call_command("aggregate", "--dataset", "val", "--method", "majority", stdout=io.StringIO())
    assert item("a.JPEG", GOLDFISH).verdict == "wrong"
    with pytest.raises(CommandError, match="dataset 'nope' does not exist"):
        call_command("aggregate", "--dataset", "nope")


def test_adjudication_api_lists_votes_and_records_the_decision(client, one_model_dataset, crew, admin_user, reviewer):
    labelling.set_policy(dataset=one_model_dataset, rule="majority", overlap=2)
    crowd_votes(one_model_dataset, crew, {("a.JPEG", GOLDFISH): ["correct", "wrong"]})
    client.force_login(reviewer)
    assert client.get("/api/datasets/val/adjudication/").status_code == 403
    client.force_login(admin_user)
    body = client.get("/api/datasets/val/adjudication/").json()
    assert body["remaining"] == 1
    (queued,) = body["items"]
    assert {(v["reviewer"], v["verdict"]) for v in queued["votes"]} == {("r0", "correct"), ("r1", "wrong")}
    assert queued["posterior"] == {"correct": 0.5, "wrong": 0.5, "unclear": 0.0}
    response = client.post(f"/api/review-items/{queued['id']}/adjudication/", {"verdict": "maybe"})
    assert response.status_code == 400 and "verdict" in response.json()
    response = client.post(f"/api/review-items/{queued['id']}/adjudication/", {"verdict": "wrong"})
    assert response.json()["verdict"] == "wrong"
    assert client.get("/api/datasets/val/adjudication/").json() == {"remaining": 0, "items": []}
    assert client.get("/api/datasets/val/consensus/").json()["rule"] == "majority"
    response = client.put("/api/datasets/val/consensus/", {"rule": "single", "overlap": 2}, "application/json")
    assert response.status_code == 400 and "overlap 1" in response.json()["detail"]


def test_adjudication_queue_uses_a_fixed_number_of_queries(
    client, one_model_dataset, crew, admin_user, django_assert_max_num_queries
):
    labelling.set_policy(dataset=one_model_dataset, rule="unanimity", overlap=2)
    crowd_votes(
        one_model_dataset, crew, {pair: ["correct", "wrong"] for pair in [("a.JPEG", GOLDFISH), ("a.JPEG", TENCH)]}
    )
    client.force_login(admin_user)
    first = client.get("/api/datasets/val/adjudication/", {"limit": 1}).json()["items"][0]
    # Session, user, roles, dataset, anchor, items, votes, count.
    with django_assert_max_num_queries(8):
        body = client.get("/api/datasets/val/adjudication/", {"after": first["id"]}).json()
    assert len(body["items"]) == 1 and body["items"][0]["id"] != first["id"]


# Raw votes from outside.


def raters_file(path, file_names, answers, classes=None):
    """A raters.npz like ReaL's: answers[r][q] is None (not asked) or 0/1/2 (no/maybe/yes)."""
    tensor = np.zeros((len(answers), len(file_names), 3))
    for r, row in enumerate(answers):
        for q, answer in enumerate(row):
            if answer is not None:
                tensor[r, q, answer] = 1
    classes = classes or [0] * len(file_names)
    info = np.array([[name, str(cls)] for name, cls in zip(file_names, classes, strict=True)])
    np.savez(path, tensor=tensor, info=info, ids=np.arange(100, 100 + len(answers)))
    return path


def test_import_votes_makes_reviewers_items_and_verdicts(one_model_dataset, tmp_path):
    path = raters_file(
        tmp_path / "raters.npz",
        ["a.JPEG", "a.JPEG", "c.JPEG"],
        [[2, 0, None], [2, 1, 2], [None, 0, 2], [2, None, 0]],
        classes=[0, 1, 151],  # tench, goldfish, Chihuahua
    )
    summary = import_votes(dataset_name="val", path=path, overlap=3)
    assert (summary["reviewers"], summary["verdicts_added"]) == (4, 9)
    assert item("a.JPEG", TENCH).verdict == "correct"  # yes, yes, yes
    assert item("a.JPEG", GOLDFISH).verdict == "wrong"  # no, maybe, no
    chihuahua = item("c.JPEG", CHIHUAHUA)
    assert (chihuahua.verdict, chihuahua.needs_adjudication) == ("correct", False)  # yes, yes, no
    assert VerdictChange.objects.filter(reviewer__username="rater-101").count() == 3
    again = import_votes(dataset_name="val", path=path, overlap=3)
    assert (again["verdicts_added"], again["verdicts_already_there"]) == (0, 9)


def test_the_items_votes_create_are_labelled_as_aggregate_labels_them(one_model_dataset, tmp_path):
    path = raters_file(
        tmp_path / "raters.npz",
        ["b.JPEG", "b.JPEG", "c.JPEG"],
        [[2, 0, 1], [2, 1, 1], [0, 0, None], [None, 2, 1]],
        classes=[4, 5, 6],  # hammerhead, electric ray, stingray: no item yet
    )
    summary = import_votes(dataset_name="val", path=path, overlap=3)
    assert summary["items_created"] == 3 and summary["consensus"]["changed_items"] == 0
    created = {item.wnid: item for item in ReviewItem.objects.filter(batch_id=summary["batch"])}
    hammerhead, ray, stingray = (created[taxonomy.wnid_for_index(index)] for index in (4, 5, 6))
    assert (hammerhead.verdict, hammerhead.source) == ("correct", "consensus")  # yes, yes, no
    assert (ray.verdict, ray.needs_adjudication) == ("unclear", True)  # no, maybe, no, yes: no majority
    assert stingray.verdict == "unclear"  # maybe, maybe, maybe
    assert labelling.aggregate(dataset=Dataset.objects.get(name="val"))["changed_items"] == 0


@pytest.mark.parametrize(("rule", "overlap"), [("single", 1), ("majority", 2), ("dawid_skene", 2)])
def test_an_import_labels_every_item_as_a_full_aggregate_would(one_model_dataset, crew, tmp_path, rule, overlap):
    # The import's own votes on the items it creates are not read back; the votes on items that were there
    # already (some from before, some imported) are.
    vote(crew[0], item("a.JPEG", TENCH), "wrong")
    vote(crew[1], item("b.JPEG", TENCH), "unclear")
    path = raters_file(
        tmp_path / "raters.npz",
        ["a.JPEG", "b.JPEG", "b.JPEG", "c.JPEG"],
        [[2, 0, 1, 2], [2, 1, 1, None], [0, 2, None, 0], [None, 2, 1, 2]],
        classes=[0, 0, 4, 5],  # tench (items there), hammerhead, electric ray (created)
    )
    summary = import_votes(dataset_name="val", path=path, rule=rule, overlap=overlap)
    assert summary["items_created"] == 2
    labelled = list(ReviewItem.objects.order_by("pk").values_list("pk", "verdict", "source", "needs_adjudication"))
    posteriors = list(ConsensusPosterior.objects.order_by("item_id").values_list("item_id", "p_correct", "p_wrong"))
    assert labelling.aggregate(dataset=one_model_dataset)["changed_items"] == 0
    assert list(ReviewItem.objects.order_by("pk").values_list("pk", "verdict", "source", "needs_adjudication")) == (
        labelled
    )
    again = list(ConsensusPosterior.objects.order_by("item_id").values_list("item_id", "p_correct", "p_wrong"))
    assert again == posteriors and (rule == "single" or posteriors)


def test_import_votes_refuses_bad_files_and_writes_nothing(one_model_dataset, tmp_path):
    unknown = raters_file(tmp_path / "unknown.npz", ["zzz.JPEG"], [[2]])
    with pytest.raises(ImportFailed, match="1 image\\(s\\) of the votes are not registered in dataset 'val'"):
        import_votes(dataset_name="val", path=unknown)
    bad_class = raters_file(tmp_path / "class.npz", ["a.JPEG"], [[2]], classes=[1000])
    with pytest.raises(ImportFailed, match="class index 1000, outside 0-999"):
        import_votes(dataset_name="val", path=bad_class)
    not_npz = tmp_path / "votes.npz"
    not_npz.write_text("filename,class\n")
    with pytest.raises(CommandError, match="not a readable .npz file"):
        call_command("import_votes", str(not_npz), "--format", "real-raters", "--dataset", "val")
    two_hot = tmp_path / "two-hot.npz"
    np.savez(two_hot, tensor=np.ones((1, 1, 3)), info=np.array([["a.JPEG", "0"]]), ids=np.array([1]))
    with pytest.raises(ImportFailed, match="one-hot"):
        import_votes(dataset_name="val", path=two_hot)
    for value in (2.0, 0.5, np.nan):
        not_hot = tmp_path / "not-hot.npz"
        np.savez(not_hot, tensor=np.array([[[0.0, value, 0.0]]]), info=np.array([["a.JPEG", "0"]]), ids=np.array([1]))
        with pytest.raises(ImportFailed, match="one-hot"):
            import_votes(dataset_name="val", path=not_hot)
    assert not ReviewerVerdict.objects.exists() and not VerdictChange.objects.exists()
    assert not ConsensusPolicy.objects.exists()


def test_the_real_raters_file_reads_as_documented():
    path = shared_data("real-raters/raters.npz")
    file_names, classes, rater_ids, (rater, question, answer) = read_real_raters(path)
    assert (len(file_names), len(rater_ids), len(rater)) == (184_962, 85, 924_810)
    assert len(set(file_names)) == 24_889
    assert np.bincount(question).max() == 5 and classes.max() <= 999


# The adjudication page, in Chromium.


@BROWSER_DB
def test_adjudication_page_decides_items_by_keyboard(logged_in_page, image_folder, tmp_path):
    import_image_folder(dataset_name="val", directory=image_folder())
    dataset = Dataset.objects.get(name="val")
    crew = [make_user(f"r{i}", "reviewer") for i in range(2)]
    admin = make_user("ada", "admin")
    labelling.set_policy(dataset=dataset, rule="unanimity", overlap=2)
    for file_name, wnid in [("a.JPEG", TENCH), ("b.JPEG", TENCH)]:
        target = item(file_name, wnid)
        vote(crew[0], target, "correct")
        vote(crew[1], target, "wrong")
    page = logged_in_page(admin)
    page.goto("/datasets/val/consensus/")
    page.get_by_test_id("adjudication-link").click()
    page.get_by_test_id("adjudication-item").wait_for()
    assert page.get_by_test_id("remaining").inner_text() == "2 left"
    assert page.get_by_test_id("votes").locator("tbody tr").count() == 2
    assert "correct 50%" in page.get_by_test_id("posterior").inner_text()
    page.keyboard.press("1")
    page.get_by_text("Decided tench: correct.").wait_for()
    assert page.get_by_test_id("remaining").inner_text() == "1 left"
    page.keyboard.press("z")  # back to the decided item: decide it again
    page.keyboard.press("2")
    page.get_by_text("Decided tench: wrong.").wait_for()
    page.keyboard.press("3")
    page.get_by_test_id("empty").wait_for()
    assert item("a.JPEG", TENCH).verdict == "wrong"
    assert item("b.JPEG", TENCH).verdict == "unclear"
    assert Adjudication.objects.count() == 3
    assert page.get_by_test_id("remaining").inner_text() == "0 left"


@BROWSER_DB
def test_consensus_page_changes_the_rule(logged_in_page, image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    page = logged_in_page(make_user("ada", "admin"))
    page.goto("/datasets/val/consensus/")
    page.get_by_test_id("rule").select_option("majority")
    page.get_by_test_id("overlap").fill("3")
    page.get_by_role("button", name="Save and recompute").click()
    assert "Recomputed 3 items from 0 verdicts" in page.get_by_test_id("messages").inner_text()
    policy = Dataset.objects.get(name="val").consensus_policy
    assert (policy.rule, policy.overlap) == ("majority", 3)
    page.get_by_test_id("rule").select_option("single")
    page.get_by_role("button", name="Save and recompute").click()
    assert "needs overlap 1" in page.get_by_test_id("messages").inner_text()


def test_with_several_reviewers_open_suggestions_still_reach_the_queue(client, one_model_dataset, crew, trainee):
    labelling.set_policy(dataset=one_model_dataset, rule="majority", overlap=2)
    for target in ReviewItem.objects.filter(dataset=one_model_dataset):
        vote(crew[0], target, "correct")
        vote(crew[1], target, "correct")
    client.force_login(crew[0])
    assert client.get("/api/review/next/", {"dataset": "val"}).status_code == 204
    image = Image.objects.get(file_name="b.JPEG")
    # A problematic suggestion adds no item: every item stays answered by crew[0].
    review_services.suggest_problematic(image_id=image.pk, reason="drawing", user=trainee)
    body = client.get("/api/review/next/", {"dataset": "val"}).json()
    assert body["id"] == image.pk and [s["kind"] for s in body["suggestions"]] == ["problematic"]


def foreign_keys(model):
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c["foreign_key"] for name, c in constraints.items() if c["foreign_key"]}


def test_foreign_keys_set_aside_for_a_bulk_load_come_back_and_still_refuse_a_broken_row(one_model_dataset, crew):
    from django.db import IntegrityError, connection, transaction

    from annotate import bulk

    if connection.vendor != "postgresql":
        pytest.skip("the keys are only set aside on PostgreSQL")
    before = foreign_keys(VerdictChange)
    target = item("a.JPEG", GOLDFISH)
    with pytest.raises(IntegrityError), transaction.atomic(), bulk.foreign_keys_checked_at_end(VerdictChange):
        bulk.insert_rows(
            VerdictChange,
            ["item", "reviewer", "old", "new", "created_at"],
            [(target.pk, crew[0].pk, "unreviewed", "correct", "2020-06-12T00:00:00+00:00")]
            + [(target.pk, 999_999, "unreviewed", "wrong", "2020-06-12T00:00:00+00:00")],
        )
    assert foreign_keys(VerdictChange) == before and len(before) == 3  # item, reviewer, import batch
    assert not VerdictChange.objects.exists()
