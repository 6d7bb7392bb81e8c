"""Training tasks: creation, parts, answers and their correctness, statistics, permissions, query counts."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

import taxonomy
from accounts import roles
from annotate import services
from annotate.image_import import import_image_folder
from annotate.models import Image, ReviewItem, Suggestion
from tests.conftest import make_user
from tests.wnids import CHIHUAHUA, DOG, GOLDFISH, JAPANESE_SPANIEL, TENCH
from training import hierarchy, selectors, stats
from training.models import DEFAULT_INSTRUCTIONS, PART_SIZE, TaskSource, TrainingAnswer, TrainingTask
from training.services import TrainingInputError, create_training_task, record_answer

pytestmark = pytest.mark.django_db

DATASET = "train-set"
# Dataset order (class folders sorted): t1-t3 tench at 0-2, c1-c6 Chihuahua at 3-8, j1-j3 Japanese spaniel
# at 9-11, then an image registered without a file at 12.
TRAINING_FILES = {
    TENCH: {f"t{i}.JPEG": (20 * i, 120, 40) for i in range(1, 4)},
    CHIHUAHUA: {f"c{i}.JPEG": (200, 20 * i, 60) for i in range(1, 7)},
    JAPANESE_SPANIEL: {f"j{i}.JPEG": (60, 60, 30 * i) for i in range(1, 4)},
}


def build_training_dataset(image_folder, name=DATASET):
    """Twelve images with files in three classes, and one registered image whose file has not arrived."""
    import_image_folder(dataset_name=name, directory=image_folder(TRAINING_FILES))
    first = Image.objects.filter(dataset__name=name).first()
    Image.objects.create(
        dataset=first.dataset, position=12, file_name="missing.JPEG", original_wnid=CHIHUAHUA, pending_items=0
    )
    return first.dataset


def slice_task(name="first twelve", start=0, end=13, **extra):
    return create_training_task(
        name=name, dataset_name=DATASET, source=TaskSource.SLICE, offset_start=start, offset_end=end, **extra
    )


def image_named(file_name):
    return Image.objects.get(dataset__name=DATASET, file_name=file_name)


def review(image, wnid, verdict, reviewer):
    """Give a verdict on the image's (image, wnid) item, adding the item as an import would if it is new."""
    item, created = ReviewItem.objects.get_or_create(image=image, wnid=wnid, defaults={"dataset_id": image.dataset_id})
    if created:
        Image.objects.filter(pk=image.pk).update(pending_items=F("pending_items") + 1)
    services.set_verdict(item_id=item.pk, reviewer=reviewer, value=verdict)


def answer_all(task, trainee, wnid_for=lambda image: image.original_wnid, count=None):
    images = Image.objects.in_bulk(task.image_ids)
    for image_id in task.image_ids[:count]:
        record_answer(task=task, trainee=trainee, image_id=image_id, wnid=wnid_for(images[image_id]))


@pytest.fixture
def training_dataset(image_folder):
    return build_training_dataset(image_folder)


# --- creating tasks ----------------------------------------------------------------------------------


def test_slice_task_takes_offsets_in_dataset_order_and_skips_images_without_files(training_dataset, admin_user):
    task = slice_task(created_by=admin_user)
    positions = dict(Image.objects.filter(pk__in=task.image_ids).values_list("pk", "position"))
    assert [positions[pk] for pk in task.image_ids] == list(range(12))
    assert (task.image_count, task.part_count, task.shuffled) == (12, 2, False)
    assert task.instructions == DEFAULT_INSTRUCTIONS
    assert task.source_text == "offsets 0 to 13"
    narrow = slice_task(name="middle", start=3, end=5)
    assert [positions[pk] for pk in narrow.image_ids] == [3, 4]


