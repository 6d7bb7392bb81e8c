"""The admins' pages of a new test set's sampling workflow and the API they lacked: annotator quality, the sampling
form's preview (a dry run that writes nothing and answers what saving would), revisions listed, compared, shown,
made datasets and exported (the same writer as the command), a test set created, tasks created and exported,
selections imported and frequencies downloaded; who may use them, what bad input gets, the queries each costs; and in
Chromium, an admin previewing, sampling twice, comparing and exporting."""

import csv
import io
import json
import re
import zipfile

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from accounts import roles
from annotate.models import Dataset
from tests.conftest import BROWSER_DB, client_for, make_user
from tests.test_testset_api import build_testset
from tests.wnids import GOLDFISH, TENCH
from testsets import models
from testsets.frequency_tasks import submit_assignment
from testsets.models import (
    Assignment,
    Candidate,
    FrequencyTask,
    Revision,
    RevisionImage,
    SelectionFrequency,
    TaskImage,
)
from testsets.revisions import sample_testset

THRESHOLD = {"strategy": "threshold", "threshold": 0.5, "seed": 7}


@pytest.fixture
def testset(make_dataset, tmp_path):
    """v2 against val: six tench candidates with files, every one selected by both annotators (frequency 1)."""
    return build_testset(make_dataset, tmp_path)


@pytest.fixture
def admin(db):
    return make_user("ada", roles.ADMIN)


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def table_rows():
    """What a sampling may change, by table: revisions and their images."""
    return Revision.objects.count(), RevisionImage.objects.count()


def queries_of(request):
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code in (200, 201), response.content[:300]
    return len(queries), response


# ---------------------------------------------------------------------------------------------------------------
# The preview: a dry run of sampling


def test_a_preview_answers_what_saving_answers_and_writes_nothing(testset):
    preview = sample_testset(testset_name="v2", dry_run=True, **THRESHOLD)
    assert table_rows() == (0, 0)
    saved = sample_testset(testset_name="v2", **THRESHOLD)
    assert saved == {"revision": 1, **preview}
    assert len(preview["images"]) == 3 and {image["wnid"] for image in preview["images"]} == {TENCH}
    # The seed decides: another seed draws other images from the six, as a preview too.
    others = [sample_testset(testset_name="v2", dry_run=True, **{**THRESHOLD, "seed": seed}) for seed in range(8)]
    assert any(other["images"] != preview["images"] for other in others)
    assert table_rows() == (1, 3)


def test_the_preview_api_equals_sampling_without_the_revision_number(testset, admin):
    client = client_for(admin)
    body = {**THRESHOLD, "from": None, "per_class": 2}
    preview = post_json(client, "/api/testsets/v2/revisions/preview/", body)
    assert preview.status_code == 200 and table_rows() == (0, 0)
    saved = post_json(client, "/api/testsets/v2/revisions/", body)
    assert saved.status_code == 201
    assert saved.json() == {"revision": 1, **preview.json()}
    # From a revision: the preview keeps what still qualifies and replaces the rest, as the sample would.
    before = {image["file_name"] for image in preview.json()["images"]}
    dropped = sorted(before)[0]
    Candidate.objects.filter(image__file_name=dropped).update(blacklist_reason="drawing")
    again = post_json(client, "/api/testsets/v2/revisions/preview/", {**body, "from": 1}).json()
    after = {image["file_name"] for image in again["images"]}
    assert len(after) == 2 and dropped not in after and len(after & before) == 1
    assert table_rows() == (1, 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "strategy"),
        ({"strategy": "best"}, "strategy"),
        ({"strategy": "top", "per_class": 0}, "per_class"),
        ({"strategy": "threshold", "thresholds": {"n0": 0.5}}, "thresholds"),
        ({"strategy": "top", "threshold": 0.5}, "threshold"),
        ({"strategy": "top", "from": 9}, "detail"),
    ],
)
def test_a_bad_preview_names_the_field(testset, admin, body, field):
    response = post_json(client_for(admin), "/api/testsets/v2/revisions/preview/", body)
    assert response.status_code in (400, 404) and field in response.json(), response.json()
    assert table_rows() == (0, 0)


