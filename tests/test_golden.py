"""Golden items: marking them through the API, the admin and the page, and a reviewer meeting one in the queue."""

import json

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import roles
from annotate import labelling
from annotate.models import ConsensusPolicy, Image, LabelSource, ReviewItem
from annotate.services import release_leases, set_verdict
from consensus import services
from consensus.models import GoldenItem
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user
from tests.wnids import GOLDFISH, GREAT_WHITE, JAPANESE_SPANIEL, TENCH

LIST_URL = f"/api/datasets/{DATASET}/golden/"


@pytest.fixture
def admin_client(client, dataset):
    client.force_login(make_user("ada", roles.ADMIN))
    return client


def item(file_name, wnid):
    return ReviewItem.objects.get(image__file_name=file_name, wnid=wnid)


def pending(file_name):
    return Image.objects.get(file_name=file_name).pending_items


def mark(client, **body):
    return client.post(LIST_URL, body, content_type="application/json")


# --- API ----------------------------------------------------------------------------------------------------------


def test_mark_an_existing_item_by_file_name(admin_client):
    before = pending("b.JPEG")
    response = mark(admin_client, file_name="b.JPEG", wnid=GREAT_WHITE, answer="wrong")
    assert response.status_code == 201
    body = response.json()
    golden = item("b.JPEG", GREAT_WHITE)
    assert (body["item"], body["file_name"], body["wnid"], body["answer"]) == (
        golden.pk,
        "b.JPEG",
        GREAT_WHITE,
        "wrong",
    )
    assert body["words"][0] == "great white shark" and body["created_by"] == "ada" and body["answers"] == []
    assert (golden.verdict, golden.source) == ("wrong", LabelSource.GOLDEN)
    assert pending("b.JPEG") == before - 1  # its label is known now


def test_mark_a_pair_no_model_predicted_by_image_id_creates_its_item(admin_client):
    image = Image.objects.get(file_name="c.JPEG")
    before = pending("c.JPEG")
    response = mark(admin_client, image=image.pk, wnid=GOLDFISH, answer="unclear")
    assert response.status_code == 201
    created = item("c.JPEG", GOLDFISH)
    assert (created.dataset_id, created.verdict, created.source) == (image.dataset_id, "unclear", LabelSource.GOLDEN)
    assert not created.is_original and created.model_count == 0
    assert pending("c.JPEG") == before


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"file_name": "b.JPEG", "image": 1, "wnid": GREAT_WHITE, "answer": "wrong"}, "not both"),
        ({"wnid": GREAT_WHITE, "answer": "wrong"}, "not both"),
        ({"file_name": "nope.JPEG", "wnid": GREAT_WHITE, "answer": "wrong"}, "no image with file name 'nope.JPEG'"),
        ({"file_name": "b.JPEG", "wnid": "n02084071", "answer": "wrong"}, "not an ImageNet class"),
        ({"file_name": "b.JPEG", "wnid": GREAT_WHITE, "answer": "dont_know"}, "answer"),
    ],
)
def test_mark_refuses_what_it_cannot_do(admin_client, body, problem):
    response = mark(admin_client, **body)
    assert response.status_code == 400
    assert problem in json.dumps(response.json())
    assert not GoldenItem.objects.exists()


