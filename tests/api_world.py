"""A small world for the tests that probe the whole API (test_schema_conformance.py, test_refused_requests.py): one
object of each kind the API serves, made with the project's own services, and an API token for each role."""

from types import SimpleNamespace

from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from accounts import roles
from annotate import jobs
from annotate import services as annotate_services
from annotate.image_import import import_image_folder
from annotate.models import Image, ImportBatch, ReviewItem
from annotate.prediction_import import import_predictions
from consensus import services as consensus_services
from evaluation import services as evaluation_services
from evaluation.models import PhaseImage
from labelguide import selectors as guide_selectors
from labelguide import services as guide_services
from nearduplicates.models import SearchJob
from tests.conftest import jpeg_bytes, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, JAPANESE_SPANIEL, TENCH
from testsets import services as testset_services
from testsets.frequency_tasks import create_frequency_tasks, submit_assignment
from testsets.models import Candidate, TaskImage, TestSet
from testsets.revisions import sample_testset
from training.models import TaskSource
from training.services import create_training_task, record_answer

ROLES = ("admin", "reviewer", "trainee")
# The API's OpenAPI schema as GET /api/schema/ serves it.
SPEC = SchemaGenerator().get_schema(request=None, public=True)
FILES = {TENCH: ["a.JPEG", "b.JPEG"], CHIHUAHUA: ["c.JPEG", "d.JPEG"]}
TOP1 = {"a.JPEG": GOLDFISH, "b.JPEG": GREAT_WHITE, "c.JPEG": JAPANESE_SPANIEL, "d.JPEG": TENCH}


def build_world(root):
    """Users of each role (and a second trainee whose objects the others must not reach), a dataset of four images
    with a model's predictions, a golden item, a suggestion, a training task with answers, a draft and an open
    evaluation phase, a guide page with an attachment, a prediction job that never runs and a new test set with one
    selection-frequency task."""
    users = {
        "admin": make_user("ada", roles.ADMIN),
        "reviewer": make_user("rita", roles.REVIEWER),
        "trainee": make_user("tom", roles.TRAINEE),
    }
    other_trainee = make_user("tina", roles.TRAINEE)
    editor = make_user("gus", roles.GUIDE_EDITOR)

    folder = root / "val"
    for index, (wnid, name) in enumerate((wnid, name) for wnid, names in FILES.items() for name in names):
        (folder / wnid).mkdir(parents=True, exist_ok=True)
        # A colour of its own: images with the same content count as one (twins) where access is decided.
        (folder / wnid / name).write_bytes(jpeg_bytes((50 * index, 120, 200 - 50 * index)))
    import_image_folder(dataset_name="val", directory=folder)
    predictions = root / "val.csv"
    predictions.write_text("filename,top1\n" + "".join(f"{name},{wnid}\n" for name, wnid in TOP1.items()))
    import_predictions(model_name="resnet-sim", dataset_name="val", path=predictions)

    images = list(Image.objects.filter(dataset__name="val").order_by("position"))
    items = list(ReviewItem.objects.filter(dataset__name="val").order_by("pk"))
    annotate_services.set_verdict(item_id=items[0].pk, reviewer=users["reviewer"], value="correct")
    consensus_services.mark_golden(item_id=items[1].pk, answer="correct", user=users["admin"])
    suggestion = annotate_services.suggest_label(image_id=images[0].pk, wnid=JAPANESE_SPANIEL, user=users["trainee"])

    draft = evaluation_services.create_phase(
        name="draft", datasets={"val": 1}, participants=["tom"], created_by=users["admin"]
    )
    phase = evaluation_services.create_phase(
        name="blind", datasets={"val": 1}, participants=["tom", "tina"], created_by=users["admin"], seed=1
    )
    evaluation_services.open_phase(phase)
    # Images outside the open phase, which its participants (tom, tina) may see: one answered, one not yet.
    phase_image = PhaseImage.objects.get(phase=phase).image_id
    answered, free = [image.pk for image in images if image.pk != phase_image][:2]

    task = create_training_task(
        name="first steps", dataset_name="val", source=TaskSource.SLICE, offset_start=0, offset_end=4
    )
    answer, _ = record_answer(task=task, trainee=users["trainee"], image_id=answered, wnid=TENCH)
    other_answer, _ = record_answer(task=task, trainee=other_trainee, image_id=answered, wnid=GOLDFISH)

    page = guide_services.create_page(author=editor, title="Tench or goldfish", body="Fins.", wnids=[TENCH, GOLDFISH])
    guide_services.add_attachment(page=page, data=jpeg_bytes(), name="fins.jpg", uploaded_by=editor)
    job = jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name="val", enqueue=lambda job_id, shard_ids: None
    )
    testset_services.create_testset(name="fresh", reference_name="val")
    pool = root / "pool" / TENCH
    pool.mkdir(parents=True)
    for index, name in enumerate(("p.JPEG", "q.JPEG")):
        (pool / name).write_bytes(jpeg_bytes((240, 30 + 90 * index, 10)))
    testset_services.import_candidates(testset_name="fresh", directory=pool.parent)
    create_frequency_tasks(
        testset_name="fresh", per_task=4, positive_controls=1, negative_controls=1, annotators=2, min_reference=0
    )
    task_image = TaskImage.objects.first()
    testset_revision = answered_and_sampled(task_image.task)
    tokens = {role: Token.objects.get_or_create(user=user)[0].key for role, user in users.items()}
    ids = {
        "dataset": "val",
        "model": "resnet-sim",
        "image": images[0].pk,
        "phase_image": phase_image,
        "free_image": free,
        "item": items[0].pk,
        "golden": items[1].pk,
        "suggestion": suggestion.pk,
        "task": task.pk,
        "answer": answer.pk,
        "other_answer": other_answer.pk,
        "phase": phase.pk,
        "draft": draft.pk,
        "page": page.slug,
        "revision": guide_selectors.latest_revision(page).pk,
        "job": job.pk,
        "import_batch": ImportBatch.objects.filter(kind="predictions").first().pk,
        "wnid": TENCH,
        "testset": "fresh",
        "frequency_task": task_image.task_id,
        "task_token": task_image.token,
        "candidate": Candidate.objects.filter(testset__name="fresh").first().pk,
        "testset_revision": testset_revision,
        "near_duplicate_search": SearchJob.objects.create(testset=TestSet.objects.get(name="fresh"), metric="pixel").pk,
        "metric": "pixel",
    }
    return SimpleNamespace(users=users, tokens=tokens, ids=ids)


def module_world(django_db_blocker, tmp_path_factory):
    """The world built once, inside a transaction rolled back at the end (a module-scoped fixture's body): each
    test's `db` savepoint, and each probe's own, keeps it as built."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world(tmp_path_factory.mktemp("api-world"))
        transaction.set_rollback(True)


def report(config, line):
    """Write a line to the terminal, past pytest's output capture (as capsys.disabled() does)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


def answered_and_sampled(task):
    """The number of a revision of the task's test set, sampled once an annotator (of their own, so that the
    world's users still have the task to answer) selected every image of the task, which is all it takes once an
    answer is enough to count."""
    annotator = make_user("anna", roles.ANNOTATOR)
    submit_assignment(task=task, annotator=annotator, selected_tokens=list(task.images.values_list("token", flat=True)))
    TestSet.objects.filter(pk=task.testset_id).update(min_annotations=1)
    return sample_testset(testset_name=task.testset.name, strategy="top")["revision"]