# ---------------------------------------------------------------------------------------------------------------
# A revision made a dataset, exported


def test_making_a_dataset_is_idempotent(testset, admin):
    sample_testset(testset_name="v2", strategy="top")
    client = client_for(admin)
    first = client.post("/api/testsets/v2/revisions/1/dataset/")
    assert first.status_code == 201 and first.json() == {"revision": 1, "dataset": "v2-r1"}
    second = client.post("/api/testsets/v2/revisions/1/dataset/")
    assert second.status_code == 200 and second.json() == first.json()
    assert Dataset.objects.filter(name="v2-r1").count() == 1 and Revision.objects.get().dataset.name == "v2-r1"
    assert client.post("/api/testsets/v2/revisions/2/dataset/").status_code == 404
    # The revision's page links the dataset once made.
    page = client.get("/testsets/v2/revisions/1/").content.decode()
    assert 'href="/datasets/v2-r1/"' in page and "data-make-dataset" not in page


def test_the_export_api_serves_what_the_command_writes(testset, admin, tmp_path):
    sample_testset(testset_name="v2", strategy="top")
    client = client_for(admin)
    folder, json_file = tmp_path / "folders", tmp_path / "r1.json"
    call_command("export_testset", "--testset", "v2", "--revision", "1", "--format", "imagenetv2", "--out", folder)
    call_command("export_testset", "--testset", "v2", "--revision", "1", "--format", "json", "--out", json_file)

    zipped = client.get("/api/testsets/v2/revisions/1/export/", {"format": "imagenetv2"})
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    assert zipped["Content-Disposition"] == 'attachment; filename="v2-r1.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content)))
    written = {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert {name: archive.read(name) for name in archive.namelist()} == written
    assert {name.split("/")[0] for name in written} == {"0"}  # tench is class 0

    as_json = client.get("/api/testsets/v2/revisions/1/export/")  # json by default
    assert as_json["Content-Disposition"] == 'attachment; filename="v2-r1.json"'
    assert as_json.content == json_file.read_bytes() and len(as_json.json()) == 3

    refused = client.get("/api/testsets/v2/revisions/1/export/", {"format": "csv"})
    assert refused.status_code == 400 and "format" in refused.json()
    assert client.get("/api/testsets/v2/revisions/4/export/").status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# The commands' other steps, through the API


def test_creating_a_test_set(testset, admin):
    response = post_json(client_for(admin), "/api/testsets/", {"name": "v3", "reference": "val", "per_class": 4})
    assert response.status_code == 201
    answer = response.json()
    assert [answer[key] for key in ("name", "reference", "pool", "per_class")] == ["v3", "val", "v3-candidates", 4]
    assert answer["candidates"] == 0 and models.TestSet.objects.get(name="v3").created_by == admin


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reference": "val"}, "name"),
        ({"name": "no spaces", "reference": "val"}, "name"),
        ({"name": "v2", "reference": "val"}, "name"),
        ({"name": "v3"}, "reference"),
        ({"name": "v3", "reference": "nope"}, "reference"),
        ({"name": "v3", "reference": "val", "per_class": 0}, "per_class"),
        ({"name": "v3", "reference": "val", "per_class": "ten"}, "per_class"),
    ],
)
def test_a_bad_test_set_names_the_field_and_writes_nothing(testset, admin, body, field):
    datasets = Dataset.objects.count()
    response = post_json(client_for(admin), "/api/testsets/", body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert models.TestSet.objects.count() == 1 and Dataset.objects.count() == datasets


def test_creating_tasks_and_downloading_the_open_ones(testset, admin, tmp_path):
    client = client_for(admin)
    before = FrequencyTask.objects.count()
    response = post_json(
        client,
        "/api/testsets/v2/tasks/",
        {"per_task": 3, "positive_controls": 1, "negative_controls": 1, "annotators": 3, "min_reference": 3},
    )
    assert response.status_code == 201, response.json()
    answer = response.json()
    made = answer["tasks"]["candidates"] + answer["tasks"]["reference"]
    assert made > 0 and FrequencyTask.objects.count() == before + made and answer["testset"] == "v2"

    out = tmp_path / "tasks.jsonl"
    call_command("export_frequency_tasks", "--testset", "v2", "--out", out, stdout=io.StringIO())
    download = client.get("/api/testsets/v2/tasks/export/")
    assert download.status_code == 200 and download["Content-Type"] == "application/jsonl"
    assert download["Content-Disposition"] == 'attachment; filename="v2-tasks.jsonl"'
    body = b"".join(download.streaming_content)
    assert body == out.read_bytes() and len(body.splitlines()) == made


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"per_task": "x"}, "per_task"),
        ({"per_task": 0}, "per_task"),
        ({"per_task": 2, "positive_controls": 1, "negative_controls": 1}, "per_task"),
        ({"positive_controls": -1}, "positive_controls"),
        ({"annotators": 0}, "annotators"),
        ({"min_reference": -2}, "min_reference"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_task_parameters_name_the_field_and_write_nothing(testset, admin, body, field):
    tasks, images = FrequencyTask.objects.count(), TaskImage.objects.count()
    response = post_json(client_for(admin), "/api/testsets/v2/tasks/", body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert (FrequencyTask.objects.count(), TaskImage.objects.count()) == (tasks, images)


def selections(testset, annotator="crowd-1"):
    """One line per task: the annotator selects every image of it."""
    return "".join(
        json.dumps(
            {"task": task.pk, "annotator": annotator, "selected": list(task.images.values_list("token", flat=True))}
        )
        + "\n"
        for task in FrequencyTask.objects.filter(testset=testset).order_by("pk")
    )


def test_importing_selections_as_a_file_or_as_the_body(testset, admin):
    client = client_for(admin)
    tasks = FrequencyTask.objects.filter(testset=testset).count()
    upload = io.BytesIO(selections(testset).encode())
    upload.name = "crowd.jsonl"
    response = client.post("/api/testsets/v2/selections/", {"file": upload})
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert (answer["assignments"], answer["annotators"], answer["accounts_created"]) == (tasks, 1, 1)
    assert Assignment.objects.filter(annotator__username="crowd-1").count() == tasks

    as_body = client.post(
        "/api/testsets/v2/selections/", selections(testset, "crowd-2"), content_type="application/jsonl"
    )
    assert as_body.status_code == 201 and as_body.json()["assignments"] == tasks
    assert client.post("/api/testsets/v2/selections/", "{}", content_type="application/json").status_code == 415


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "attach the JSON Lines file"),
        (b"", "no assignments"),
        (b"\xff\xfe not text", "not UTF-8"),
        (b'{"task": 1}\n', "crowd.jsonl:1"),
        (b'{"task": 99999, "annotator": "c", "selected": []}\n', "crowd.jsonl:1: task 99999 is not a task"),
    ],
)
def test_bad_selections_name_the_file_and_write_nothing(testset, admin, content, message):
    users = type(admin).objects.count()
    assignments, frequencies = Assignment.objects.count(), list(SelectionFrequency.objects.values_list().order_by("pk"))
    if content is None:
        response = client_for(admin).post("/api/testsets/v2/selections/", {})
    else:
        upload = io.BytesIO(content)
        upload.name = "crowd.jsonl"
        response = client_for(admin).post("/api/testsets/v2/selections/", {"file": upload})
    assert response.status_code == 400 and message in response.json()["file"], response.json()
    assert Assignment.objects.count() == assignments and type(admin).objects.count() == users
    assert list(SelectionFrequency.objects.values_list().order_by("pk")) == frequencies