def test_list_change_and_unmark(admin_client):
    rex = make_user("rex", roles.REVIEWER)
    target = item("b.JPEG", GREAT_WHITE)
    set_verdict(item_id=target.pk, reviewer=rex, value="correct")
    mark(admin_client, file_name="b.JPEG", wnid=GREAT_WHITE, answer="correct")
    mark(admin_client, file_name="a.JPEG", wnid=TENCH, answer="correct")

    page = admin_client.get(LIST_URL, {"limit": 1}).json()
    assert page["count"] == 2 and page["next"]
    first = page["results"][0]
    assert (first["file_name"], first["wnid"], first["answered"], first["right"]) == ("a.JPEG", TENCH, 0, 0)
    second = admin_client.get(LIST_URL, {"limit": 1, "offset": 1}).json()["results"][0]
    assert [(a["reviewer"], a["verdict"]) for a in second["answers"]] == [("rex", "correct")]
    assert (second["answered"], second["right"]) == (1, 1)

    url = f"/api/golden-items/{target.pk}/"
    changed = admin_client.patch(url, {"answer": "wrong"}, content_type="application/json")
    assert changed.status_code == 200 and (changed.json()["answer"], changed.json()["right"]) == ("wrong", 0)
    assert item("b.JPEG", GREAT_WHITE).verdict == "wrong"

    assert admin_client.delete(url).status_code == 204
    unmarked = item("b.JPEG", GREAT_WHITE)
    # The label comes from its one reviewer again.
    assert (unmarked.verdict, unmarked.source) == ("correct", LabelSource.REVIEW)
    assert admin_client.delete(url).status_code == 404
    assert admin_client.get(url).status_code == 404
    assert admin_client.patch(url, {"answer": "wrong"}, content_type="application/json").status_code == 404


def test_golden_api_is_for_admins_only(client, dataset):
    golden = services.mark_golden(
        item_id=item("b.JPEG", GREAT_WHITE).pk, answer="wrong", user=make_user("ada", roles.ADMIN)
    )
    client.force_login(make_user("rex", roles.REVIEWER))
    for method, url in [
        ("get", LIST_URL),
        ("post", LIST_URL),
        ("get", f"{LIST_URL}accuracy/"),
        ("get", f"/api/golden-items/{golden.pk}/"),
        ("patch", f"/api/golden-items/{golden.pk}/"),
        ("delete", f"/api/golden-items/{golden.pk}/"),
    ]:
        assert getattr(client, method)(url, content_type="application/json").status_code == 403, (method, url)
    assert GoldenItem.objects.count() == 1


def golden_with_answers(dataset, wnids_by_file, reviewers):
    admin = User.objects.get(username="ada")
    for file_name, wnid in wnids_by_file:
        target = item(file_name, wnid)
        for reviewer in reviewers:
            set_verdict(item_id=target.pk, reviewer=reviewer, value="correct")
        services.mark_golden(item_id=target.pk, answer="correct", user=admin)


# Session, user, roles and dataset first. The list: count, golden items, answers. Accuracy: verdicts, usernames.
# The page: the policy, accuracy, golden items.
@pytest.mark.parametrize(
    ("url", "queries"), [(LIST_URL, 7), (f"{LIST_URL}accuracy/", 6), (f"/datasets/{DATASET}/golden/", 8)]
)
def test_golden_reads_take_the_same_few_queries_whatever_the_data(admin_client, dataset, url, queries):
    golden_with_answers(dataset, [("a.JPEG", TENCH)], [make_user("r1", roles.REVIEWER)])
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    more = [make_user(f"r{k}", roles.REVIEWER) for k in (2, 3, 4)]
    golden_with_answers(dataset, [("b.JPEG", GREAT_WHITE), ("c.JPEG", JAPANESE_SPANIEL)], more)
    with CaptureQueriesContext(connection) as larger:
        assert admin_client.get(url).status_code == 200
    assert len(larger) == len(small) == queries


def test_golden_detail_takes_the_same_few_queries_whatever_the_answers(admin_client, dataset):
    golden_with_answers(dataset, [("a.JPEG", TENCH)], [make_user("r1", roles.REVIEWER)])
    url = f"/api/golden-items/{item('a.JPEG', TENCH).pk}/"
    with CaptureQueriesContext(connection) as small:
        admin_client.get(url)
    for k in (2, 3, 4):
        set_verdict(item_id=item("a.JPEG", TENCH).pk, reviewer=make_user(f"r{k}", roles.REVIEWER), value="wrong")
    with CaptureQueriesContext(connection) as larger:
        assert len(admin_client.get(url).json()["answers"]) == 4
    assert len(larger) == len(small)


