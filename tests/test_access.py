"""Every row of docs/access.md, requested as an anonymous user and as each role, gets the status the table says;
every URL of the project has a row there."""

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from accounts import roles
from annotate import jobs, labelling
from annotate import services as annotate_services
from annotate.image_import import import_image_folder
from annotate.models import Dataset, Image, ImportBatch, ReviewItem
from annotate.prediction_import import import_predictions
from config import errors
from consensus import services as consensus_services
from evaluation import services as evaluation_services
from evaluation.models import PhaseImage
from labelguide import selectors as guide_selectors
from labelguide import services as guide_services
from nearduplicates.models import SearchJob
from tests.api_world import answered_and_sampled
from tests.conftest import jpeg_bytes, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, JAPANESE_SPANIEL, TENCH
from testsets import services as testset_services
from testsets.frequency_tasks import create_frequency_tasks
from testsets.models import Candidate, TaskImage
from training.models import TaskSource
from training.services import create_training_task, record_answer

TABLE = Path(__file__).resolve().parents[1] / "docs" / "access.md"
WHO = ("anonymous", "trainee", "reviewer", "guide editor", "admin")
COLUMNS = ("path", "method", *WHO, "note")


def table_rows():
    """The rows of the table in docs/access.md as dicts keyed by COLUMNS."""
    lines = [line.strip() for line in TABLE.read_text().splitlines() if line.startswith("|")]
    header, _, *body = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines)
    assert tuple(header) == COLUMNS, header
    return [dict(zip(COLUMNS, (cell.strip("`") for cell in cells), strict=True)) for cells in body]


ROWS = table_rows()


def image_folder(root, files):
    """Each file of its own colour, so that no two images share a file by chance."""
    for wnid, names in files.items():
        (root / wnid).mkdir(parents=True)
        for name in names:
            digest = hashlib.sha256(f"{root.name}/{wnid}/{name}".encode()).digest()
            (root / wnid / name).write_bytes(jpeg_bytes(tuple(digest[:3])))
    return root


def dataset_with_predictions(root, name, files, top1):
    import_image_folder(dataset_name=name, directory=image_folder(root / name, files))
    csv = root / f"{name}.csv"
    csv.write_text("filename,top1\n" + "".join(f"{file},{wnid}\n" for file, wnid in top1.items()))
    import_predictions(model_name="resnet-sim", dataset_name=name, path=csv)
    return Dataset.objects.get(name=name)