def test_a_line_at_fault_refuses_the_whole_file(testset, admin):
    good = selections(testset)
    bad = good + json.dumps({"task": FrequencyTask.objects.first().pk, "annotator": "v2-a", "selected": []}) + "\n"
    response = client_for(admin).post("/api/testsets/v2/selections/", bad, content_type="application/jsonl")
    assert response.status_code == 400 and "v2-a has answered task" in response.json()["file"]
    assert not Assignment.objects.filter(annotator__username="crowd-1").exists()


def test_the_frequencies_download_is_the_commands_csv(testset, admin, tmp_path):
    out = tmp_path / "frequencies.csv"
    call_command("selection_frequencies", "--testset", "v2", "--out", out, stdout=io.StringIO())
    response = client_for(admin).get("/api/testsets/v2/frequencies/")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content)
    assert body == out.read_bytes()
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["file_name", "wnid", "role", "annotations", "selected", "frequency"]
    assert {row[2] for row in rows[1:]} == {"candidate", "reference"}


# ---------------------------------------------------------------------------------------------------------------
# Who may use them


def endpoints(revision):
    base = "/api/testsets/v2"
    return [
        ("post", "/api/testsets/"),
        ("post", f"{base}/revisions/preview/"),
        ("post", f"{base}/revisions/{revision}/dataset/"),
        ("get", f"{base}/revisions/{revision}/export/"),
        ("post", f"{base}/tasks/"),
        ("get", f"{base}/tasks/export/"),
        ("post", f"{base}/selections/"),
        ("get", f"{base}/frequencies/"),
    ]