def test_class_task_takes_the_images_under_a_node_shuffled_by_name(training_dataset):
    # t1 was reviewed: its tench label is wrong, it shows a Chihuahua. It counts as a dog image now.
    t1 = image_named("t1.JPEG")
    rita = make_user("rita", roles.REVIEWER)
    review(t1, TENCH, "wrong", rita)
    review(t1, CHIHUAHUA, "correct", rita)

    task = create_training_task(name="dogs", dataset_name=DATASET, source=TaskSource.CLASSES, node_wnid=DOG)
    names = dict(Image.objects.filter(pk__in=task.image_ids).values_list("pk", "file_name"))
    assert sorted(names.values()) == sorted(
        ["t1.JPEG"] + [f"c{i}.JPEG" for i in range(1, 7)] + ["j1.JPEG", "j2.JPEG", "j3.JPEG"]
    )
    assert task.shuffled and task.image_ids != sorted(task.image_ids, key=lambda pk: image_named(names[pk]).position)
    assert task.source_text == "classes under dog"
    first_order = task.image_ids
    task.delete()
    again = create_training_task(name="dogs", dataset_name=DATASET, source=TaskSource.CLASSES, node_wnid=DOG)
    assert again.image_ids == first_order  # a fixed order, seeded by the name


def test_confusion_group_task(training_dataset):
    task = create_training_task(
        name="toy dogs",
        dataset_name=DATASET,
        source=TaskSource.CONFUSION_GROUP,
        wnids=f"{CHIHUAHUA}, {JAPANESE_SPANIEL}",
    )
    assert task.wnids == [CHIHUAHUA, JAPANESE_SPANIEL] and task.image_count == 9
    assert task.source_text == "confusion group: Chihuahua, Japanese spaniel"
    ordered = create_training_task(
        name="toy dogs in order",
        dataset_name=DATASET,
        source=TaskSource.CONFUSION_GROUP,
        wnids=[JAPANESE_SPANIEL, CHIHUAHUA],
        shuffle=False,
    )
    assert [Image.objects.get(pk=pk).file_name for pk in ordered.image_ids][:2] == ["c1.JPEG", "c2.JPEG"]


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"name": "  "}, "name", "give the task a name"),
        ({"dataset_name": "nope"}, "dataset", "dataset 'nope' does not exist"),
        ({"source": "everything"}, "source", "unknown source 'everything'"),
        ({"offset_start": 5, "offset_end": 2}, "offset", "offsets 5:2 are not a range"),
        ({"offset_start": None}, "offset", "a slice needs integer offsets"),
        ({"offset_start": 1000, "offset_end": 2000}, "images", "no image with a file for offsets 1000 to 2000"),
        ({"offset_start": 12, "offset_end": 13}, "images", "no image with a file"),
        ({"source": TaskSource.CLASSES, "node_wnid": "n99999999"}, "node_wnid", "not a synset of the class hierarchy"),
        ({"source": TaskSource.CLASSES, "node_wnid": ""}, "node_wnid", "needs the wnid of a hierarchy node"),
        ({"source": TaskSource.CLASSES, "node_wnid": GOLDFISH}, "images", "no image with a file for the 1 classes"),
        ({"source": TaskSource.CONFUSION_GROUP, "wnids": TENCH}, "wnids", "at least two class wnids"),
        ({"source": TaskSource.CONFUSION_GROUP, "wnids": [TENCH, DOG]}, "wnids", f"not ImageNet classes: {DOG}"),
    ],
)
def test_bad_task_input_is_refused_and_nothing_is_written(training_dataset, arguments, field, message):
    values = {"name": "t", "dataset_name": DATASET, "source": TaskSource.SLICE, "offset_start": 0, "offset_end": 5}
    with pytest.raises(TrainingInputError, match=message) as error:
        create_training_task(**{**values, **arguments})
    assert error.value.field == field
    assert not TrainingTask.objects.exists()


def test_task_names_are_unique(training_dataset):
    slice_task(name="once")
    with pytest.raises(TrainingInputError, match="a training task named 'once' already exists"):
        slice_task(name="once")


