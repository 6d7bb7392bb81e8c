"""The grid page of a new test set and its API: which task an annotator gets next (never one they answered), what
it shows, submitting an answer, the task images served alike by token, who may do what, the queries each request
costs; and in Chromium, a task answered by keyboard alone."""

import importlib
import io
import json
import re
import secrets
from collections import Counter
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PILImage

import taxonomy
from accounts import roles
from annotate.models import Image
from evaluation import services as evaluation_services
from tests.conftest import BROWSER_DB, client_for, jpeg_bytes, make_user
from tests.wnids import GOLDFISH, TENCH
from testsets import grid, services
from testsets.frequency_tasks import import_selections, submit_assignment
from testsets.models import Assignment, FrequencyTask, ImageRole, TaskImage

POOL = {f"t{i:02}.jpg": (10 * i, 200 - 5 * i, 90) for i in range(24)}
REFERENCE = {
    TENCH: {f"tench{i}.JPEG": (250, 20 * i, 20) for i in range(3)},
    GOLDFISH: {f"gold{i}.JPEG": (20, 250, 20 * i) for i in range(3)},
}


def make_task(testset, number, images, *, wnid=TENCH, wanted=3):
    """A task of the (image, role) pairs in this order, each under a fresh token."""
    task = FrequencyTask.objects.create(testset=testset, number=number, wnid=wnid, assignments_wanted=wanted)
    TaskImage.objects.bulk_create(
        TaskImage(task=task, position=position, image=image, role=role, token=secrets.token_hex(16))
        for position, (image, role) in enumerate(images)
    )
    return task


def build_testset(make_dataset, tmp_path, *, tasks=3, per_task=6):
    """Test set v2 against val (three tench, three goldfish): per task, per_task - 2 tench candidates of the pool,
    a tench of val (positive control) and a goldfish (negative control), the controls in the middle."""
    make_dataset(name="val", predictions={}, files=REFERENCE)
    folder = tmp_path / "pool" / TENCH
    folder.mkdir(parents=True)
    for name, color in POOL.items():
        (folder / name).write_bytes(jpeg_bytes(color, size=(90, 40)))
    testset = services.create_testset(name="v2", reference_name="val")
    services.import_candidates(testset_name="v2", directory=folder.parent)
    pool = list(Image.objects.filter(dataset=testset.pool).order_by("file_name"))
    positive = Image.objects.get(dataset__name="val", file_name="tench0.JPEG")
    negative = Image.objects.get(dataset__name="val", file_name="gold0.JPEG")
    candidates = per_task - 2
    made = []
    for number in range(1, tasks + 1):
        own = [(image, ImageRole.CANDIDATE) for image in pool[(number - 1) * candidates : number * candidates]]
        middle = candidates // 2
        images = [*own[:middle], (positive, ImageRole.POSITIVE), (negative, ImageRole.NEGATIVE), *own[middle:]]
        made.append(make_task(testset, number, images))
    return testset, made


@pytest.fixture
def world(make_dataset, tmp_path):
    return build_testset(make_dataset, tmp_path)


@pytest.fixture
def annotator(db):
    return make_user("anna", roles.ANNOTATOR)


def tokens(task):
    return list(TaskImage.objects.filter(task=task).order_by("position").values_list("token", flat=True))


def next_task(client, skip=()):
    response = client.get("/api/testsets/v2/tasks/next/", {"skip": list(skip)})
    assert response.status_code == 200, response.content
    return response.json()


def submit(client, task, selected, **extra):
    return client.post(
        f"/api/testsets/v2/tasks/{task.pk}/assignment/",
        json.dumps({"selected": selected, **extra}),
        content_type="application/json",
    )


def bits(assignment, size):
    """The positions an assignment selected, from its bitmask (bit p of byte p // 8, least significant first)."""
    mask = np.unpackbits(np.frombuffer(bytes(assignment.selected), dtype=np.uint8), bitorder="little")
    return set(np.flatnonzero(mask[:size]).tolist())