def build_world(root):
    """The users and objects the table's placeholders name (see docs/access.md)."""
    users = {
        "trainee": make_user("tom", roles.TRAINEE),
        "reviewer": make_user("rita", roles.REVIEWER),
        "guide editor": make_user("gus", roles.GUIDE_EDITOR),
        "admin": make_user("ada", roles.ADMIN),
    }
    users["admin"].is_staff = True
    users["admin"].save()
    other_trainee = make_user("tina", roles.TRAINEE)

    dataset = dataset_with_predictions(
        root,
        "val",
        {TENCH: ["a.JPEG", "b.JPEG"], CHIHUAHUA: ["c.JPEG", "d.JPEG"]},
        {"a.JPEG": GOLDFISH, "b.JPEG": GREAT_WHITE, "c.JPEG": JAPANESE_SPANIEL, "d.JPEG": TENCH},
    )
    crowd = dataset_with_predictions(root, "crowd", {TENCH: ["x.JPEG"]}, {"x.JPEG": GOLDFISH})
    labelling.set_policy(dataset=crowd, rule="majority", overlap=2, user=users["admin"])
    disputed = ReviewItem.objects.get(dataset=crowd, wnid=GOLDFISH)
    for user, verdict in ((users["reviewer"], "correct"), (users["admin"], "wrong")):
        annotate_services.set_verdict(item_id=disputed.pk, reviewer=user, value=verdict)

    task = create_training_task(
        name="first steps", dataset_name="val", source=TaskSource.SLICE, offset_start=0, offset_end=4
    )
    answer, _ = record_answer(task=task, trainee=users["trainee"], image_id=task.image_ids[0], wnid=TENCH)
    other_answer, _ = record_answer(task=task, trainee=other_trainee, image_id=task.image_ids[0], wnid=GOLDFISH)

    phase = evaluation_services.create_phase(
        name="blind", datasets={"val": 1}, participants=["tom", "rita", "tina"], created_by=users["admin"]
    )
    evaluation_services.open_phase(phase)
    phase_image = PhaseImage.objects.select_related("image").get(phase=phase)
    twin_folder = root / "mirror" / phase_image.image.original_wnid
    twin_folder.mkdir(parents=True)
    with phase_image.image.file.open("rb") as handle:
        (twin_folder / "copy.JPEG").write_bytes(handle.read())
    import_image_folder(dataset_name="mirror", directory=root / "mirror")
    phase_suggestion = annotate_services.suggest_label(
        image_id=phase_image.image_id, wnid=JAPANESE_SPANIEL, user=users["admin"]
    )
    blind_task = create_training_task(
        name="crowd images", dataset_name="crowd", source=TaskSource.SLICE, offset_start=0, offset_end=1
    )
    outside_the_phase = Image.objects.filter(dataset=dataset).exclude(pk=phase_image.image_id)
    image, golden_image = outside_the_phase.order_by("position")[:2]
    item = ReviewItem.objects.filter(image=image).first()
    golden = ReviewItem.objects.filter(image=golden_image).first()
    consensus_services.mark_golden(item_id=golden.pk, answer="correct", user=users["admin"])
    suggestion = annotate_services.suggest_label(image_id=image.pk, wnid=JAPANESE_SPANIEL, user=users["trainee"])

    page = guide_services.create_page(
        author=users["guide editor"], title="Tench or goldfish", body="Look at the fins.", wnids=[TENCH, GOLDFISH]
    )
    attachment = guide_services.add_attachment(
        page=page, data=jpeg_bytes(), name="fins.jpg", uploaded_by=users["guide editor"]
    )
    job = jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name="val", enqueue=lambda job_id, shard_ids: None
    )
    testset_services.create_testset(name="fresh", reference_name="val")
    testset_services.import_candidates(
        testset_name="fresh", directory=image_folder(root / "pool", {TENCH: ["p.JPEG", "q.JPEG"]})
    )
    create_frequency_tasks(
        testset_name="fresh", per_task=4, positive_controls=1, negative_controls=1, annotators=2, min_reference=0
    )
    task_image = TaskImage.objects.first()
    testset_revision = answered_and_sampled(task_image.task)
    placeholders = {
        "dataset": dataset.name,
        "image": image.pk,
        "item": item.pk,
        "phase_image": phase_image.image_id,
        "phase_item": ReviewItem.objects.filter(image_id=phase_image.image_id).first().pk,
        "phase_twin": Image.objects.get(dataset__name="mirror").pk,
        "phase_suggestion": phase_suggestion.pk,
        "blind_task": blind_task.pk,
        "other_image": disputed.image_id,
        "adjudication_item": disputed.pk,
        "golden": golden.pk,
        "suggestion": suggestion.pk,
        "model": "resnet-sim",
        "import_batch": ImportBatch.objects.filter(dataset=dataset, kind="predictions").first().pk,
        "job": job.pk,
        "wnid": TENCH,
        "page": page.slug,
        "revision": guide_selectors.latest_revision(page).pk,
        "attachment": attachment.pk,
        "task": task.pk,
        "answer": answer.pk,
        "other_answer": other_answer.pk,
        "other_trainee": other_trainee.username,
        "phase": phase.pk,
        "token": phase_image.token,
        "other_participant": other_trainee.username,
        "testset": "fresh",
        "frequency_task": task_image.task_id,
        "task_token": task_image.token,
        "candidate": Candidate.objects.filter(testset__name="fresh").first().pk,
        "testset_revision": testset_revision,
        "near_duplicate_search": SearchJob.objects.create(testset=task_image.task.testset, metric="pixel").pk,
        "metric": "pixel",
    }
    return SimpleNamespace(users=users, placeholders=placeholders, disputed=disputed)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module inside a transaction; each test runs in a savepoint of it (the `db` fixture), so
    the writes of one row never reach the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world(tmp_path_factory.mktemp("access"))
        transaction.set_rollback(True)