def test_management_command_creates_tasks(training_dataset, capsys):
    call_command("create_training_task", "slice", "--dataset", DATASET, "--offset", "0:10")
    call_command("create_training_task", "dogs", "--dataset", DATASET, "--classes", DOG, "--no-shuffle")
    call_command("create_training_task", "toy", "--dataset", DATASET, "--wnids", f"{CHIHUAHUA},{JAPANESE_SPANIEL}")
    output = capsys.readouterr().out
    assert "'slice': 10 images in 1 parts (offsets 0 to 10 of train-set)" in output
    tasks = {task.name: task for task in TrainingTask.objects.all()}
    assert tasks["dogs"].image_count == 9 and not tasks["dogs"].shuffled
    assert tasks["toy"].source == TaskSource.CONFUSION_GROUP
    with pytest.raises(CommandError, match="expected A:B"):
        call_command("create_training_task", "bad", "--dataset", DATASET, "--offset", "10")
    with pytest.raises(CommandError, match="dataset 'nope' does not exist"):
        call_command("create_training_task", "bad", "--dataset", "nope", "--classes", DOG)


# --- parts, progress, answers ------------------------------------------------------------------------


def test_progress_text_counts_images_and_finished_parts(training_dataset, trainee):
    task = slice_task()
    assert selectors.task_progress(task, trainee)["text"] == "Completed 0 out of 12 images (0 out of 2 parts)"
    answer_all(task, trainee, count=9)
    assert selectors.task_progress(task, trainee)["text"] == "Completed 9 out of 12 images (0 out of 2 parts)"
    images = task.image_ids
    record_answer(task=task, trainee=trainee, image_id=images[9], wnid=JAPANESE_SPANIEL)
    progress = selectors.task_progress(task, trainee)
    assert progress["text"] == "Completed 10 out of 12 images (1 out of 2 parts)"
    for image_id in images[10:]:
        record_answer(task=task, trainee=trainee, image_id=image_id, wnid=JAPANESE_SPANIEL)
    progress = selectors.task_progress(task, trainee)
    assert progress["text"] == "Completed 12 out of 12 images (2 out of 2 parts)"  # the last part has 2 images
    assert progress["finished"] and selectors.next_position(task, trainee) is None
    assert selectors.task_progress(task, make_user("tina", roles.TRAINEE))["answered"] == 0


def test_progress_text_of_the_talk():
    task = TrainingTask(image_count=236)
    parts = dict.fromkeys(range(10), (PART_SIZE, PART_SIZE, 7))
    assert task.part_count == 24
    assert selectors.progress(task, parts)["text"] == "Completed 100 out of 236 images (10 out of 24 parts)"
    assert selectors.progress(task, {**parts, 23: (6, 6, 6)})["parts_done"] == 11  # the last part has 6 images


def test_a_trainee_answers_each_image_once(training_dataset, trainee):
    task = slice_task()
    record_answer(task=task, trainee=trainee, image_id=task.image_ids[0], wnid=TENCH)
    with pytest.raises(TrainingInputError, match="you already answered image"):
        record_answer(task=task, trainee=trainee, image_id=task.image_ids[0], wnid=GOLDFISH)
    assert TrainingAnswer.objects.get().wnid == TENCH


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"wnid": DOG}, "wnid", "not an ImageNet class"),
        ({"image_id": -1}, "image", "is not part of task"),
        ({"seconds_taken": -2}, "seconds_taken", "between 0 and"),
    ],
)
def test_bad_answers_are_refused(training_dataset, trainee, arguments, field, message):
    task = slice_task()
    values = {"task": task, "trainee": trainee, "image_id": task.image_ids[0], "wnid": TENCH}
    with pytest.raises(TrainingInputError, match=message) as error:
        record_answer(**{**values, **arguments})
    assert error.value.field == field
    assert not TrainingAnswer.objects.exists()


