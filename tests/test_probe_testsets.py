"""The findings of the outside probe of new test sets (issue 15): what its API, pages and commands refuse, who may
use them, and what must never be half-written; one test per finding, and the checks that held."""

import csv
import io
import json
import threading
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts import roles
from annotate.models import Dataset, Image
from annotate.spreadsheets import FORMULA_STARTS
from evaluation import services as evaluation_services
from tests.conftest import client_for, jpeg_bytes, make_user
from tests.wnids import GOLDFISH, TENCH
from testsets import services
from testsets.frequency_tasks import create_frequency_tasks, recount_frequencies, submit_assignment
from testsets.models import (
    Assignment,
    Candidate,
    FrequencyTask,
    Revision,
    RevisionImage,
    SelectionFrequency,
    TaskImage,
)
from testsets.models import TestSet as NewTestSet  # pytest would take a class named Test... for tests
from testsets.revisions import sample_testset

REFERENCE = {
    TENCH: {f"tench{i}.JPEG": (250, 20 * i, 20) for i in range(4)},
    GOLDFISH: {f"gold{i}.JPEG": (20, 250, 20 * i) for i in range(4)},
}
# A class of ImageNet that the test set does not hold.
BRAMBLING = "n01530575"
# Candidate file names a spreadsheet would run as formulas, and ones the CSV must quote.
FORMULA_NAMES = ["=1+1.jpg", "+SUM(A1).jpg", "-2+3.jpg", "@cmd.jpg", " =x.jpg", "＝y.jpg"]
PLAIN_NAMES = ['t"q".jpg', "a,b.jpg"]


def build(make_dataset, tmp_path, name="v2", tench=None, annotators=("a",)):
    """Test set `name` against val (four tench and four goldfish reference images): tench and goldfish candidates in
    tasks of four with one control of each kind, three assignments wanted per task, each task answered (everything
    selected) by `annotators`; one annotation is enough for a frequency to count."""
    if not NewTestSet.objects.exists():
        make_dataset(name="val", predictions={}, files=REFERENCE)
    pool = {TENCH: tench or [f"t{i}.jpg" for i in range(6)], GOLDFISH: [f"g{i}.jpg" for i in range(3)]}
    root = tmp_path / f"{name}-pool"
    for wnid, names in pool.items():
        (root / wnid).mkdir(parents=True)
        for index, file_name in enumerate(names):
            (root / wnid / file_name).write_bytes(jpeg_bytes((index * 30 % 256, 90, 200 if wnid == TENCH else 40)))
    testset = services.create_testset(name=name, reference_name="val", per_class=3)
    services.import_candidates(testset_name=name, directory=root)
    create_frequency_tasks(
        testset_name=name, per_task=4, positive_controls=1, negative_controls=1, annotators=3, min_reference=0
    )
    for username in annotators:
        annotator = make_user(f"{name}-{username}", roles.ANNOTATOR)
        for task in FrequencyTask.objects.filter(testset=testset):
            submit_assignment(
                task=task, annotator=annotator, selected_tokens=list(task.images.values_list("token", flat=True))
            )
    NewTestSet.objects.filter(pk=testset.pk).update(min_annotations=1)
    testset.refresh_from_db()
    return testset


def written(testset):
    """What the test set's writes change: assignments, accounts, frequencies, tasks' answered counts, candidates."""
    return (
        Assignment.objects.filter(task__testset=testset).count(),
        User.objects.count(),
        sorted(SelectionFrequency.objects.filter(testset=testset).values_list("image_id", "annotations", "selected")),
        sorted(FrequencyTask.objects.filter(testset=testset).values_list("pk", "answered")),
        Candidate.objects.filter(testset=testset).count(),
    )


def selection_line(task, annotator, **extra):
    return json.dumps({"task": task.pk, "annotator": annotator, "selected": [], **extra})


@pytest.fixture
def admin(db):
    return make_user("ada", roles.ADMIN)


# ---- Findings: these fail on the code as probed ---------------------------------------------------------------------