def test_the_next_task_shows_its_class_instructions_and_images_by_token_in_order(world, annotator):
    testset, tasks = world
    answer = next_task(client_for(annotator))
    task = answer["task"]
    synset = taxonomy.get(TENCH)
    shown = next(made for made in tasks if made.pk == task["id"])
    assert task["number"] == shown.number
    assert task["synset"] == {
        "wnid": TENCH,
        "words": list(synset.words),
        "gloss": synset.gloss,
        "guide_url": f"/guide/wnid/{TENCH}/",
    }
    assert [image["token"] for image in task["images"]] == tokens(shown)
    assert [image["url"] for image in task["images"]] == [f"/testsets/task-images/{t}.jpg" for t in tokens(shown)]
    assert "regardless of occlusion" in answer["instructions"] and "drawings" in answer["instructions"]
    assert answer["progress"] == {"answered": 0, "available": 3, "text": "0 of 3 tasks"}
    # Nothing tells a control from a candidate, or names an image.
    body = json.dumps(answer)
    assert not any(word in body for word in ("positive", "negative", "candidate", "tench0", "gold0", ".JPEG"))


def test_the_next_task_is_an_open_one_with_the_fewest_answers(world, annotator):
    testset, (first, second, third) = world
    others = [make_user(name, roles.ANNOTATOR) for name in ("bob", "cat", "dan")]
    for person in others:  # the first task gets all the answers it wants
        submit_assignment(task=first, annotator=person, selected_tokens=[])
    submit_assignment(task=second, annotator=others[0], selected_tokens=[])
    client = client_for(annotator)
    assert next_task(client)["task"]["id"] == third.pk
    submit_assignment(task=third, annotator=others[1], selected_tokens=[])
    submit_assignment(task=third, annotator=others[2], selected_tokens=[])
    assert next_task(client)["task"]["id"] == second.pk
    assert next_task(client)["progress"] == {"answered": 0, "available": 2, "text": "0 of 2 tasks"}


def test_annotators_working_at_once_are_handed_different_tasks(make_dataset, tmp_path):
    """One order for everyone would hand the same task to all who ask before its answers come in: each annotator
    goes through the tasks with the fewest answers in an order of their own, the same at each ask."""
    testset, tasks = build_testset(make_dataset, tmp_path, tasks=6, per_task=6)
    people = [make_user(f"annotator{number}", roles.ANNOTATOR) for number in range(8)]
    handed = [grid.next_task(testset, person)[0].pk for person in people]
    assert len(set(handed)) > 1
    assert [grid.next_task(testset, person)[0].pk for person in people] == handed
    # Still the fewest answers first, whatever the order of each.
    crowd = make_user("crowd", roles.ANNOTATOR)
    for task in tasks[:-1]:
        submit_assignment(task=task, annotator=crowd, selected_tokens=[])
    assert {grid.next_task(testset, person)[0].pk for person in people} == {tasks[-1].pk}


def test_an_annotator_is_never_handed_a_task_twice(world, annotator):
    testset, tasks = world
    client = client_for(annotator)
    handed = []
    while (answer := next_task(client))["task"] is not None:
        task = FrequencyTask.objects.get(pk=answer["task"]["id"])
        handed.append(task.pk)
        assert submit(client, task, [answer["task"]["images"][0]["token"]]).status_code == 201
        assert len(handed) <= len(tasks)
    assert sorted(handed) == [task.pk for task in tasks]
    assert answer["progress"] == {"answered": 3, "available": 3, "text": "3 of 3 tasks"}
    assert "No task is left for you in v2" in answer["detail"]
    # Another annotator still gets every task.
    other = client_for(make_user("bob", roles.ANNOTATOR))
    assert next_task(other)["progress"] == {"answered": 0, "available": 3, "text": "0 of 3 tasks"}