def test_correctness_against_the_reviewed_multilabels_or_the_original_label(training_dataset, trainee, reviewer):
    task = slice_task()
    t1, t2, t3 = image_named("t1.JPEG"), image_named("t2.JPEG"), image_named("t3.JPEG")
    # t1: reviewed; tench wrong, goldfish correct, Chihuahua unclear.
    for wnid, verdict in [(TENCH, "wrong"), (GOLDFISH, "correct"), (CHIHUAHUA, "unclear")]:
        review(t1, wnid, verdict, reviewer)
    # t2: only a model's candidate turned down so far: the original label still decides.
    review(t2, GOLDFISH, "wrong", reviewer)
    # t3: its original label reviewed as wrong and nothing else correct: no valid label, no answer is scored.
    review(t3, TENCH, "wrong", reviewer)

    labels = selectors.image_labels([t1, t2, t3, image_named("c1.JPEG")])
    assert labels[t1.pk] == selectors.ImageLabels((GOLDFISH,), (CHIHUAHUA,), "reviewed", GOLDFISH)
    assert labels[t2.pk] == selectors.ImageLabels((TENCH,), (), "original", TENCH)
    assert labels[t3.pk] == selectors.ImageLabels((), (), "reviewed", "")
    assert not labels[t3.pk].has_valid_label and labels[t1.pk].has_valid_label

    tina = make_user("tina", roles.TRAINEE)
    results = {}
    for person, wnid_for in [(trainee, {t1.pk: GOLDFISH, t2.pk: TENCH, t3.pk: TENCH}), (tina, {t1.pk: TENCH})]:
        for image_id, wnid in wnid_for.items():
            answer, _ = record_answer(task=task, trainee=person, image_id=image_id, wnid=wnid)
            results[(person.username, image_id)] = (answer.correct, answer.expected_wnid)
    assert results == {
        ("tom", t1.pk): (True, GOLDFISH),
        ("tom", t2.pk): (True, TENCH),
        ("tom", t3.pk): (None, ""),
        ("tina", t1.pk): (False, GOLDFISH),
    }
    answer, labels = record_answer(task=task, trainee=tina, image_id=t2.pk, wnid=GOLDFISH)
    assert not answer.correct
    unclear_answer, unclear_labels = record_answer(
        task=task, trainee=make_user("ulf", roles.TRAINEE), image_id=t1.pk, wnid=CHIHUAHUA
    )
    feedback = selectors.answer_feedback(unclear_answer, unclear_labels)
    assert not feedback["correct"] and feedback["your_label_unclear"]
    assert [label["wnid"] for label in feedback["unclear_labels"]] == [CHIHUAHUA]


# --- the API -------------------------------------------------------------------------------------------


def test_labeling_through_the_api(client, training_dataset, trainee):
    task = slice_task()
    client.force_login(trainee)
    listed = client.get("/api/training/tasks/").json()
    assert [(t["name"], t["images"], t["parts"], t["progress"]["answered"]) for t in listed] == [
        ("first twelve", 12, 2, 0)
    ]
    first = client.get(f"/api/training/tasks/{task.pk}/next/").json()
    assert first["position"] == 0 and first["part"] == {"number": 1, "of": 2, "size": 10, "image_number": 1}
    assert set(first["image"]) == {"id", "available", "display_url", "width", "height"}  # no file name
    assert first["image"]["display_url"] == f"/images/{task.image_ids[0]}/display"

    response = client.post(
        f"/api/training/tasks/{task.pk}/answers/",
        {"image": first["image"]["id"], "wnid": GOLDFISH, "seconds_taken": 4.5},
        content_type="application/json",
    )
    assert response.status_code == 201
    feedback = response.json()
    assert feedback["correct"] is False
    assert feedback["your_label"]["wnid"] == GOLDFISH and feedback["your_label"]["label"] == "goldfish"
    assert [label["wnid"] for label in feedback["correct_labels"]] == [TENCH]
    assert feedback["labels_source"] == "original" and feedback["suggested"] == []
    assert feedback["part"] == {
        "number": 1,
        "of": 2,
        "size": 10,
        "answered": 1,
        "scored": 1,
        "correct": 0,
        "done": False,
    }
    assert feedback["progress"]["text"] == "Completed 1 out of 12 images (0 out of 2 parts)"
    answer = TrainingAnswer.objects.get()
    assert answer.answered_at - answer.started_at == timedelta(seconds=4.5)

    again = client.post(
        f"/api/training/tasks/{task.pk}/answers/",
        {"image": first["image"]["id"], "wnid": TENCH},
        content_type="application/json",
    )
    assert again.status_code == 400 and "already answered" in again.json()["image"]
    assert client.get(f"/api/training/tasks/{task.pk}/next/").json()["position"] == 1
    bad = client.post(f"/api/training/tasks/{task.pk}/answers/", {"image": "x"}, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()) == {"image", "wnid"}
    assert client.get(f"/api/training/tasks/{task.pk}/answers/").json()[0]["wnid"] == GOLDFISH
    assert client.get("/api/training/tasks/999/next/").status_code == 404