# --- a golden item in a reviewer's queue ------------------------------------------------------------------------


def next_image(client):
    response = client.get("/api/review/next/", {"dataset": DATASET})
    assert response.status_code == 200
    return response


def test_a_golden_item_reaches_reviewers_blind_and_counts_in_their_accuracy(admin_client, dataset):
    labelling.set_policy(dataset=dataset, rule="single", overlap=1, golden_rate=1.0)
    mark(admin_client, file_name="b.JPEG", wnid=GREAT_WHITE, answer="wrong")
    golden = item("b.JPEG", GREAT_WHITE)

    answers = {"rita": "wrong", "rolf": "correct"}
    for name, answer in answers.items():
        reviewer = make_user(name, roles.REVIEWER)
        client = Client()
        client.force_login(reviewer)
        response = next_image(client)
        body = response.json()
        # Golden images come first at a golden rate of 1, although a.JPEG is first in the queue.
        assert body["file_name"] == "b.JPEG"
        shown = next(entry for entry in body["items"] if entry["id"] == golden.pk)
        assert (shown["verdict"], shown["verdict_by"], shown["verdict_at"]) == ("unreviewed", None, None)
        assert "golden" not in response.content.decode() and "answer" not in shown
        saved = client.post(
            f"/api/review-items/{golden.pk}/verdict/", {"verdict": answer}, content_type="application/json"
        )
        assert saved.json()["verdict"] == answer
        # Answered: the queue goes on in dataset order.
        assert next_image(client).json()["file_name"] == "a.JPEG"
        release_leases(reviewer=reviewer)

    golden.refresh_from_db()
    assert (golden.verdict, golden.source) == ("wrong", LabelSource.GOLDEN)  # the answer stays the label
    accuracy = admin_client.get(f"{LIST_URL}accuracy/").json()
    assert accuracy == [
        {"reviewer": "rita", "right": 1, "answered": 1, "accuracy": 1.0, "dont_know": 0},
        {"reviewer": "rolf", "right": 0, "answered": 1, "accuracy": 0.0, "dont_know": 0},
    ]
    golden_row = admin_client.get(LIST_URL).json()["results"][0]
    assert (golden_row["answered"], golden_row["right"]) == (2, 1)
    page = admin_client.get(f"/datasets/{DATASET}/golden/").content.decode()
    assert 'data-reviewer="rita"' in page and 'data-reviewer="rolf"' in page


# --- pages and admin --------------------------------------------------------------------------------------------


def test_golden_page_is_for_admins_with_empty_states(client, dataset):
    url = f"/datasets/{DATASET}/golden/"
    client.force_login(make_user("rex", roles.REVIEWER))
    assert client.get(url).status_code == 403
    client.force_login(make_user("ada", roles.ADMIN))
    html = client.get(url).content.decode()
    assert 'data-testid="empty-golden"' in html and 'data-testid="empty-accuracy"' in html
    assert client.get("/datasets/nope/golden/").status_code == 404


def test_dataset_page_links_quality_control_for_admins_only(client, dataset):
    client.force_login(make_user("rex", roles.REVIEWER))
    assert 'data-testid="quality-links"' not in client.get(f"/datasets/{DATASET}/").content.decode()
    client.force_login(make_user("ada", roles.ADMIN))
    html = client.get(f"/datasets/{DATASET}/").content.decode()
    assert f'href="/datasets/{DATASET}/agreement/"' in html and f'href="/datasets/{DATASET}/golden/"' in html


@pytest.fixture
def superuser_client(client, dataset):
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


@pytest.mark.parametrize(
    "model",
    ["annotate/consensuspolicy", "consensus/goldenitem", "consensus/adjudication", "annotate/consensusposterior"],
)
def test_consensus_admin_changelists_load(superuser_client, model):
    assert superuser_client.get(f"/admin/{model}/").status_code == 200


