"""The admins' API of new test sets: their figures, a candidate's blacklist, sampling, listing and comparing
revisions, and the annotators' accuracy; who may use it, what it refuses and the queries its lists cost."""

import pytest

from accounts import roles
from tests.conftest import client_for, jpeg_bytes, make_user
from tests.wnids import GOLDFISH, TENCH
from testsets import models, services
from testsets.frequency_tasks import create_frequency_tasks, submit_assignment
from testsets.models import BlacklistChange, Candidate, FrequencyTask
from testsets.revisions import sample_testset

REFERENCE = {
    TENCH: {f"tench{i}.JPEG": (250, 20 * i, 20) for i in range(3)},
    GOLDFISH: {f"gold{i}.JPEG": (20, 250, 20 * i) for i in range(3)},
}
POOL = {f"t{i}.jpg": (10 * i, 200 - 5 * i, 90) for i in range(6)}


def build_testset(make_dataset, tmp_path, name="v2"):
    """Test set `name` against val, six tench candidates in tasks of four with a control of each kind, every task
    answered by two annotators who select everything, and one answer enough for a frequency to count."""
    if not models.TestSet.objects.exists():
        make_dataset(name="val", predictions={}, files=REFERENCE)
    folder = tmp_path / f"{name}-pool" / TENCH
    folder.mkdir(parents=True)
    for file_name, color in POOL.items():
        (folder / file_name).write_bytes(jpeg_bytes(color))
    testset = services.create_testset(name=name, reference_name="val", per_class=3)
    services.import_candidates(testset_name=name, directory=folder.parent)
    create_frequency_tasks(
        testset_name=name, per_task=4, positive_controls=1, negative_controls=1, annotators=2, min_reference=0
    )
    for username in (f"{name}-a", f"{name}-b"):
        annotator = make_user(username, roles.ANNOTATOR)
        for task in FrequencyTask.objects.filter(testset=testset):
            tokens = list(task.images.values_list("token", flat=True))
            submit_assignment(task=task, annotator=annotator, selected_tokens=tokens)
    models.TestSet.objects.filter(pk=testset.pk).update(min_annotations=1)
    testset.refresh_from_db()
    return testset


@pytest.fixture
def testset(make_dataset, tmp_path):
    return build_testset(make_dataset, tmp_path)


@pytest.fixture
def admin(db):
    return make_user("ada", roles.ADMIN)


def urls(name, candidate, revision):
    """The admins' endpoints (method, url) of test set `name`, the list of all test sets first."""
    base = f"/api/testsets/{name}"
    return [
        ("get", "/api/testsets/"),
        ("get", f"{base}/"),
        ("post", f"{base}/candidates/{candidate}/blacklist/"),
        ("get", f"{base}/revisions/"),
        ("post", f"{base}/revisions/"),
        ("get", f"{base}/revisions/{revision}/compare/{revision}/"),
        ("get", f"{base}/annotators/"),
    ]


@pytest.mark.parametrize("role", [None, roles.TRAINEE, roles.REVIEWER, roles.ANNOTATOR, roles.GUIDE_EDITOR])
def test_only_admins_may_use_it(testset, role):
    user = None if role is None else make_user("someone", role)
    revision = sample_testset(testset_name=testset.name, strategy="top")["revision"]
    candidate = Candidate.objects.filter(testset=testset).first().pk
    client = client_for(user)
    for method, url in urls(testset.name, candidate, revision):
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code in (401, 403), (url, response.status_code)


def test_a_missing_test_set_revision_or_candidate_answers_404(testset, admin, make_dataset, tmp_path):
    other = build_testset(make_dataset, tmp_path, name="v3")
    foreign = Candidate.objects.filter(testset=other).first().pk
    client = client_for(admin)
    for method, url in urls("nope", foreign, 1)[1:]:
        assert getattr(client, method)(url, {}, content_type="application/json").status_code == 404, url
    blacklist = client.post(
        f"/api/testsets/v2/candidates/{foreign}/blacklist/", {"reason": "drawing"}, content_type="application/json"
    )
    assert blacklist.status_code == 404 and "no candidate" in blacklist.json()["detail"]
    assert not Candidate.objects.filter(pk=foreign).exclude(blacklist_reason="").exists()
    assert client.get("/api/testsets/v2/revisions/1/compare/1/").status_code == 404


def test_the_list_and_the_status_give_the_figures(
    testset, admin, make_dataset, tmp_path, django_assert_max_num_queries
):
    build_testset(make_dataset, tmp_path, name="v3")
    Candidate.objects.filter(testset=testset).filter(pk=Candidate.objects.filter(testset=testset).first().pk).update(
        blacklist_reason="drawing"
    )
    sample_testset(testset_name="v2", strategy="top")
    client = client_for(admin)
    with django_assert_max_num_queries(4):
        listed = client.get("/api/testsets/").json()
    tasks = FrequencyTask.objects.filter(testset=testset).count()
    assert [row["name"] for row in listed] == ["v2", "v3"]
    assert listed[0] == {
        "name": "v2",
        "reference": "val",
        "pool": "v2-candidates",
        "per_class": 3,
        "min_annotations": 1,
        "quality_threshold": 0.0,
        "classes": 1,
        "candidates": 6,
        "blacklisted": 1,
        "tasks": tasks,
        "assignments": 2 * tasks,
        "revisions": 1,
    }
    assert listed[1]["blacklisted"] == 0 and listed[1]["revisions"] == 0
    status = client.get("/api/testsets/v2/").json()
    assert {key: status[key] for key in listed[0]} == listed[0]
    assert status["classes_detail"] == {TENCH: {"candidates": 6, "blacklisted": 1}}