def test_next_answers_204_when_the_task_is_finished(client, training_dataset, trainee):
    task = slice_task(name="two", start=3, end=5)
    answer_all(task, trainee)
    client.force_login(trainee)
    assert client.get(f"/api/training/tasks/{task.pk}/next/").status_code == 204
    assert client.get(f"/api/training/tasks/{task.pk}/").json()["progress"]["finished"] is True


def test_admins_create_tasks_through_the_api(client, training_dataset, admin_user, trainee):
    body = {"name": "dogs", "dataset": DATASET, "source": "classes", "node_wnid": DOG}
    client.force_login(trainee)
    refused = client.post("/api/training/tasks/", body, content_type="application/json")
    assert refused.status_code == 403
    client.force_login(admin_user)
    created = client.post("/api/training/tasks/", body, content_type="application/json")
    assert created.status_code == 201
    assert (created.json()["images"], created.json()["parts"], created.json()["shuffled"]) == (9, 1, True)
    group = {"name": "toy", "dataset": DATASET, "source": "confusion_group", "wnids": [CHIHUAHUA, JAPANESE_SPANIEL]}
    assert client.post("/api/training/tasks/", group, content_type="application/json").status_code == 201
    empty = client.post(
        "/api/training/tasks/",
        {**body, "name": "fish", "node_wnid": GOLDFISH},
        content_type="application/json",
    )
    assert empty.status_code == 400 and "no image with a file" in empty.json()["images"]
    duplicate = client.post("/api/training/tasks/", body, content_type="application/json")
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["name"]
    bad_wnids = client.post(
        "/api/training/tasks/", {**group, "name": "x", "wnids": [1, 2]}, content_type="application/json"
    )
    assert bad_wnids.status_code == 400 and "wnids" in bad_wnids.json()
    assert TrainingTask.objects.count() == 2


def test_a_trainee_cannot_read_another_trainees_answers_or_statistics(client, training_dataset, trainee, admin_user):
    task = slice_task()
    tina = make_user("tina", roles.TRAINEE)
    answer_all(task, tina, count=3)
    client.force_login(trainee)
    assert client.get(f"/api/training/tasks/{task.pk}/answers/?trainee=tina").status_code == 403
    assert client.get("/api/training/stats/?trainee=tina").status_code == 403
    assert client.get("/training/stats/?trainee=tina").status_code == 403
    assert client.get(f"/api/training/tasks/{task.pk}/answers/").json() == []
    tinas_answer = TrainingAnswer.objects.filter(trainee=tina).first()
    suggestion = client.post(
        f"/api/training/answers/{tinas_answer.pk}/suggestions/", {"kind": "problematic", "reason": "drawing"}
    )
    assert suggestion.status_code == 404
    client.force_login(admin_user)
    assert len(client.get(f"/api/training/tasks/{task.pk}/answers/?trainee=tina").json()) == 3
    assert client.get("/api/training/stats/?trainee=tina").json()["summary"]["answered"] == 3
    assert client.get("/api/training/stats/?trainee=nobody").status_code == 404


def test_pages_need_a_login_and_the_task_form_an_admin(client, training_dataset, trainee, admin_user):
    assert client.get("/training/").status_code == 302
    assert client.get("/api/training/tasks/").status_code in (401, 403)
    client.force_login(trainee)
    assert client.get("/training/").status_code == 200
    assert client.get("/training/tasks/new/").status_code == 403
    assert client.post("/training/tasks/new/", {"name": "x"}).status_code == 403
    assert client.get("/training/tasks/999/label/").status_code == 404