def test_golden_items_added_and_deleted_in_the_admin_go_through_the_services(superuser_client):
    target = item("b.JPEG", GREAT_WHITE)
    response = superuser_client.post("/admin/consensus/goldenitem/add/", {"item": target.pk, "answer": "wrong"})
    assert response.status_code == 302
    golden = GoldenItem.objects.get(item=target)
    target.refresh_from_db()
    assert (target.verdict, target.source, golden.created_by.username) == ("wrong", LabelSource.GOLDEN, "root")

    response = superuser_client.post(f"/admin/consensus/goldenitem/{golden.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.verdict, target.source) == ("unreviewed", LabelSource.REVIEW)


def test_a_policy_saved_in_the_admin_relabels_the_dataset(superuser_client, dataset):
    target = item("b.JPEG", GREAT_WHITE)
    set_verdict(item_id=target.pk, reviewer=make_user("rex", roles.REVIEWER), value="correct")
    response = superuser_client.post(
        "/admin/annotate/consensuspolicy/add/",
        {"dataset": dataset.pk, "rule": "majority", "overlap": 2, "golden_rate": 0.2},
    )
    assert response.status_code == 302
    policy = ConsensusPolicy.objects.get(dataset=dataset)
    assert (policy.rule, policy.overlap, policy.golden_rate, policy.updated_by.username) == ("majority", 2, 0.2, "root")
    assert item("b.JPEG", GREAT_WHITE).verdict == "unreviewed"  # one vote of the two now needed

    refused = superuser_client.post(
        f"/admin/annotate/consensuspolicy/{policy.pk}/change/", {"rule": "single", "overlap": 3, "golden_rate": 0.2}
    )
    assert refused.status_code == 200 and "single-reviewer rule needs overlap 1" in refused.content.decode()


# --- in the browser ---------------------------------------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_golden_page_in_the_browser(logged_in_page, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto(f"/datasets/{DATASET}/")
    page.locator("[data-testid=quality-links]").get_by_role("link", name="Golden items").click()
    page.wait_for_url(f"**/datasets/{DATASET}/golden/")
    assert page.locator("[data-testid=empty-golden]").is_visible()

    status = page.locator("[data-golden-status]")
    page.locator("#golden-image").fill("nope.JPEG")
    page.locator("#golden-wnid").fill(GREAT_WHITE)
    page.get_by_role("button", name="Make golden").click()
    page.wait_for_function("document.querySelector('[data-golden-status]').textContent.includes('Not added')")
    assert "no image with file name 'nope.JPEG'" in status.inner_text()

    page.locator("#golden-image").fill("b.JPEG")
    page.locator("#golden-wnid").fill("great white")
    page.locator(f'#golden-classes [role=option][data-wnid="{GREAT_WHITE}"]').click()
    assert page.locator("#golden-wnid").input_value() == GREAT_WHITE
    page.locator("#golden-answer").select_option("wrong")
    page.get_by_role("button", name="Make golden").click()
    row = page.locator(f'[data-golden-item="{item("b.JPEG", GREAT_WHITE).pk}"]')
    row.wait_for()
    assert "b.JPEG" in row.inner_text() and "great white shark" in row.inner_text()
    assert GoldenItem.objects.get().answer == "wrong"

    row.locator("[data-golden-answer]").select_option("correct")
    page.wait_for_function("document.querySelector('[data-golden-status]').textContent.includes('Correct')")
    assert GoldenItem.objects.get().answer == "correct"

    row.get_by_role("button", name="Unmark").click()
    row.wait_for(state="detached")
    assert "Unmarked" in status.inner_text()
    assert not GoldenItem.objects.exists()


@pytest.mark.browser
@BROWSER_DB
def test_quality_pages_are_forbidden_to_reviewers_in_the_browser(logged_in_page, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(make_user("rex", roles.REVIEWER))
    for path in ("golden", "agreement"):
        assert page.goto(f"/datasets/{DATASET}/{path}/").status == 403