def test_the_frequencies_csv_keeps_file_names_that_start_a_formula_as_text(make_dataset, tmp_path, admin):
    """GET .../frequencies/ and selection_frequencies wrote a candidate named "=1+1.jpg" as a bare cell, which a
    spreadsheet runs as a formula; every other CSV of the app goes through annotate.spreadsheets."""
    build(make_dataset, tmp_path, tench=FORMULA_NAMES + PLAIN_NAMES)
    response = client_for(admin).get("/api/testsets/v2/frequencies/")
    out = tmp_path / "frequencies.csv"
    call_command("selection_frequencies", "--testset", "v2", "--out", str(out), stdout=io.StringIO())
    for text in (b"".join(response.streaming_content).decode(), out.read_text(encoding="utf-8")):
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["file_name", "wnid", "role", "annotations", "selected", "frequency"]
        names = [row[0] for row in rows[1:]]
        assert not [name for name in names if name.lstrip().startswith(FORMULA_STARTS)], names
        assert {f"'{name}" for name in FORMULA_NAMES} <= set(names)
        assert set(PLAIN_NAMES) <= set(names)


@pytest.mark.parametrize("submitted_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_an_imported_time_python_cannot_read_back_is_refused(make_dataset, tmp_path, admin, submitted_at):
    """import_selections took submitted_at 0001-01-01T00:00:00+01:00 (year 0 in UTC) and 9999-12-31T23:00-05:00
    (year 10000): stored, then GET .../annotators/ and the annotators' page answered 500 for good. The grid's own
    submit refuses such a started_at with 400 ("Datetime value out of range")."""
    testset = build(make_dataset, tmp_path)
    task = FrequencyTask.objects.filter(testset=testset).first()
    client = client_for(admin)
    before = written(testset)
    response = client.post(
        "/api/testsets/v2/selections/",
        selection_line(task, "crowd1", submitted_at=submitted_at),
        content_type="application/jsonl",
    )
    if response.status_code == 400:
        assert "submitted_at" in response.json()["file"]
        assert written(testset) == before
    else:
        assert response.status_code == 201
    assert client.get("/api/testsets/v2/annotators/").status_code == 200
    assert client.get("/testsets/v2/annotators/").status_code == 200


@pytest.mark.parametrize("date_taken", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_manifest_date_python_cannot_read_back_is_refused(make_dataset, tmp_path, admin, date_taken):
    """import_candidates --manifest took date_taken 0001-01-01T00:00:00+01:00: the class's candidate list
    (GET .../classes/{wnid}/candidates/) then answered 500, and the ORM cannot even delete the candidate."""
    testset = build(make_dataset, tmp_path)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"early.jpg,{TENCH},,source,key,{date_taken},\n")
    before = Candidate.objects.filter(testset=testset).count()
    try:
        call_command("import_candidates", "--testset", "v2", "--manifest", str(manifest), stdout=io.StringIO())
    except CommandError as refusal:
        assert "date_taken" in str(refusal)
        assert Candidate.objects.filter(testset=testset).count() == before
    assert client_for(admin).get(f"/api/testsets/v2/classes/{TENCH}/candidates/").status_code == 200


def test_a_task_that_has_all_its_answers_takes_no_more(make_dataset, tmp_path):
    """A task wanting 3 assignments took a 4th, 5th, ... from annotators it was never served to (task ids count up
    from 1, and an empty selection needs no token): POST .../tasks/{id}/assignment/ checks neither that the task
    still wants answers nor that it is open to the annotator."""
    testset = build(make_dataset, tmp_path, annotators=("a", "b", "c"))
    task = FrequencyTask.objects.filter(testset=testset).first()
    assert task.answered == task.assignments_wanted == 3
    late = make_user("late", roles.ANNOTATOR)
    assert client_for(late).get("/api/testsets/v2/tasks/next/").json()["task"] is None
    response = client_for(late).post(
        f"/api/testsets/v2/tasks/{task.pk}/assignment/", {"selected": []}, content_type="application/json"
    )
    assert response.status_code == 409
    task.refresh_from_db()
    assert task.answered == task.assignments.count() == 3


def test_a_task_holding_an_image_closed_to_the_annotator_takes_no_answer_from_them(make_dataset, tmp_path, admin):
    """While an evaluation phase over the reference is open, its participants are never served a task whose controls
    are its images, and the images' tokens answer 404; yet a POST to such a task's assignment/ was stored (201)."""
    testset = build(make_dataset, tmp_path)
    annotator = make_user("ann", roles.ANNOTATOR)
    phase = evaluation_services.create_phase(name="blind", datasets={"val": 8}, participants=["ann"], created_by=admin)
    evaluation_services.open_phase(phase)
    client = client_for(annotator)
    assert client.get("/api/testsets/v2/tasks/next/").json()["task"] is None
    task = FrequencyTask.objects.filter(testset=testset).first()
    assert client.get(f"/testsets/task-images/{task.images.filter(role='positive').get().token}.jpg").status_code == 404
    response = client.post(
        f"/api/testsets/v2/tasks/{task.pk}/assignment/", {"selected": []}, content_type="application/json"
    )
    assert response.status_code in (404, 409)
    assert not Assignment.objects.filter(annotator=annotator).exists()


def test_an_annotator_learns_no_file_name_or_reference_image_from_the_image_urls(make_dataset, tmp_path):
    """An annotator gets a trainee's rights outside the grid (docs/access.md), and so /images/{id}/original of any
    image, with its file name in Content-Disposition, ids counting up: the whole reference, the dataset the
    controls come from, with file names, and the pool's file names, which the grid hides behind tokens."""
    testset = build(make_dataset, tmp_path)
    client = client_for(make_user("ann", roles.ANNOTATOR))
    for image in (
        Image.objects.filter(dataset=testset.reference).first(),
        Image.objects.filter(dataset=testset.pool).first(),
    ):
        response = client.get(f"/images/{image.pk}/original")
        assert response.status_code in (403, 404), (image.file_name, response.get("Content-Disposition"))


# ---- What held: these pass ----------------------------------------------------------------------------------------


ADMIN_ENDPOINTS = [
    ("get", "/api/testsets/"),
    ("post", "/api/testsets/"),
    ("get", "/api/testsets/v2/"),
    ("post", "/api/testsets/v2/candidates/{candidate}/blacklist/"),
    ("get", "/api/testsets/v2/revisions/"),
    ("post", "/api/testsets/v2/revisions/"),
    ("post", "/api/testsets/v2/revisions/preview/"),
    ("get", "/api/testsets/v2/revisions/{revision}/compare/{revision}/"),
    ("post", "/api/testsets/v2/revisions/{revision}/dataset/"),
    ("get", "/api/testsets/v2/revisions/{revision}/export/"),
    ("get", "/api/testsets/v2/annotators/"),
    ("get", "/api/testsets/v2/classes/"),
    ("get", f"/api/testsets/v2/classes/{TENCH}/candidates/"),
    ("get", f"/api/testsets/v2/classes/{TENCH}/reference/"),
    ("post", "/api/testsets/v2/tasks/"),
    ("get", "/api/testsets/v2/tasks/export/"),
    ("post", "/api/testsets/v2/selections/"),
    ("get", "/api/testsets/v2/frequencies/"),
    ("get", "/testsets/v2/"),
    ("get", f"/testsets/v2/classes/{TENCH}/"),
    ("get", "/testsets/v2/annotators/"),
    ("get", "/testsets/v2/revisions/"),
    ("get", "/testsets/v2/revisions/{revision}/"),
    ("get", "/testsets/v2/revisions/{revision}/compare/{revision}/"),
]


@pytest.mark.parametrize("role", [roles.TRAINEE, roles.REVIEWER, roles.GUIDE_EDITOR, roles.ANNOTATOR])
def test_only_admins_reach_the_admins_endpoints_and_nothing_is_written(make_dataset, tmp_path, role):
    testset = build(make_dataset, tmp_path)
    revision = sample_testset(testset_name="v2", strategy="top")["revision"]
    candidate = Candidate.objects.filter(testset=testset).first().pk
    client = client_for(make_user("someone", role))
    before = (written(testset), Revision.objects.count(), FrequencyTask.objects.count(), Dataset.objects.count())
    for method, url in ADMIN_ENDPOINTS:
        url = url.format(candidate=candidate, revision=revision)
        body = {"strategy": "top"} if "revisions" in url else {"name": "x", "reference": "val", "reason": "drawing"}
        response = client.get(url) if method == "get" else client.post(url, body, content_type="application/json")
        assert response.status_code == 403, (role, url, response.status_code)
    after = (written(testset), Revision.objects.count(), FrequencyTask.objects.count(), Dataset.objects.count())
    assert after == before


def test_an_annotator_sees_tokens_only_never_file_names_ids_or_roles(make_dataset, tmp_path):
    build(make_dataset, tmp_path)
    client = client_for(make_user("ann", roles.ANNOTATOR))
    answer = client.get("/api/testsets/v2/tasks/next/")
    page = client.get("/testsets/v2/annotate/").content.decode()
    text = json.dumps(answer.json())
    secrets = set(Image.objects.values_list("file_name", flat=True))
    assert not [name for name in secrets if name in text or name in page]
    assert not [word for word in ("positive", "negative", "control", "reference") if word in text.lower()]
    images = answer.json()["task"]["images"]
    assert {image["token"] for image in images} == set(
        TaskImage.objects.filter(task_id=answer.json()["task"]["id"]).values_list("token", flat=True)
    )
    assert {key for image in images for key in image} == {"token", "url"}
    served = client.get(images[0]["url"])
    assert served.status_code == 200 and "Content-Disposition" not in served


def test_another_test_sets_ids_answer_404_and_write_nothing(make_dataset, tmp_path, admin):
    testset = build(make_dataset, tmp_path)
    other = build(make_dataset, tmp_path, name="v3")
    foreign_candidate = Candidate.objects.filter(testset=other).first().pk
    foreign_task = FrequencyTask.objects.filter(testset=other).first()
    client = client_for(admin)
    before = written(testset), written(other)
    assert (
        client.post(
            f"/api/testsets/v2/candidates/{foreign_candidate}/blacklist/",
            {"reason": "drawing"},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/testsets/v2/tasks/{foreign_task.pk}/assignment/", {"selected": []}, content_type="application/json"
        ).status_code
        == 404
    )
    for number in (0, 2**31, 2**63):
        assert client.get(f"/api/testsets/v2/revisions/{number}/compare/{number}/").status_code == 404
        assert client.post(f"/api/testsets/v2/candidates/{number}/blacklist/", {"reason": ""}).status_code == 404
    imported = client.post(
        "/api/testsets/v2/selections/",
        selection_line(FrequencyTask.objects.filter(testset=testset).first(), "crowd1")
        + "\n"
        + selection_line(foreign_task, "crowd2"),
        content_type="application/jsonl",
    )
    assert imported.status_code == 400 and "is not a task of test set 'v2'" in imported.json()["file"]
    assert (written(testset), written(other)) == before


@pytest.mark.parametrize(
    "bad_line",
    [
        "{bad",
        '{"task": NaN, "annotator": "x", "selected": []}',
        '{"task": 1.0, "annotator": "x", "selected": []}',
        json.dumps({"task": 2**70, "annotator": "x", "selected": []}),
        json.dumps({"task": 1, "annotator": " x", "selected": []}),
        json.dumps({"task": 1, "annotator": "x", "selected": "abc"}),
        json.dumps({"task": 1, "annotator": "x", "selected": [], "extra": 1}),
        json.dumps({"task": 1, "annotator": "x", "selected": [], "started_at": "yesterday"}),
        "[" * 100_000,
    ],
)
def test_one_bad_selection_line_among_good_ones_writes_nothing(make_dataset, tmp_path, admin, bad_line):
    testset = build(make_dataset, tmp_path)
    good = [selection_line(task, f"crowd{task.pk}") for task in FrequencyTask.objects.filter(testset=testset)]
    before = written(testset)
    response = client_for(admin).post(
        "/api/testsets/v2/selections/", "\n".join([*good, bad_line]), content_type="application/jsonl"
    )
    assert response.status_code == 400
    assert f":{len(good) + 1}:" in response.json()["file"]
    assert written(testset) == before


@pytest.mark.django_db(transaction=True)
def test_one_annotators_concurrent_submits_of_a_task_store_one_assignment(make_dataset, tmp_path):
    testset = build(make_dataset, tmp_path)
    annotator = make_user("ann", roles.ANNOTATOR)
    task = FrequencyTask.objects.filter(testset=testset).first()
    tokens = list(task.images.values_list("token", flat=True))
    statuses, barrier = [], threading.Barrier(4)

    def submit(count):
        client = client_for(annotator)
        barrier.wait()
        url = f"/api/testsets/v2/tasks/{task.pk}/assignment/"
        statuses.append(client.post(url, {"selected": tokens[:count]}, content_type="application/json").status_code)
        connection.close()

    threads = [threading.Thread(target=submit, args=(count % 4,)) for count in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    task.refresh_from_db()
    assert task.answered == task.assignments.count() == 2
    # The one submit that was stored moved the frequencies exactly as a recount counts them.
    recount = recount_frequencies(testset)
    assert (recount["added"], recount["changed"], recount["removed"]) == (0, 0, 0)


def test_the_imagenetv2_zip_holds_class_index_folders_of_bare_file_names(make_dataset, tmp_path, admin):
    build(make_dataset, tmp_path, tench=FORMULA_NAMES + PLAIN_NAMES)
    revision = sample_testset(testset_name="v2", strategy="top", per_class=20)["revision"]
    response = client_for(admin).get(f"/api/testsets/v2/revisions/{revision}/export/", {"format": "imagenetv2"})
    assert response["Content-Disposition"] == f'attachment; filename="v2-r{revision}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    for member in archive.namelist():
        folder, name = member.split("/")
        assert folder in {"0", "1"} and name and ".." not in member.split("/")


COMMAND_REFUSALS = [
    ("create_testset", "bad/name", "--reference", "val"),
    ("create_testset", "n1", "--reference", "val", "--per-class", "0"),
    ("create_testset", "v2", "--reference", "val"),
    ("import_candidates", "--testset", "v2"),
    ("import_candidates", "{tmp}/missing", "--testset", "v2"),
    ("create_frequency_tasks", "--testset", "v2", "--per-task", "2"),
    ("create_frequency_tasks", "--testset", "v2", "--annotators", "-1"),
    ("create_frequency_tasks", "--testset", "nope"),
    ("export_frequency_tasks", "--testset", "v2", "--out", "{tmp}/missing/tasks.jsonl"),
    ("import_selections", "{tmp}/missing.jsonl", "--testset", "v2"),
    ("selection_frequencies", "--testset", "v2", "--out", "{tmp}"),
    ("sample_testset", "--testset", "v2", "--strategy", "bogus"),
    ("sample_testset", "--testset", "v2", "--strategy", "threshold", "--threshold", "nan"),
    ("sample_testset", "--testset", "v2", "--strategy", "top", "--seed", str(2**64)),
    ("sample_testset", "--testset", "v2", "--strategy", "top", "--from", "99"),
    ("export_testset", "--testset", "v2", "--revision", "1", "--format", "csv", "--out", "{tmp}/e.json"),
    ("export_testset", "--testset", "v2", "--revision", str(2**63), "--format", "json", "--out", "{tmp}/e.json"),
    ("export_testset", "--testset", "v2", "--revision", "1", "--format", "imagenetv2", "--out", "{tmp}"),
    ("testset_status", "nope"),
]


@pytest.mark.parametrize("arguments", COMMAND_REFUSALS, ids=lambda arguments: " ".join(arguments[:4]))
def test_commands_refuse_bad_arguments_with_one_line_and_write_nothing(make_dataset, tmp_path, arguments):
    testset = build(make_dataset, tmp_path)
    sample_testset(testset_name="v2", strategy="top")
    before = written(testset), NewTestSet.objects.count(), Revision.objects.count(), FrequencyTask.objects.count()
    with pytest.raises(CommandError) as refusal:
        call_command(*(argument.format(tmp=tmp_path) for argument in arguments), stdout=io.StringIO())
    assert str(refusal.value) and "\n" not in str(refusal.value) and "Traceback" not in str(refusal.value)
    after = written(testset), NewTestSet.objects.count(), Revision.objects.count(), FrequencyTask.objects.count()
    assert after == before
    assert not (tmp_path / "e.json").exists()


# ---- Fixed with the findings, beyond what the probe tried -----------------------------------------------------------


def post_assignment(client, task, **body):
    return client.post(
        f"/api/testsets/v2/tasks/{task.pk}/assignment/", {"selected": [], **body}, content_type="application/json"
    )


def test_a_grid_submit_started_after_it_is_refused_by_name(make_dataset, tmp_path):
    """import_selections refuses started_at after submitted_at; the grid's submit did not. A browser's clock a
    little ahead of the server's is taken as the submit time."""
    testset = build(make_dataset, tmp_path)
    task = FrequencyTask.objects.filter(testset=testset).first()
    client = client_for(make_user("ann", roles.ANNOTATOR))
    before = written(testset)
    refused = post_assignment(client, task, started_at=(timezone.now() + timedelta(hours=1)).isoformat())
    assert refused.status_code == 400 and "is after the submit time" in refused.json()["started_at"]
    assert written(testset) == before
    ahead = post_assignment(client, task, started_at=(timezone.now() + timedelta(minutes=1)).isoformat())
    assert ahead.status_code == 201
    stored = Assignment.objects.get(task=task, annotator__username="ann")
    assert stored.started_at == stored.submitted_at


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_many_annotators_fill_a_task_exactly(make_dataset, tmp_path):
    """A task wanting 3 answers, with 1: of five annotators submitting at once, two are stored, three refused."""
    testset = build(make_dataset, tmp_path)
    task = FrequencyTask.objects.filter(testset=testset).first()
    people = [make_user(f"ann{number}", roles.ANNOTATOR) for number in range(5)]
    statuses, barrier = [], threading.Barrier(len(people))

    def submit(annotator):
        client = client_for(annotator)
        barrier.wait()
        response = post_assignment(client, task)
        statuses.append((response.status_code, response.json().get("detail", "")))
        connection.close()

    threads = [threading.Thread(target=submit, args=(annotator,)) for annotator in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in statuses) == [201, 201, 409, 409, 409]
    assert all("has all the answers it wants" in detail for status, detail in statuses if status == 409)
    task.refresh_from_db()
    assert task.answered == task.assignments.count() == task.assignments_wanted == 3
    recount = recount_frequencies(testset)
    assert (recount["added"], recount["changed"], recount["removed"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a b", "'a b' is not a username an account may have"),
        ("x/y", "'x/y' is not a username an account may have"),
        ("rev", "rev is an account without the annotator role"),
        ("ada", "ada is an account without the annotator role"),
    ],
)
def test_imported_answers_go_under_annotators_names_only(make_dataset, tmp_path, admin, name, message):
    """import_selections made accounts Django's own forms refuse, and filed answers under an admin's or a
    reviewer's account."""
    testset = build(make_dataset, tmp_path)
    make_user("rev", roles.REVIEWER)
    task = FrequencyTask.objects.filter(testset=testset).first()
    before = written(testset)
    response = client_for(admin).post(
        "/api/testsets/v2/selections/",
        selection_line(task, "crowd1") + "\n" + selection_line(task, name),
        content_type="application/jsonl",
    )
    assert response.status_code == 400 and f":2: {message}" in response.json()["file"]
    assert written(testset) == before
    # An annotator's account takes the answers.
    imported = client_for(admin).post(
        "/api/testsets/v2/selections/", selection_line(task, "v2-a") + "\n", content_type="application/jsonl"
    )
    assert imported.status_code == 400 and "v2-a has answered task" in imported.json()["file"]
    other = FrequencyTask.objects.filter(testset=testset).last()
    make_user("crowd7", roles.ANNOTATOR)
    assert (
        client_for(admin)
        .post("/api/testsets/v2/selections/", selection_line(other, "crowd7"), content_type="application/jsonl")
        .status_code
        == 201
    )


def test_the_grid_says_why_no_task_is_left(make_dataset, tmp_path):
    """The answer without a task never claims the annotator answered tasks they were not shown."""
    testset = build(make_dataset, tmp_path)
    services.create_testset(name="fresh", reference_name="val")
    newcomer = client_for(make_user("newcomer", roles.ANNOTATOR))
    fresh = newcomer.get("/api/testsets/fresh/tasks/next/").json()
    assert fresh["task"] is None and fresh["detail"].startswith("fresh has no tasks yet")
    # The only annotator has answered every task: the others still want answers.
    done = client_for(User.objects.get(username="v2-a")).get("/api/testsets/v2/tasks/next/").json()
    assert done["detail"] == "No task is left for you in v2: you answered every task still open to you."
    FrequencyTask.objects.filter(testset=testset).update(assignments_wanted=1)
    full = newcomer.get("/api/testsets/v2/tasks/next/").json()
    assert full["detail"] == "Every task of v2 has all the answers it wants: there is nothing left to answer."
    assert "you answered" not in fresh["detail"] + full["detail"]


def test_a_revision_with_images_blacklisted_since_becomes_no_dataset(make_dataset, tmp_path, admin):
    testset = build(make_dataset, tmp_path)
    sample_testset(testset_name="v2", strategy="top")
    image = RevisionImage.objects.order_by("pk").first()
    services.set_blacklisted(candidate_id=image.candidate_id, user=admin, reason="drawing")
    client = client_for(admin)
    datasets = Dataset.objects.count()
    refused = client.post("/api/testsets/v2/revisions/1/dataset/")
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("1 image of revision 1 was blacklisted after it was sampled")
    assert Dataset.objects.count() == datasets and Revision.objects.get(number=1).dataset is None
    page = client.get("/testsets/v2/revisions/1/").content.decode()
    assert 'data-testid="blacklisted-since"' in page and "blacklisted: Drawing, painting or render" in page
    assert "data-make-dataset" not in page and "/testsets/v2/revisions/?from=1" in page
    # Sampled again from it, the blacklisted image is left out, and the new revision becomes a dataset.
    resampled = client.post("/api/testsets/v2/revisions/", {"strategy": "top", "from": 1}, "application/json")
    assert resampled.status_code == 201
    assert not RevisionImage.objects.filter(revision__number=2, candidate_id=image.candidate_id).exists()
    assert client.post("/api/testsets/v2/revisions/2/dataset/").status_code == 201
    assert testset.revisions.get(number=2).dataset is not None


def test_sampling_names_what_is_at_fault(make_dataset, tmp_path, admin):
    build(make_dataset, tmp_path)
    client = client_for(admin)
    url = "/api/testsets/v2/revisions/preview/"
    stranger = client.post(url, {"strategy": "threshold", "thresholds": {BRAMBLING: 0.5}}, "application/json")
    assert stranger.status_code == 400 and BRAMBLING in stranger.json()["thresholds"]
    own = client.post(url, {"strategy": "threshold", "thresholds": {TENCH: 0.5}}, "application/json")
    assert own.status_code == 200
    # Nothing sampleable: no one input is at fault.
    NewTestSet.objects.filter(name="v2").update(min_annotations=50)
    empty = client.post(url, {"strategy": "top"}, "application/json")
    assert empty.status_code == 400 and list(empty.json()) == ["detail"]
    assert "no class could be sampled" in empty.json()["detail"]


def test_creating_no_task_says_why(make_dataset, tmp_path, admin):
    build(make_dataset, tmp_path)
    client = client_for(admin)
    body = {"per_task": 4, "positive_controls": 1, "negative_controls": 1, "annotators": 1, "min_reference": 0}
    none = client.post("/api/testsets/v2/tasks/", body, "application/json").json()
    assert none["tasks"] == {"candidates": 0, "reference": 0}
    assert none["why_none"].startswith("no candidate needs a task: of the 9 candidates, 0 are blacklisted")
    services.create_testset(name="fresh", reference_name="val")
    fresh = client.post("/api/testsets/fresh/tasks/", body, "application/json").json()
    assert fresh["why_none"] == "test set 'fresh' has no candidates yet: import some first"
    made = client.post("/api/testsets/v2/tasks/", {**body, "annotators": 5}, "application/json").json()
    assert made["tasks"]["candidates"] > 0 and "why_none" not in made