def pages(revision):
    base = "/testsets/v2"
    return [
        f"{base}/annotators/",
        f"{base}/revisions/",
        f"{base}/revisions/{revision}/",
        f"{base}/revisions/{revision}/compare/{revision}/",
    ]


@pytest.mark.parametrize("role", [None, roles.TRAINEE, roles.REVIEWER, roles.ANNOTATOR, roles.GUIDE_EDITOR])
def test_only_admins_may_use_them(testset, role):
    revision = sample_testset(testset_name="v2", strategy="top")["revision"]
    client = client_for(None if role is None else make_user("someone", role))
    for method, url in endpoints(revision):
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code in (401, 403), (url, response.status_code)
    for url in pages(revision):
        response = client.get(url)
        assert response.status_code == 403 or response.status_code == 302 and "/login/" in response["Location"], url
    assert FrequencyTask.objects.filter(testset=testset).count() == 3 and Revision.objects.get().dataset is None


def test_a_missing_test_set_or_revision_answers_404(testset, admin):
    sample_testset(testset_name="v2", strategy="top")
    client = client_for(admin)
    for url in pages(1):
        assert client.get(url.replace("/v2/", "/v9/")).status_code == 404, url
    for url in ("/testsets/v2/revisions/3/", "/testsets/v2/revisions/1/compare/5/"):
        assert client.get(url).status_code == 404, url


# ---------------------------------------------------------------------------------------------------------------
# The pages and the queries they cost


def test_the_annotators_page_shows_who_was_excluded_and_why(testset, admin):
    client = client_for(admin)
    models.TestSet.objects.filter(pk=testset.pk).update(quality_threshold=0.6)
    count, response = queries_of(lambda: client.get("/testsets/v2/annotators/"))
    page = response.content.decode()
    tasks = FrequencyTask.objects.filter(testset=testset).count()
    # Selecting everything gets one control of two right: 50%, under 60%.
    assert "Assignments that score under 60% are left out" in page
    assert page.count(f"{tasks} assignments: 1 of 2 controls right") == 2 and 'data-annotator="v2-a"' in page
    assert 'id="annotator-quality"' in page and "testset-annotators.js" in page
    assert count <= 6, count
    answer = client.get("/api/testsets/v2/annotators/").json()
    assert answer[0]["excluded_scores"] == [{"controls": 2, "controls_right": 1, "assignments": tasks}]
    late = make_user("late", roles.ANNOTATOR)
    # Each task wants one answer more, which the late annotator gives (a full task takes no more).
    FrequencyTask.objects.filter(testset=testset).update(assignments_wanted=F("assignments_wanted") + 1)
    for task in FrequencyTask.objects.filter(testset=testset):
        submit_assignment(task=task, annotator=late, selected_tokens=[])
    again, response = queries_of(lambda: client.get("/testsets/v2/annotators/"))
    assert again == count and 'data-annotator="late"' in response.content.decode()


def test_the_annotators_page_without_assignments_says_so(testset, admin):
    Assignment.objects.all().delete()
    page = client_for(admin).get("/testsets/v2/annotators/").content.decode()
    assert 'data-testid="empty-annotators"' in page and "testset-annotators.js" not in page