def test_the_task_form_creates_a_task_or_names_the_problem(client, training_dataset, admin_user):
    client.force_login(admin_user)
    form = {"name": "first ten", "dataset": DATASET, "source": "slice", "offset_start": "0", "offset_end": "10"}
    page = client.get("/training/tasks/new/")
    assert page.status_code == 200 and DEFAULT_INSTRUCTIONS in page.content.decode()
    refused = client.post("/training/tasks/new/", {**form, "offset_start": "20", "offset_end": "30"})
    assert refused.status_code == 200
    assert "no image with a file for offsets 20 to 30" in refused.content.decode()
    refused = client.post("/training/tasks/new/", {**form, "source": "classes", "node_wnid": "n0"})
    assert "not a synset of the class hierarchy" in refused.content.decode()
    created = client.post("/training/tasks/new/", form, follow=True)
    assert created.redirect_chain == [("/training/", 302)]
    assert "Created “first ten”: 10 images in 1 parts." in created.content.decode()
    task = TrainingTask.objects.get()
    assert (task.created_by, task.shuffled, task.instructions) == (admin_user, False, DEFAULT_INSTRUCTIONS)


# --- statistics ----------------------------------------------------------------------------------------


def test_statistics_per_part_per_day_and_confusions(training_dataset, trainee):
    task = slice_task()
    images = {image.pk: image for image in Image.objects.filter(pk__in=task.image_ids)}
    # Part 1: tench right, c1-c4 called Japanese spaniel, c5-c6 right, j1 called Chihuahua; part 2 all right.
    mistakes = {"c1.JPEG": JAPANESE_SPANIEL, "c2.JPEG": JAPANESE_SPANIEL, "c3.JPEG": JAPANESE_SPANIEL}
    mistakes |= {"c4.JPEG": JAPANESE_SPANIEL, "j1.JPEG": CHIHUAHUA, "t1.JPEG": GOLDFISH}
    yesterday = timezone.now() - timedelta(days=1)
    for index, image_id in enumerate(task.image_ids):
        image = images[image_id]
        at = yesterday if index < 5 else timezone.now()
        wnid = mistakes.get(image.file_name, image.original_wnid)
        record_answer(task=task, trainee=trainee, image_id=image_id, wnid=wnid, at=at)

    data = stats.trainee_stats(trainee, task)
    assert data["summary"] == {"answered": 12, "scored": 12, "right": 6, "accuracy": 0.5, "no_valid_label": 0}
    assert [(row["part"], row["answered"], row["right"]) for row in data["by_part"]] == [(1, 10, 4), (2, 2, 2)]
    assert [(row["answered"], row["right"]) for row in data["by_day"]] == [(5, 2), (7, 4)]
    assert [(c["true"]["label"], c["answered"]["label"], c["count"]) for c in data["confusions"]] == [
        ("Chihuahua", "Japanese spaniel", 4),
        ("tench", "goldfish", 1),
        ("Japanese spaniel", "Chihuahua", 1),
    ]
    assert stats.trainee_stats(trainee)["summary"]["answered"] == 12
    assert stats.trainee_stats(make_user("tina", roles.TRAINEE), task)["summary"]["accuracy"] is None