def test_blacklisting_a_candidate_and_lifting_it(testset, admin):
    candidate = Candidate.objects.filter(testset=testset).first()
    url = f"/api/testsets/v2/candidates/{candidate.pk}/blacklist/"
    client = client_for(admin)
    response = client.post(url, {"reason": "other", "note": "a screenshot"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"candidate": candidate.pk, "reason": "other", "note": "a screenshot"}
    candidate.refresh_from_db()
    assert candidate.blacklist_reason == "other"
    lifted = client.post(url, {"reason": ""}, content_type="application/json").json()
    assert lifted == {"candidate": candidate.pk, "reason": "", "note": ""}
    assert list(BlacklistChange.objects.values_list("reason", "changed_by")) == [("other", admin.pk), ("", admin.pk)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "ugly"}, "reason"),
        ({"reason": "other"}, "note"),
        ({"reason": 3, "note": []}, "note"),
    ],
)
def test_a_bad_blacklist_request_names_the_field(testset, admin, body, field):
    candidate = Candidate.objects.filter(testset=testset).first()
    response = client_for(admin).post(
        f"/api/testsets/v2/candidates/{candidate.pk}/blacklist/", body, content_type="application/json"
    )
    assert response.status_code == 400 and field in response.json()
    assert not BlacklistChange.objects.exists()


def test_sampling_listing_and_comparing_revisions(testset, admin, django_assert_max_num_queries):
    client = client_for(admin)
    first = client.post("/api/testsets/v2/revisions/", {"strategy": "top"}, content_type="application/json")
    assert first.status_code == 201
    answer = first.json()
    assert answer["revision"] == 1 and len(answer["images"]) == 3 and TENCH not in answer["short_classes"]
    assert {image["wnid"] for image in answer["images"]} == {TENCH}
    Candidate.objects.filter(testset=testset, image__file_name=answer["images"][0]["file_name"]).update(
        blacklist_reason="drawing"
    )
    second = client.post(
        "/api/testsets/v2/revisions/",
        {"strategy": "threshold", "threshold": 0.5, "thresholds": {TENCH: 0.9}, "seed": 4, "from": 1},
        content_type="application/json",
    )
    assert second.status_code == 201 and second.json()["revision"] == 2
    with django_assert_max_num_queries(5):
        listed = client.get("/api/testsets/v2/revisions/").json()
    assert [(row["number"], row["strategy"], row["parent"], row["images"]) for row in listed] == [
        (1, "top", None, 3),
        (2, "threshold", 1, 3),
    ]
    assert listed[1]["seed"] == 4 and listed[1]["parameters"]["thresholds"] == {TENCH: 0.9}
    assert set(listed[0]) == {
        "number", "strategy", "parameters", "seed", "parent", "upward", "short_classes", "created_at", "created_by",
        "dataset", "images"
    }  # fmt: skip
    assert (listed[0]["created_by"], listed[0]["dataset"]) == ("ada", None)
    compared = client.get("/api/testsets/v2/revisions/1/compare/2/").json()
    assert compared["from"] == 1 and compared["to"] == 2
    assert (compared["added"], compared["removed"], compared["kept"]) == (1, 1, 2)
    assert compared["classes"][TENCH]["removed"] == [answer["images"][0]["file_name"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "strategy"),
        ({"strategy": "best"}, "strategy"),
        ({"strategy": "top", "per_class": 0}, "per_class"),
        ({"strategy": "top", "seed": "x"}, "seed"),
        ({"strategy": "top", "threshold": 0.5}, "threshold"),
        ({"strategy": "threshold", "threshold": 2}, "threshold"),
        ({"strategy": "threshold", "thresholds": {"n0": 0.5}}, "thresholds"),
        ({"strategy": "top", "from": "one"}, "from"),
    ],
)
def test_a_bad_sampling_request_names_the_field(testset, admin, body, field):
    response = client_for(admin).post("/api/testsets/v2/revisions/", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert not testset.revisions.exists()


def test_sampling_from_a_missing_revision_answers_404(testset, admin):
    response = client_for(admin).post(
        "/api/testsets/v2/revisions/", {"strategy": "top", "from": 7}, content_type="application/json"
    )
    assert response.status_code == 404 and not testset.revisions.exists()


def test_the_annotators_accuracy(testset, admin, django_assert_max_num_queries):
    client = client_for(admin)
    with django_assert_max_num_queries(5):
        answer = client.get("/api/testsets/v2/annotators/").json()
    tasks = FrequencyTask.objects.filter(testset=testset).count()
    assert [person["annotator"] for person in answer] == ["v2-a", "v2-b"]
    person = answer[0]
    # Selecting everything gets each task's positive control right and its negative one wrong.
    assert (person["assignments"], person["controls"], person["controls_right"]) == (tasks, 2 * tasks, tasks)
    assert person["accuracy"] == 0.5 and person["excluded"] == 0
    assert len(person["days"]) == 1 and person["days"][0]["assignments"] == tasks