def test_the_revisions_page_lists_revisions_with_their_figures(testset, admin):
    client = client_for(admin)
    empty = client.get("/testsets/v2/revisions/").content.decode()
    assert 'data-testid="empty-revisions"' in empty
    assert re.search(r'id="sample-per-class"[^>]* value="3"', empty)  # per class: the test set's
    sample_testset(testset_name="v2", strategy="top", user=admin)
    count, _ = queries_of(lambda: client.get("/testsets/v2/revisions/"))
    sample_testset(testset_name="v2", from_revision=1, user=admin, **THRESHOLD)
    again, response = queries_of(lambda: client.get("/testsets/v2/revisions/"))
    assert again == count and count <= 9, count
    page = response.content.decode()
    assert 'data-revision="1"' in page and 'data-revision="2"' in page and "ada" in page
    assert "frequency ≥ 0.5" in page and 'data-compare-pick value="2"' in page
    assert '<option value="2">Revision 2 · Threshold · 3 images</option>' in page
    assert "n01440764" in json.loads(page.split('id="class-labels" type="application/json">')[1].split("<")[0])


def test_a_revisions_page_lists_its_images_per_class(testset, admin):
    sample_testset(testset_name="v2", strategy="top", user=admin)
    client = client_for(admin)
    count, response = queries_of(lambda: client.get("/testsets/v2/revisions/1/"))
    page = response.content.decode()
    images = list(RevisionImage.objects.values_list("candidate__image_id", "candidate__image__file_name"))
    for image, file_name in images:
        assert f'src="/images/{image}/display"' in page and f'data-file-name="{file_name}"' in page
    assert "1.00" in page and "bin 4" in page and "tench" in page.lower()
    assert 'href="/api/testsets/v2/revisions/1/export/?format=imagenetv2"' in page
    assert "data-make-dataset" in page and count <= 6, count


def test_the_compare_page_shows_what_was_added_removed_and_kept(testset, admin):
    first = sample_testset(testset_name="v2", strategy="top")
    dropped = first["images"][0]["file_name"]
    Candidate.objects.filter(image__file_name=dropped).update(blacklist_reason="drawing")
    second = sample_testset(testset_name="v2", from_revision=1, **THRESHOLD)
    (added,) = {image["file_name"] for image in second["images"]} - {image["file_name"] for image in first["images"]}
    client = client_for(admin)
    count, response = queries_of(lambda: client.get("/testsets/v2/revisions/1/compare/2/"))
    page = response.content.decode()
    assert f'<span class="tsr-name tsr-name--added">{added}</span>' in page
    assert f'<span class="tsr-name tsr-name--removed">{dropped}</span>' in page
    assert "2 kept" in page and count <= 8, count
    same = client.get("/testsets/v2/revisions/2/compare/2/").content.decode()
    assert 'data-testid="empty-compare"' in same and "2 kept" not in same
    assert "3 kept" in client.get("/testsets/v2/revisions/2/compare/2/", {"all": "1"}).content.decode()


@pytest.mark.parametrize(
    ("method", "url", "body", "most"),
    [
        ("post", "/api/testsets/v2/revisions/preview/", THRESHOLD, 16),
        ("post", "/api/testsets/v2/revisions/1/dataset/", None, 40),
        ("get", "/api/testsets/v2/revisions/1/export/?format=json", None, 6),
        ("get", "/api/testsets/v2/revisions/1/export/?format=imagenetv2", None, 6),
        ("get", "/api/testsets/v2/tasks/export/", None, 6),
        ("get", "/api/testsets/v2/frequencies/", None, 6),
        ("post", "/api/testsets/", {"name": "v3", "reference": "val"}, 15),
    ],
)
def test_the_queries_each_api_costs(testset, admin, method, url, body, most):
    sample_testset(testset_name="v2", strategy="top")
    client = client_for(admin)

    def send():
        if method == "get":
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)  # the queries of a streamed answer run as it is read
            return response
        return post_json(client, url, body or {})

    count, _ = queries_of(send)
    assert count <= most, count


# ---------------------------------------------------------------------------------------------------------------
# In Chromium