def test_feedback_and_statistics_agree_on_an_image_without_a_valid_label(client, training_dataset, trainee, reviewer):
    """The original label reviewed wrong and no label correct: feedback shows no correct label and no result, and
    the statistics leave the answer out of accuracy and confusions instead of taking the original label as true."""
    task = slice_task()
    t1, t2 = image_named("t1.JPEG"), image_named("t2.JPEG")
    review(t1, TENCH, "wrong", reviewer)
    review(t1, GOLDFISH, "wrong", reviewer)
    client.force_login(trainee)
    answers_url = f"/api/training/tasks/{task.pk}/answers/"
    feedback = client.post(answers_url, {"image": t1.pk, "wnid": TENCH}, content_type="application/json").json()
    assert feedback["correct"] is None and not feedback["has_valid_label"]
    assert feedback["correct_labels"] == []
    assert feedback["part"] | {"answered": 1, "scored": 0, "correct": 0} == feedback["part"]
    client.post(answers_url, {"image": t2.pk, "wnid": GOLDFISH}, content_type="application/json")

    data = stats.trainee_stats(trainee, task)
    assert data["summary"] == {"answered": 2, "scored": 1, "right": 0, "accuracy": 0.0, "no_valid_label": 1}
    assert [(c["true"]["wnid"], c["answered"]["wnid"]) for c in data["confusions"]] == [(TENCH, GOLDFISH)]
    assert selectors.task_progress(task, trainee) | {"answered": 2, "scored": 1, "accuracy": 0.0} == (
        selectors.task_progress(task, trainee)
    )
    listed = client.get(answers_url).json()
    assert [(row["image"], row["correct"], row["expected_wnid"]) for row in listed] == [
        (t1.pk, None, ""),
        (t2.pk, False, TENCH),
    ]
    page = client.get(f"/training/stats/?task={task.pk}").content.decode()
    assert 'data-figure="no-valid-label">1<' in page and 'data-figure="accuracy">0%<' in page


def test_line_chart_geometry():
    size = {"width": 130, "height": 70, "left": 15, "right": 15, "top": 15, "bottom": 15}
    chart = stats.line_chart([0.5, None, 1.0, 0.0], ["a", "b", "c", "d"], max_ticks=2, **size)
    assert chart["lines"] == ["15.0,35.0", "81.7,15.0 115.0,55.0"]
    assert [dot["index"] for dot in chart["dots"]] == [0, 2, 3]
    assert [line["label"] for line in chart["grid"]] == ["0%", "50%", "100%"]
    assert [(tick["x"], tick["label"]) for tick in chart["ticks"]] == [(15.0, "a"), (81.7, "c")]
    assert stats.line_chart([0.75], **size)["dots"][0]["x"] == 65.0


def test_statistics_pages(client, training_dataset, trainee, admin_user):
    task = slice_task()
    answer_all(task, trainee, wnid_for=lambda image: JAPANESE_SPANIEL, count=4)
    client.force_login(trainee)
    mine = client.get(f"/training/stats/?task={task.pk}").content.decode()
    assert "Your training results" in mine and "Accuracy per part" in mine
    assert 'data-guide-wnid="n01440764"' in mine and "Most confused" in mine
    client.force_login(admin_user)
    overview = client.get("/training/stats/").content.decode()
    assert 'data-trainee="tom"' in overview and "Everyone, per task" in overview
    theirs = client.get(f"/training/stats/?trainee=tom&task={task.pk}").content.decode()
    assert "Training results of tom" in theirs and 'data-figure="answered">4<' in theirs


# --- the class hierarchy and search ------------------------------------------------------------------------


def test_hierarchy_api_lists_children_with_counts_and_folds_single_child_chains(client, trainee):
    client.force_login(trainee)
    root = client.get("/api/training/hierarchy/").json()
    assert root["node"]["wnid"] == hierarchy.ROOT and root["node"]["classes_under"] == 1000
    assert [child["label"] for child in root["children"]] == ["abstraction", "physical entity"]
    dog = client.get(f"/api/training/hierarchy/?node={DOG}").json()
    assert dog["node"]["classes_under"] == 118
    labels = [child["label"] for child in dog["children"]]
    assert labels == sorted(labels, key=str.lower) and "toy dog" in labels
    toy = next(child for child in dog["children"] if child["label"] == "toy dog")
    assert (toy["is_class"], toy["has_children"], toy["classes_under"]) == (False, True, 8)
    whole = client.get("/api/training/hierarchy/?node=n00003553").json()  # whole: living thing › organism
    organism = next(child for child in whole["children"] if child["wnid"] == "n00004475")
    assert organism["via"] == ["living thing"]
    chihuahua = next(c for c in client.get(f"/api/training/hierarchy/?node={toy['wnid']}").json()["children"])
    assert chihuahua["wnid"] == CHIHUAHUA and chihuahua["is_class"] and chihuahua["classes_under"] == 1
    assert client.get("/api/training/hierarchy/?node=n0").status_code == 404