def test_skip_leaves_out_the_task_the_client_holds(world, annotator):
    testset, (first, second, third) = world
    client = client_for(annotator)
    assert next_task(client, skip=[first.pk])["task"]["id"] in {second.pk, third.pk}
    assert next_task(client, skip=[first.pk, second.pk])["task"]["id"] == third.pk
    held = next_task(client, skip=[first.pk, second.pk, third.pk])
    assert held["task"] is None and held["detail"].endswith("but the one you hold.")
    assert held["progress"]["available"] == 3


def test_a_submit_stores_the_selection_as_a_bitmask_scored_on_the_controls(world, annotator):
    testset, (task, *_) = world
    client = client_for(annotator)
    shown = tokens(task)
    chosen = [0, 3, 5]  # two candidates and the negative control, not the positive one (position 2): both wrong
    response = submit(client, task, [shown[p] for p in chosen], started_at="2025-01-02T03:04:05Z")
    assert response.status_code == 201, response.content
    assert response.json() == {"task": task.pk, "progress": {"answered": 1, "available": 3, "text": "1 of 3 tasks"}}
    assignment = Assignment.objects.get(task=task, annotator=annotator)
    assert bits(assignment, len(shown)) == set(chosen)
    assert (assignment.controls, assignment.controls_right) == (2, 0)
    assert assignment.source == "web" and assignment.started_at.isoformat() == "2025-01-02T03:04:05+00:00"


def test_a_second_submit_of_a_task_is_refused_with_409(world, annotator):
    testset, (task, *_) = world
    client = client_for(annotator)
    shown = tokens(task)
    assert submit(client, task, [shown[2]]).status_code == 201
    again = submit(client, task, [shown[1], shown[4]])
    assert again.status_code == 409 and "answered task 1 already" in again.json()["detail"]
    assert bits(Assignment.objects.get(task=task, annotator=annotator), len(shown)) == {2}


def answered_and_counted(testset):
    """({task id: its answered counter}, {task id: its assignments counted})."""
    tasks = FrequencyTask.objects.filter(testset=testset)
    counted = Counter(Assignment.objects.filter(task__testset=testset).values_list("task_id", flat=True))
    return dict(tasks.values_list("pk", "answered")), {pk: counted[pk] for pk in tasks.values_list("pk", flat=True)}


def test_each_task_counts_its_assignments_imported_and_submitted(world, annotator, tmp_path):
    testset, (first, second, third) = world
    crowd = [
        {"task": first.pk, "annotator": "crowd1", "selected": tokens(first)[:1]},
        {"task": first.pk, "annotator": "crowd2", "selected": []},
        {"task": second.pk, "annotator": "crowd1", "selected": []},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in crowd))
    import_selections(testset_name="v2", path=path)
    assert answered_and_counted(testset)[0] == {first.pk: 2, second.pk: 1, third.pk: 0}
    client = client_for(annotator)
    assert submit(client, first, []).status_code == 201
    assert submit(client, first, []).status_code == 409
    assert submit(client, third, ["0" * 32]).status_code == 400
    assert submit(client, third, tokens(third)[:2]).status_code == 201
    answered, counted = answered_and_counted(testset)
    assert answered == counted == {first.pk: 3, second.pk: 1, third.pk: 1}
    # The first task has the three answers it wants: no one else is handed it.
    assert next_task(client_for(make_user("bob", roles.ANNOTATOR)))["progress"]["available"] == 2


def test_the_migration_counts_the_assignments_each_task_has(world, annotator):
    testset, (first, second, third) = world
    for task, person in [(first, annotator), (first, make_user("bob", roles.ANNOTATOR)), (second, annotator)]:
        submit_assignment(task=task, annotator=person, selected_tokens=[])
    FrequencyTask.objects.update(answered=0)
    counting = importlib.import_module("testsets.migrations.0002_frequency_task_answered")
    counting.count_answers(django_apps, None)
    answered, counted = answered_and_counted(testset)
    assert answered == counted == {first.pk: 2, second.pk: 1, third.pk: 0}