def send(client, method, url):
    if method in ("GET", "POST", "DELETE"):
        return getattr(client, method.lower())(url)
    return getattr(client, method.lower())(url, "{}", content_type="application/json")


def to_login(response):
    location = response.get("Location", "")
    return response.status_code == 302 and urlsplit(location).path.endswith("/login/") and "next=" in location


@pytest.mark.parametrize(
    ("row", "who"),
    [(row, who) for row in ROWS for who in WHO],
    ids=[f"{row['method']} {row['path']} as {who}" for row in ROWS for who in WHO],
)
def test_access_table(db, world, row, who):
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    path = row["path"]
    response = send(client, row["method"], path.format_map(world.placeholders))
    status, expected = response.status_code, row[who]
    if expected in ("yes", "own"):
        assert status not in (401, 403, 404, 405) and not to_login(response), status
    elif expected == "hidden":
        assert status == 404, status
    elif path.startswith("/api/"):
        assert expected == "no" and status in (401, 403), status
    elif who == "anonymous":
        assert expected == "no" and to_login(response), status
    else:
        # Django's admin sends a logged-in user who is not staff to its own login page.
        assert expected == "no" and (status == 403 or path.startswith("/admin/") and to_login(response)), status


def url_patterns(patterns, prefix="/"):
    """(route, view) of every URL pattern, Django's admin left out (the table has one row for it)."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route != "/admin/":
                yield from url_patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and pattern.callback is not errors.page_not_found:
            # The catch-all that answers 404 to every address nothing else matches is no URL of the app.
            yield route, pattern.callback


def generic(route):
    """A route or a table path with its parameters as {} and no query string."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", route.split("?")[0])


def api_methods(view):
    cls = getattr(view, "cls", None)
    if cls is None or not issubclass(cls, APIView):
        return set()
    return {method.upper() for method in ("get", "post", "put", "patch", "delete") if hasattr(cls, method)}


def test_the_table_has_every_url_and_api_method():
    in_table = {(generic(row["path"]), row["method"]) for row in ROWS}
    paths = {path for path, _ in in_table}
    routes = dict(url_patterns(get_resolver().url_patterns))
    assert sorted(set(map(generic, routes)) - paths) == [], "URLs missing from docs/access.md"
    assert sorted(paths - set(map(generic, routes)) - {"/admin/"}) == [], "rows of docs/access.md that are no URL"
    missing_methods = {(generic(route), method) for route, view in routes.items() for method in api_methods(view)}
    assert sorted(missing_methods - in_table) == [], "API methods missing from docs/access.md"


def test_reviewers_read_only_their_own_blind_verdicts_in_an_images_history(db, world):
    """On items several reviewers answer blind, another reviewer's vote or an adjudication would tell the answer."""
    url = f"/api/images/{world.disputed.image_id}/history/"

    def voters(who):
        client = Client()
        client.force_login(world.users[who])
        return [(entry["kind"], entry["reviewer"]) for entry in client.get(url).json()["history"]]

    assert voters("reviewer") == [("verdict", "rita")]
    assert voters("admin") == [("verdict", "rita"), ("verdict", "ada")]
    consensus_services.adjudicate(item_id=world.disputed.pk, adjudicator=world.users["admin"], value="unclear")
    assert voters("reviewer") == [("verdict", "rita")]
    assert voters("admin")[-1] == ("adjudication", "ada")


def test_participants_are_never_handed_an_image_of_their_open_phase(db, world):
    reviewer = Client()
    reviewer.force_login(world.users["reviewer"])
    handed = set()
    while (response := reviewer.get("/api/review/next/", {"dataset": "val", "keep": list(handed)})).status_code == 200:
        handed.add(response.json()["id"])
    assert response.status_code == 204
    assert world.placeholders["phase_image"] not in handed and handed