def test_every_class_is_reachable_through_the_folded_hierarchy():
    found, frontier = set(), [None]
    while frontier:
        data = hierarchy.children(frontier.pop())
        for child in data["children"]:
            if child["is_class"]:
                found.add(child["wnid"])
            if child["has_children"]:
                frontier.append(child["wnid"])
    assert found == set(taxonomy.class_wnids())


def test_search_api_answers_every_kind_of_query(client, trainee):
    client.force_login(trainee)
    for query in ["dog", "n02085620", "terrier long haired", "bird of prey", "a", "x"]:
        response = client.get("/api/synsets/", {"q": query, "classes_only": "1", "limit": "12"})
        assert response.status_code == 200 and response.json(), query
        assert all(result["class_index"] is not None for result in response.json())


# --- query counts and indexes ----------------------------------------------------------------------------


def test_page_and_api_query_paths_use_few_queries(client, training_dataset, trainee, django_assert_max_num_queries):
    task = slice_task()
    slice_task(name="second", start=0, end=5)
    answer_all(task, trainee, count=7)
    client.force_login(trainee)
    with django_assert_max_num_queries(6):
        assert client.get("/training/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"/training/tasks/{task.pk}/label/").status_code == 200
    # 8: the trainee's roles and the images of open phases they take part in, withheld from training.
    with django_assert_max_num_queries(8):
        body = client.get(f"/api/training/tasks/{task.pk}/next/").json()
    # The same two, to refuse an image of an open phase, and one for whether the image's answers are blind.
    with django_assert_max_num_queries(13):
        answer = client.post(
            f"/api/training/tasks/{task.pk}/answers/",
            {"image": body["image"]["id"], "wnid": TENCH},
            content_type="application/json",
        ).json()
    # Creates the review item and the suggestion under the image's lock; two to refuse an answer on a closed image.
    with django_assert_max_num_queries(15):
        response = client.post(f"/api/training/answers/{answer['answer']}/suggestions/", {"kind": "label_correct"})
    assert response.status_code == 201
    with django_assert_max_num_queries(5):
        client.get("/api/training/tasks/")
    with django_assert_max_num_queries(8):
        client.get("/api/training/stats/", {"task": task.pk})
    with django_assert_max_num_queries(11):  # one to leave out answers on images closed to the viewer
        assert client.get(f"/training/stats/?task={task.pk}").status_code == 200
    with django_assert_max_num_queries(3):
        client.get(f"/api/training/hierarchy/?node={DOG}")


def test_answer_reads_use_the_trainee_index(training_dataset, trainee):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output is PostgreSQL's")
    task = slice_task()
    answer_all(task, trainee, count=3)
    queries = [
        TrainingAnswer.objects.filter(trainee=trainee, task=task).values_list("position"),
        TrainingAnswer.objects.filter(trainee=trainee, task_id__in=[task.pk]).values("task_id").order_by(),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plans = [query.explain() for query in queries]
        cursor.execute("SET enable_seqscan = on")
    for plan in plans:
        assert "training_answer_trainee" in plan or "training_answer_once" in plan, plan


# --- admin --------------------------------------------------------------------------------------------------


def test_every_training_model_is_in_the_admin(client, training_dataset, trainee):
    from django.apps import apps

    models = set(apps.get_app_config("training").get_models())
    assert models <= set(admin.site._registry)
    task = slice_task()
    answer_all(task, trainee, count=2)
    services.suggest_label(image_id=task.image_ids[0], wnid=GOLDFISH, user=trainee)
    client.force_login(type(trainee).objects.create_superuser("boss", password="x"))
    for model in [*models, Suggestion]:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:training_trainingtask_change", args=[task.pk])).status_code == 200