def test_a_token_of_no_image_of_the_task_is_refused_with_400(world, annotator):
    testset, (task, other, _) = world
    client = client_for(annotator)
    for stranger in ("0" * 32, tokens(other)[0]):
        response = submit(client, task, [tokens(task)[0], stranger])
        assert response.status_code == 400 and stranger in response.json()["selected"]
    assert submit(client, task, "not a list").status_code == 400
    assert not Assignment.objects.exists()


def test_tasks_and_test_sets_that_do_not_exist_answer_404(world, annotator):
    testset, (task, *_) = world
    client = client_for(annotator)
    assert client.get("/api/testsets/v3/tasks/next/").status_code == 404
    assert client.post("/api/testsets/v2/tasks/999999/assignment/", {}).status_code == 404
    services.create_testset(name="v3", reference_name="val")
    assert client.post(f"/api/testsets/v3/tasks/{task.pk}/assignment/", {}).status_code == 404
    assert client.get("/testsets/v3/annotate/").status_code == 200
    assert client.get("/testsets/nowhere/annotate/").status_code == 404


@pytest.mark.parametrize(
    ("who", "status"), [(roles.REVIEWER, 403), (roles.TRAINEE, 403), (roles.GUIDE_EDITOR, 403), (None, 401)]
)
def test_only_annotators_and_admins_answer_tasks(world, who, status):
    testset, (task, *_) = world
    client = client_for(make_user("someone", who) if who else None)
    assert client.get("/api/testsets/v2/tasks/next/").status_code == status
    assert submit(client, task, []).status_code == status
    page, image = client.get("/testsets/v2/annotate/"), client.get(f"/testsets/task-images/{tokens(task)[0]}.jpg")
    if who:
        assert (page.status_code, image.status_code) == (403, 403)
    else:
        assert page.status_code == image.status_code == 302 and "/login/" in page["Location"]
    assert not Assignment.objects.exists()


def test_admins_answer_tasks_too(world, admin_user):
    testset, tasks = world
    client = client_for(admin_user)
    task = FrequencyTask.objects.get(pk=next_task(client)["task"]["id"])
    assert task in tasks
    assert submit(client, task, []).status_code == 201


def test_every_task_image_is_a_jpeg_of_one_size_whatever_its_role(world, annotator):
    testset, (task, *_) = world
    client = client_for(annotator)
    served = set()
    for task_image in TaskImage.objects.filter(task=task):
        response = client.get(f"/testsets/task-images/{task_image.token}.jpg")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert "max-age=604800" in response["Cache-Control"] and "Content-Disposition" not in response
        with PILImage.open(io.BytesIO(response.content)) as image:
            assert (image.format, image.size) == ("JPEG", (500, 375))
            assert not image.info.get("exif")
        served.add(task_image.role)
        # A second request reads the resized file kept in storage: the same bytes.
        assert client.get(f"/testsets/task-images/{task_image.token}.jpg").content == response.content
    assert served == {ImageRole.CANDIDATE, ImageRole.POSITIVE, ImageRole.NEGATIVE}
    assert client.get(f"/testsets/task-images/{'0' * 32}.jpg").status_code == 404


@pytest.mark.parametrize(("size", "bars"), [((100, 300), "sides"), ((400, 100), "top and bottom"), ((4, 3), "none")])
def test_images_are_letterboxed_whole_never_cropped(size, bars):
    data = grid.letterboxed_jpeg(jpeg_bytes((250, 0, 0), size), grid.TASK_IMAGE_SIZE)
    with PILImage.open(io.BytesIO(data)) as image:
        assert image.size == (500, 375)
        pixels = image.convert("RGB")
        left, top, centre = pixels.getpixel((3, 187)), pixels.getpixel((250, 3)), pixels.getpixel((250, 187))
    grey = all(abs(channel - 128) < 12 for channel in left)
    assert centre[0] > 200 and centre[1] < 60
    assert grey == (bars == "sides")
    assert all(abs(channel - 128) < 12 for channel in top) == (bars == "top and bottom")