@BROWSER_DB
def test_an_admin_previews_samples_twice_compares_and_exports(logged_in_page, make_dataset, tmp_path):
    from playwright.sync_api import expect

    testset = build_testset(make_dataset, tmp_path)
    admin = make_user("ada", roles.ADMIN)
    page = logged_in_page(admin, enforce_csp=True)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto("/testsets/v2/revisions/")
    expect(page.get_by_test_id("empty-revisions")).to_be_visible()

    # A preview of the top images, then saved: goldfish, a class of the reference without candidates, falls short.
    page.get_by_test_id("strategy-top").check()
    save = page.get_by_test_id("save-revision")
    expect(save).to_be_disabled()
    page.get_by_test_id("preview").click()
    result = page.get_by_test_id("preview-result")
    expect(result.locator('[data-figure="images"]')).to_have_text("3")
    expect(result.locator('[data-figure="short"]')).to_have_text("1")
    expect(result.locator(f'tr[data-class="{GOLDFISH}"]')).to_contain_text("0 eligible candidates")
    assert Revision.objects.count() == 0
    save.click()
    page.wait_for_url("**/testsets/v2/revisions/1/")
    first = set(RevisionImage.objects.values_list("candidate__image__file_name", flat=True))
    assert len(first) == 3

    # A second revision from the first, with a threshold per class: the image blacklisted since is replaced.
    dropped = sorted(first)[0]
    Candidate.objects.filter(testset=testset, image__file_name=dropped).update(blacklist_reason="drawing")
    page.goto("/testsets/v2/revisions/")
    page.get_by_test_id("strategy-threshold").check()
    page.locator("#sample-seed").fill("11")
    page.locator("#sample-from").select_option("1")
    page.locator("#sample-thresholds").fill(f"{TENCH}=0.9\n{GOLDFISH}=0.5")
    page.get_by_test_id("preview").click()
    expect(result.locator('[data-figure="images"]')).to_have_text("3")
    # Changing an input after the preview asks for a new one before saving.
    page.locator("#sample-seed").fill("12")
    expect(save).to_be_disabled()
    page.locator("#sample-seed").fill("11")
    page.get_by_test_id("preview").click()
    expect(save).to_be_enabled()
    save.click()
    page.wait_for_url("**/testsets/v2/revisions/2/")
    second = Revision.objects.get(number=2)
    assert (second.strategy, second.seed, second.parent.number) == ("threshold", 11, 1)
    assert second.parameters["thresholds"] == {TENCH: 0.9, GOLDFISH: 0.5}

    # The two compared: the one blacklisted is removed, one other added.
    page.goto("/testsets/v2/revisions/")
    compare = page.get_by_test_id("compare")
    expect(compare).to_be_disabled()
    page.locator('[data-compare-pick][value="2"]').check()
    page.locator('[data-compare-pick][value="1"]').check()
    compare.click()
    page.wait_for_url("**/testsets/v2/revisions/1/compare/2/")
    expect(page.locator('[data-change="removed"]')).to_have_text(dropped)
    added = set(RevisionImage.objects.filter(revision=second).values_list("candidate__image__file_name", flat=True))
    expect(page.locator('[data-change="added"]')).to_have_text((added - first).pop())
    expect(page.locator('[data-figure="kept"]')).to_have_text("2")

    # Exported from the second revision's page, as json and as a zip of class-index folders.
    page.goto("/testsets/v2/revisions/2/")
    with page.expect_download() as info:
        page.get_by_test_id("export-json").click()
    rows = json.loads(info.value.path().read_text())
    assert info.value.suggested_filename == "v2-r2.json"
    assert {row["file_name"] for row in rows} == added and {row["bin"] for row in rows} == {4}
    with page.expect_download() as info:
        page.get_by_test_id("export-imagenetv2").click()
    assert info.value.suggested_filename == "v2-r2.zip"
    with zipfile.ZipFile(info.value.path()) as archive:
        assert sorted(archive.namelist()) == sorted(f"0/{name}" for name in added)

    # And made a dataset, which the page then links.
    page.get_by_test_id("make-dataset").click()
    expect(page.get_by_test_id("dataset-link")).to_have_text("Dataset v2-r2")
    assert Revision.objects.get(number=2).dataset.name == "v2-r2"
    assert errors == []