def test_tasks_with_an_image_of_an_open_phase_are_kept_from_its_participants(world, annotator):
    """A positive control would tell a participant the class of an image they label blind."""
    testset, (first, second, third) = world
    pool_only = make_task(
        testset, 4, [(image, ImageRole.CANDIDATE) for image in Image.objects.filter(dataset=testset.pool)[:4]]
    )
    phase = evaluation_services.create_phase(name="blind", datasets={"val": 6}, participants=["anna"])
    evaluation_services.open_phase(phase)
    client = client_for(annotator)
    answer = next_task(client)
    assert answer["task"]["id"] == pool_only.pk and answer["progress"]["available"] == 1
    control = TaskImage.objects.get(task=first, role=ImageRole.POSITIVE)
    assert client.get(f"/testsets/task-images/{control.token}.jpg").status_code == 404
    assert next_task(client_for(make_user("bob", roles.ANNOTATOR)))["progress"]["available"] == 4


def test_the_grid_page_shows_the_class_instructions_and_first_task(world, annotator):
    testset, _ = world
    task, _ = grid.next_task(testset, annotator)
    response = client_for(annotator).get("/testsets/v2/annotate/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "regardless of occlusion" in page and 'id="first-task"' in page and tokens(task)[0] in page
    assert "0 of 3 tasks" in page
    # The browser fetches the first task's images while it loads the scripts that show them.
    preloaded = re.findall(r'<link rel="preload" as="image" href="([^"]+)">', page)
    assert preloaded == [f"/testsets/task-images/{token}.jpg" for token in tokens(task)]


def test_next_task_and_submit_cost_few_queries(world, annotator, django_assert_max_num_queries):
    testset, (task, *_) = world
    client = client_for(annotator)
    # session, user, roles, test set, open phases of the user, the task with the progress, its images
    with django_assert_max_num_queries(7):
        next_task(client)
    selected = tokens(task)[:2]
    # session, user, roles, test set, task, savepoint, its images (locking the test set), the assignment, its task's
    # answered, the frequencies, release, open phases of the user, the progress
    with django_assert_max_num_queries(13):
        assert submit(client, task, selected).status_code == 201


def test_every_query_of_next_task_and_submit_has_an_index(world, annotator):
    """With sequential scans priced out, a plan still holds one only where no index serves the query."""
    testset, (task, *_) = world
    client = client_for(annotator)
    with CaptureQueriesContext(connection) as captured:
        next_task(client)
        assert submit(client, task, tokens(task)[:1]).status_code == 201
        client.get(f"/testsets/task-images/{tokens(task)[0]}.jpg")
    selects = [
        query["sql"] for query in captured.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert len(selects) >= 8
    unindexed = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for sql in selects:
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                if "Seq Scan" in plan:
                    unindexed.append(f"{sql}\n{plan}")
        finally:
            cursor.execute("RESET enable_seqscan")
    assert not unindexed, "\n\n".join(unindexed)


def grid_state(page):
    return page.evaluate(
        """() => ({
          task: document.getElementById('grid-app').dataset.task,
          state: document.getElementById('grid-app').dataset.state,
          checked: [...document.querySelectorAll('.task-grid__cell[aria-checked="true"]')]
            .map((cell) => Number(cell.dataset.position)),
          focus: document.activeElement && document.activeElement.dataset.position,
        })"""
    )


def columns(page):
    return page.evaluate(
        """() => {
          const tops = [...document.querySelectorAll('.task-grid__cell')].map((c) => c.getBoundingClientRect().top);
          return tops.filter((top) => top === tops[0]).length;
        }"""
    )


@pytest.mark.browser
@BROWSER_DB
def test_an_annotator_answers_a_task_by_keyboard_alone(logged_in_page, make_dataset, tmp_path):
    testset, (first, second) = build_testset(make_dataset, tmp_path, tasks=2, per_task=20)
    # The pool fills the first task's 20 places, not the second's: the second has an answer, so the first comes first.
    submit_assignment(task=second, annotator=make_user("bob", roles.ANNOTATOR), selected_tokens=[])
    annotator = make_user("anna", roles.ANNOTATOR)
    page = logged_in_page(annotator)
    page.goto("/testsets/v2/annotate/")
    page.wait_for_function("() => document.getElementById('grid-app').dataset.state === 'answering'")
    assert grid_state(page)["task"] == str(first.pk)
    assert page.get_by_test_id("task-words").inner_text() == ", ".join(taxonomy.get(TENCH).words)
    page.wait_for_function("() => [...document.querySelectorAll('.task-grid__image')].every((i) => i.naturalWidth)")
    cols = columns(page)
    assert 2 <= cols < 20

    # Each key with the position the focus has after it; Space toggles the focused image.
    position, expected = 0, set()
    moves = {
        "l": 1,
        "ArrowRight": 1,
        "h": -1,
        "ArrowLeft": -1,
        "j": cols,
        "ArrowDown": cols,
        "k": -cols,
        "ArrowUp": -cols,
    }
    for key in [
        "l",
        " ",
        "j",
        " ",
        "ArrowRight",
        " ",
        "k",
        "h",
        "ArrowLeft",
        "ArrowDown",
        " ",
        "l",
        " ",
        " ",
        "ArrowUp",
    ]:
        page.keyboard.press("Space" if key == " " else key)
        if key == " ":
            expected ^= {position}
        else:
            position += moves[key]
        state = grid_state(page)
        assert (state["focus"], sorted(state["checked"])) == (str(position), sorted(expected)), key
    assert expected == {1, 1 + cols, 2 + cols, cols}
    assert page.get_by_test_id("selected-count").inner_text() == "4 selected"

    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('grid-app').dataset.task === '{second.pk}'")
    assert grid_state(page)["checked"] == [] and grid_state(page)["focus"] == "0"
    assert page.get_by_test_id("progress").inner_text().startswith("1 of 2 tasks")
    assignment = Assignment.objects.get(task=first, annotator=annotator)
    assert bits(assignment, 20) == expected and assignment.started_at is not None

    # Nothing selected: the first Enter asks, the second submits; then no task is left.
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('Nothing is selected')")
    assert not Assignment.objects.filter(task=second, annotator=annotator).exists()
    page.keyboard.press("Enter")
    page.get_by_test_id("empty-state").wait_for()
    assert bits(Assignment.objects.get(task=second, annotator=annotator), 20) == set()
    assert page.get_by_test_id("progress").inner_text().startswith("2 of 2 tasks")


@pytest.mark.browser
@BROWSER_DB
def test_the_next_task_is_fetched_once_the_images_on_screen_have_loaded(logged_in_page, make_dataset, tmp_path):
    """Fetched at once, the next task's images would share the connections and the server with those the annotator
    is waiting for."""
    testset, (first, second) = build_testset(make_dataset, tmp_path, tasks=2, per_task=10)
    submit_assignment(task=second, annotator=make_user("bob", roles.ANNOTATOR), selected_tokens=[])
    page = logged_in_page(make_user("anna", roles.ANNOTATOR))
    events = []
    page.on("request", lambda request: events.append(("asked", request.url)))
    page.on("requestfinished", lambda request: events.append(("loaded", request.url)))
    with page.expect_request(lambda request: "/tasks/next/?skip=" in request.url):
        page.goto("/testsets/v2/annotate/")
    asked = next(at for at, (kind, url) in enumerate(events) if kind == "asked" and "/tasks/next/?skip=" in url)
    loaded = {urlsplit(url).path for kind, url in events[:asked] if kind == "loaded"}
    assert {f"/testsets/task-images/{token}.jpg" for token in tokens(first)} <= loaded
