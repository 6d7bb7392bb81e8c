"""Selection-frequency tasks of a test set: their composition, the grid page's submit, imports of a crowd's answers,
frequencies against a direct count of a simulated crowd, and the controls that catch a random clicker."""

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts import roles
from accounts.services import annotator_accounts
from annotate.image_import import register_manifest
from annotate.models import Image
from annotate.prediction_import import import_predictions
from config.exceptions import ConflictError, DomainError
from tests.conftest import make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, HAMMERHEAD, JAPANESE_SPANIEL, TENCH, TIGER_SHARK
from testsets import frequencies, selectors
from testsets.frequency_tasks import (
    annotator_quality,
    create_frequency_tasks,
    export_frequency_tasks,
    frequency_rows,
    import_selections,
    most_similar_classes,
    nearest_class,
    recount_frequencies,
    submit_assignment,
)
from testsets.models import Assignment, FrequencyTask, SelectionFrequency, TaskImage
from testsets.services import create_testset, import_candidates, set_blacklisted

pytestmark = pytest.mark.django_db
TESTSET = "v2"
REFERENCE = {TENCH: 12, GOLDFISH: 12, GREAT_WHITE: 12, TIGER_SHARK: 12, CHIHUAHUA: 12}


@pytest.fixture
def build_testset(tmp_path):
    """build_testset({wnid: candidates}, reference={wnid: images}): test set v2 against a reference dataset "val"
    (images ref-<wnid>-<i>), its pool holding the candidates (cand-<wnid>-<i>); manifests only, no files."""

    def build(candidates, reference=REFERENCE):
        (tmp_path / "val.csv").write_text(manifest("ref", reference))
        register_manifest(dataset_name="val", manifest_file=tmp_path / "val.csv")
        create_testset(name=TESTSET, reference_name="val")
        (tmp_path / "pool.csv").write_text(manifest("cand", candidates))
        import_candidates(testset_name=TESTSET, manifest=tmp_path / "pool.csv")
        return selectors.testset_named(TESTSET)

    return build


def manifest(prefix, counts):
    return "".join(f"{prefix}-{wnid}-{i:03}.JPEG,{wnid}\n" for wnid, count in counts.items() for i in range(count))


def layout(testset):
    """{task: [(position, image, role, token), ...] in position order}, tasks by number."""
    images = defaultdict(list)
    for task_image in TaskImage.objects.filter(task__testset=testset).select_related("image").order_by("position"):
        images[task_image.task_id].append((task_image.position, task_image.image, task_image.role, task_image.token))
    return {task: images[task.pk] for task in FrequencyTask.objects.filter(testset=testset).order_by("number")}


def frequency_table(testset):
    return {
        (image, wnid): (annotations, selected)
        for image, wnid, annotations, selected in SelectionFrequency.objects.filter(testset=testset).values_list(
            "image_id", "wnid", "annotations", "selected"
        )
    }


# --- the numeric module ---------------------------------------------------------------------------------------------


def test_a_selection_is_packed_a_bit_per_position_little_endian():
    selected = np.zeros(12, dtype=bool)
    selected[[0, 9, 11]] = True
    assert frequencies.pack_selection(selected) == bytes([0b00000001, 0b00001010])
    unpacked = frequencies.unpack_selections(np.frombuffer(b"\x01\x0a", dtype=np.uint8)[None], 12)
    assert unpacked.tolist() == [selected.tolist()]


def test_controls_score_a_selected_positive_and_an_unselected_negative():
    m, p, n, absent = frequencies.MEASURED, frequencies.POSITIVE, frequencies.NEGATIVE, frequencies.ABSENT
    roles = np.array([[m, p, p, n, n, absent], [m, m, m, m, m, absent]])
    selected = np.array([[True, True, False, True, False, False], [True] * 6])
    controls, right = frequencies.score_controls(roles, selected)
    assert controls.tolist() == [4, 0]
    assert right.tolist() == [2, 0]  # one positive selected, one negative left alone
    assert frequencies.included(controls, right, 0.5).tolist() == [True, True]
    assert frequencies.included(controls, right, 0.51).tolist() == [False, True]  # no controls: always counted


def test_selection_counts_sum_over_tasks_per_image_and_class():
    # Two tasks of class 0 share image 7 (at positions 1 and 0); image 8 is in task 1 only; task 2 (class 1) has
    # image 7 again, but its one assignment is not counted.
    image_task, position = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 0])
    image, wnid = np.array([5, 7, 7, 8, 7]), np.array([0, 0, 0, 0, 1])
    assignment_task = np.array([0, 0, 1, 2])
    selected = np.array([[True, True], [False, True], [True, False], [True, True]])
    counted = np.array([True, True, True, False])
    images, wnids, annotations, chosen = frequencies.selection_counts(
        image_task, position, image, wnid, assignment_task, selected, counted, 3
    )
    assert list(zip(images.tolist(), wnids.tolist(), annotations.tolist(), chosen.tolist(), strict=True)) == [
        (5, 0, 2, 1),
        (7, 0, 3, 3),
        (8, 0, 1, 0),
    ]


# --- tasks ----------------------------------------------------------------------------------------------------------


def test_the_most_similar_class_is_the_nearest_in_wordnet_ties_to_the_smaller_wnid():
    assert nearest_class(TENCH, {GOLDFISH, GREAT_WHITE, CHIHUAHUA}) == GOLDFISH
    assert nearest_class(CHIHUAHUA, {JAPANESE_SPANIEL, TENCH}) == JAPANESE_SPANIEL
    # A hammerhead is a shark, a tiger shark a requiem shark: both meet the great white at "shark".
    assert nearest_class(GREAT_WHITE, {HAMMERHEAD, TIGER_SHARK, TENCH}) == TIGER_SHARK
    assert nearest_class(CHIHUAHUA, {GOLDFISH, TENCH}) == TENCH
    assert nearest_class(TENCH, set()) is None


def test_models_confusions_choose_the_most_similar_class_where_there_are_any(build_testset, tmp_path):
    testset = build_testset({GREAT_WHITE: 5, TENCH: 5})
    # Two models take great whites for tench three times, for Chihuahuas twice, for a goldfish once; WordNet's
    # nearest class would be the tiger shark.
    rows = {
        "m1": [(0, TENCH), (1, TENCH), (2, CHIHUAHUA), (3, GOLDFISH)],
        "m2": [(0, TENCH), (1, CHIHUAHUA), (2, GREAT_WHITE)],
    }
    for model, predictions in rows.items():
        path = tmp_path / f"{model}.csv"
        path.write_text("".join(f"ref-{GREAT_WHITE}-{i:03}.JPEG,{wnid}\n" for i, wnid in predictions))
        import_predictions(model_name=model, dataset_name="val", path=path)
    similar = most_similar_classes(testset.reference, [GREAT_WHITE, TENCH])
    # Tench has no confusions: WordNet's nearest.
    assert similar == {GREAT_WHITE: TENCH, TENCH: GOLDFISH}


def test_tasks_hold_candidates_beside_controls_of_the_class_and_of_its_most_similar_class(build_testset):
    testset = build_testset({TENCH: 100, GREAT_WHITE: 42})
    summary = create_frequency_tasks(testset_name=TESTSET, min_reference=5)
    tasks = layout(testset)
    by_class = defaultdict(list)
    for task, images in tasks.items():
        by_class[task.wnid].append((task, images))
        assert [position for position, *_ in images] == list(range(len(images)))
        assert len({image.pk for _, image, _, _ in images}) == len(images), "an image twice in one task"
        assert task.assignments_wanted == 10
    similar = {TENCH: GOLDFISH, GREAT_WHITE: TIGER_SHARK}
    candidates_seen = Counter()
    for wnid, class_tasks in by_class.items():
        for _, images in class_tasks:
            roles = Counter(role for _, _, role, _ in images)
            for _, image, role, _ in images:
                if role == "positive":
                    assert (image.dataset_id, image.original_wnid) == (testset.reference_id, wnid)
                elif role == "negative":
                    assert (image.dataset_id, image.original_wnid) == (testset.reference_id, similar[wnid])
                elif image.dataset_id == testset.pool_id:
                    assert image.candidate.wnid == wnid
                    candidates_seen[image.pk] += 1
                else:  # a reference image measured in a task run for the reference
                    assert image.original_wnid == wnid
            if roles["candidate"] == 42:
                assert roles == {"candidate": 42, "positive": 3, "negative": 3}
    assert len(candidates_seen) == 142 and set(candidates_seen.values()) == {1}
    tench = [images for _, images in by_class[TENCH]]
    assert [len(images) for images in tench] == [48, 48, 40]
    # The last tench task has 16 candidates; its 26 free places go to extra controls, 13 of each kind, as far as
    # the reference has them (12 tench, 12 goldfish).
    assert Counter(role for _, _, role, _ in tench[2]) == {"candidate": 16, "positive": 12, "negative": 12}
    # Shuffled: the controls are not kept at the end of the grid.
    assert any(role != "candidate" for images in tench[:2] for position, _, role, _ in images if position < 42)
    # Great white: its one task has 3 positives, short of 5 annotated reference images, so one more task measures
    # its other 9 reference images beside the 3 as positives and 12 tiger sharks.
    great_white = [images for _, images in by_class[GREAT_WHITE]]
    assert len(great_white) == 2
    measured = [image for _, image, role, _ in great_white[1] if role == "candidate"]
    assert len(measured) == 9 and all(image.dataset_id == testset.reference_id for image in measured)
    assert Counter(role for _, _, role, _ in great_white[1]) == {"candidate": 9, "positive": 3, "negative": 12}
    assert summary == {
        "testset": TESTSET,
        "tasks": {"candidates": 4, "reference": 1},
        "images": 48 + 48 + 40 + 48 + 24,
        "candidates": 142,
        "classes": 2,
        "short_of_reference": {},
    }
    tokens = TaskImage.objects.filter(task__testset=testset).values_list("token", flat=True)
    assert all(len(token) == 32 for token in tokens) and len(set(tokens)) == len(tokens)


def test_classes_short_of_reference_images_are_reported(build_testset):
    build_testset({TENCH: 10}, reference={TENCH: 6, GOLDFISH: 4})
    summary = create_frequency_tasks(testset_name=TESTSET, min_reference=8)
    assert summary["short_of_reference"] == {TENCH: 6}


def test_positions_follow_the_seed(build_testset):
    testset = build_testset({TENCH: 50})
    create_frequency_tasks(testset_name=TESTSET, seed=7)
    first = [[(image.pk, role) for _, image, role, _ in images] for images in layout(testset).values()]
    FrequencyTask.objects.filter(testset=testset).delete()
    create_frequency_tasks(testset_name=TESTSET, seed=7)
    assert [[(image.pk, role) for _, image, role, _ in images] for images in layout(testset).values()] == first
    FrequencyTask.objects.filter(testset=testset).delete()
    create_frequency_tasks(testset_name=TESTSET, seed=8)
    assert [[(image.pk, role) for _, image, role, _ in images] for images in layout(testset).values()] != first


def test_only_eligible_candidates_get_tasks(build_testset, admin_user):
    testset = build_testset({TENCH: 20})
    blacklisted = Image.objects.get(file_name=f"cand-{TENCH}-000.JPEG")
    set_blacklisted(candidate_id=blacklisted.candidate.pk, user=admin_user, reason="drawing")
    create_frequency_tasks(testset_name=TESTSET, annotators=2, min_reference=0)
    placed = set(TaskImage.objects.filter(role="candidate").values_list("image_id", flat=True))
    assert len(placed) == 19 and blacklisted.pk not in placed
    # In an open task, a candidate waits for its answers; nothing new is made.
    assert create_frequency_tasks(testset_name=TESTSET, annotators=2, min_reference=0)["tasks"]["candidates"] == 0
    task = FrequencyTask.objects.get(testset=testset)
    controls = list(task.images.exclude(role="candidate").values_list("token", "role"))
    good = [token for token, role in controls if role == "positive"]
    submit_assignment(task=task, annotator=make_user("ann"), selected_tokens=good)
    # Answered once, wanted twice: still open.
    assert create_frequency_tasks(testset_name=TESTSET, annotators=2, min_reference=0)["tasks"]["candidates"] == 0
    wrong = [token for token, role in controls if role == "negative"]
    submit_assignment(task=task, annotator=make_user("bob"), selected_tokens=wrong)
    # Both answers counted: each candidate has its 2 annotations.
    assert create_frequency_tasks(testset_name=TESTSET, annotators=2, min_reference=0)["tasks"]["candidates"] == 0
    # Bob's answer falls under the threshold: the candidates are short of one annotation and go into a new task.
    testset.quality_threshold = 0.5
    testset.save()
    recount_frequencies(testset)
    summary = create_frequency_tasks(testset_name=TESTSET, annotators=2, min_reference=0)
    assert summary["tasks"]["candidates"] == 1 and summary["candidates"] == 19


def test_task_parameters_are_checked(build_testset):
    build_testset({TENCH: 5})
    with pytest.raises(DomainError, match="no place left for candidates"):
        create_frequency_tasks(testset_name=TESTSET, per_task=6, positive_controls=3, negative_controls=3)
    with pytest.raises(DomainError, match="annotators must be a whole number"):
        create_frequency_tasks(testset_name=TESTSET, annotators=0)
    assert not FrequencyTask.objects.exists()


# --- a simulated crowd ----------------------------------------------------------------------------------------------

GOOD_ACCURACY = 0.95
POSITIVE_PROBABILITY, NEGATIVE_PROBABILITY = 0.9, 0.05


def crowd_answers(testset, annotators, rng):
    """{(task, annotator name): selected tokens} of every annotator on every task. Each image has a known chance of
    being selected (drawn per candidate; high for reference images of the task's class, low for others); an
    annotator with accuracy a answers by that chance with probability a and at random otherwise."""
    chance = {}
    answers = {}
    for task, images in layout(testset).items():
        for name, accuracy in annotators.items():
            selected = []
            for _, image, _, token in images:
                if image.dataset_id == testset.pool_id:
                    probability = chance.setdefault(image.pk, rng.uniform())
                else:
                    probability = POSITIVE_PROBABILITY if image.original_wnid == task.wnid else NEGATIVE_PROBABILITY
                if rng.uniform() < (probability if rng.uniform() < accuracy else 0.5):
                    selected.append(token)
            answers[task, name] = selected
    return answers


def direct_count(testset, answers, threshold):
    """The frequencies written out plainly: per (image, class of the task), the included answers that showed it
    and those that selected it; an answer is included when it has no controls or its share right is at least
    `threshold`."""
    tasks, counts = layout(testset), {}
    for (task, _), selected in answers.items():
        images = tasks[task]
        controls = [(role, token in selected) for _, _, role, token in images if role != "candidate"]
        right = sum(1 for role, chosen in controls if chosen == (role == "positive"))
        if controls and right / len(controls) < threshold:
            continue
        for _, image, _, token in images:
            shown, chosen = counts.get((image.pk, task.wnid), (0, 0))
            counts[image.pk, task.wnid] = (shown + 1, chosen + (token in selected))
    return counts


CROWD = {"ann": GOOD_ACCURACY, "bea": GOOD_ACCURACY, "cid": GOOD_ACCURACY, "dee": GOOD_ACCURACY, "clicker": 0.0}


@pytest.fixture
def crowd_testset(build_testset):
    testset = build_testset({TENCH: 100, GOLDFISH: 42}, reference={TENCH: 12, GOLDFISH: 12})
    create_frequency_tasks(testset_name=TESTSET, annotators=len(CROWD), min_reference=8, seed=3)
    return testset


def test_frequencies_of_submitted_answers_equal_a_direct_count_and_controls_catch_a_random_clicker(crowd_testset):
    testset = crowd_testset
    testset.quality_threshold = 0.8
    testset.save()
    answers = crowd_answers(testset, CROWD, np.random.default_rng(11))
    users = {name: make_user(name, roles.ANNOTATOR) for name in CROWD}
    for (task, name), selected in answers.items():
        submit_assignment(task=task, annotator=users[name], selected_tokens=selected)
    assert Assignment.objects.count() == len(answers) == FrequencyTask.objects.count() * len(CROWD)
    submitted = frequency_table(testset)
    assert submitted == direct_count(testset, answers, 0.8)
    # The recount gives what the submits did, one by one.
    recount_frequencies(testset)
    assert frequency_table(testset) == submitted

    quality = {person["annotator"]: person for person in annotator_quality(testset)}
    tasks = FrequencyTask.objects.count()
    assert quality["clicker"]["assignments"] == tasks
    assert quality["clicker"]["accuracy"] < 0.7
    assert quality["clicker"]["excluded"] >= tasks - 1
    for name in ("ann", "bea", "cid", "dee"):
        assert quality[name]["accuracy"] > 0.8
        assert quality[name]["excluded"] <= 1
    # The clicker's answers are out of the frequencies: they equal a count without them.
    without_clicker = {key: value for key, value in answers.items() if key[1] != "clicker"}
    clicker_passed = [key for key in answers if key[1] == "clicker" and direct_count(testset, {key: answers[key]}, 0.8)]
    assert len(clicker_passed) == tasks - quality["clicker"]["excluded"]
    assert submitted == direct_count(testset, without_clicker | {key: answers[key] for key in clicker_passed}, 0.8)

    # Without a threshold every answer counts.
    testset.quality_threshold = 0.0
    testset.save()
    recount_frequencies(testset)
    assert frequency_table(testset) == direct_count(testset, answers, 0.0)
    assert all(person["excluded"] == 0 for person in annotator_quality(testset))


def test_reference_images_reach_the_annotations_asked_for(crowd_testset):
    answers = crowd_answers(crowd_testset, CROWD, np.random.default_rng(5))
    users = {name: make_user(name, roles.ANNOTATOR) for name in CROWD}
    for (task, name), selected in answers.items():
        submit_assignment(task=task, annotator=users[name], selected_tokens=selected)
    for wnid in (TENCH, GOLDFISH):
        annotated = SelectionFrequency.objects.filter(
            testset=crowd_testset, wnid=wnid, image__dataset=crowd_testset.reference, image__original_wnid=wnid
        ).filter(annotations__gte=len(CROWD))
        assert annotated.count() >= 8
    # Everything has its answers: nothing more to ask.
    summary = create_frequency_tasks(testset_name=TESTSET, annotators=len(CROWD), min_reference=8)
    assert summary["tasks"] == {"candidates": 0, "reference": 0}


def test_a_recount_writes_what_changed_since_the_last(crowd_testset):
    answers = crowd_answers(crowd_testset, CROWD, np.random.default_rng(4))
    users = {name: make_user(name, roles.ANNOTATOR) for name in CROWD}
    for (task, name), selected in answers.items():
        submit_assignment(task=task, annotator=users[name], selected_tokens=selected)
    assert recount_frequencies(crowd_testset) | {"frequencies": None} == {
        "assignments": len(answers),
        "included": len(answers),
        "frequencies": None,
        "added": 0,
        "changed": 0,
        "removed": 0,
    }
    # One answer withdrawn: the rows of its task's images change, the others stay.
    first = next(iter(layout(crowd_testset)))
    Assignment.objects.filter(task=first, annotator=users["ann"]).delete()
    del answers[first, "ann"]
    written = recount_frequencies(crowd_testset)
    assert (written["added"], written["changed"], written["removed"]) == (0, len(layout(crowd_testset)[first]), 0)
    assert frequency_table(crowd_testset) == direct_count(crowd_testset, answers, 0.0)
    # A task deleted: the frequencies of images shown in no other task of their class go.
    answers = {key: value for key, value in answers.items() if key[0] != first}
    first.delete()
    written = recount_frequencies(crowd_testset)
    assert written["removed"] > 0 and written["added"] == 0
    assert frequency_table(crowd_testset) == direct_count(crowd_testset, answers, 0.0)


def test_a_recount_without_tasks_writes_nothing(build_testset):
    testset = build_testset({TENCH: 3})
    assert recount_frequencies(testset) == {
        "assignments": 0,
        "included": 0,
        "frequencies": 0,
        "added": 0,
        "changed": 0,
        "removed": 0,
    }


# --- the grid page's submit -----------------------------------------------------------------------------------------


@pytest.fixture
def one_task(build_testset):
    testset = build_testset({TENCH: 10}, reference={TENCH: 12, GOLDFISH: 12})
    create_frequency_tasks(testset_name=TESTSET, per_task=16, min_reference=0)
    return FrequencyTask.objects.get(testset=testset)


def test_a_submit_stores_the_selection_as_a_bitmask_with_its_control_score(one_task):
    images = list(one_task.images.order_by("position").values_list("position", "role", "token"))
    positives = [(p, token) for p, role, token in images if role == "positive"]
    negatives = [(p, token) for p, role, token in images if role == "negative"]
    chosen = [positives[0], negatives[0], *[(p, token) for p, role, token in images if role == "candidate"][:2]]
    assignment = submit_assignment(
        task=one_task, annotator=make_user("ann"), selected_tokens=[token for _, token in chosen]
    )
    stored = Assignment.objects.get(pk=assignment.pk)
    bits = np.zeros(16, dtype=bool)
    bits[[p for p, _ in chosen]] = True
    assert bytes(stored.selected) == np.packbits(bits, bitorder="little").tobytes()
    # 16 places: 10 candidates, 3 + 3 controls. One positive of three selected, one negative of three selected.
    assert (stored.controls, stored.controls_right, stored.source) == (6, 3, "web")
    assert sum(annotations for annotations, _ in frequency_table(one_task.testset).values()) == 16


def test_a_token_of_another_task_is_refused_and_nothing_is_stored(one_task):
    with pytest.raises(DomainError, match="'f00d' is not the token of an image of task 1"):
        submit_assignment(task=one_task, annotator=make_user("ann"), selected_tokens=["f00d"])
    assert not Assignment.objects.exists() and not SelectionFrequency.objects.exists()


def test_a_second_answer_by_the_same_annotator_is_refused(one_task):
    annotator = make_user("ann")
    token = one_task.images.first().token
    submit_assignment(task=one_task, annotator=annotator, selected_tokens=[token])
    before = frequency_table(one_task.testset)
    with pytest.raises(ConflictError, match="ann has answered task 1 already"):
        submit_assignment(task=one_task, annotator=annotator, selected_tokens=[])
    assert Assignment.objects.count() == 1
    assert frequency_table(one_task.testset) == before


def test_a_submit_is_three_statements(one_task, django_assert_num_queries):
    annotator = make_user("ann")
    tokens = list(one_task.images.values_list("token", flat=True))
    # The task's images with the threshold, the assignment, the frequencies of its images; and, inside the test's
    # transaction, a savepoint and its release.
    with django_assert_num_queries(5):
        submit_assignment(task=one_task, annotator=annotator, selected_tokens=tokens[:4])


def test_annotator_quality_is_kept_per_day(one_task):
    images = list(one_task.images.values_list("role", "token"))
    right = [token for role, token in images if role == "positive"]
    wrong = [token for role, token in images if role == "negative"]
    one_task.testset.quality_threshold = 0.5
    one_task.testset.save()
    days = [datetime(2024, 5, 1, 12, tzinfo=UTC), datetime(2024, 5, 2, 12, tzinfo=UTC)]
    submit_assignment(task=one_task, annotator=make_user("ann"), selected_tokens=right, submitted_at=days[0])
    create_frequency_tasks(testset_name=TESTSET, per_task=16, min_reference=0, annotators=20)
    second = FrequencyTask.objects.get(number=2)
    wrong = [token for role, token in second.images.values_list("role", "token") if role == "negative"]
    submit_assignment(
        task=second, annotator=User.objects.get(username="ann"), selected_tokens=wrong, submitted_at=days[1]
    )
    [ann] = annotator_quality(one_task.testset)
    assert ann["assignments"] == 2 and ann["controls"] == 12 and ann["controls_right"] == 6 and ann["accuracy"] == 0.5
    assert ann["excluded"] == 1
    assert [(day["day"], day["accuracy"], day["excluded"]) for day in ann["days"]] == [
        ("2024-05-01", 1.0, 0),
        ("2024-05-02", 0.0, 1),
    ]


# --- exports and imports --------------------------------------------------------------------------------------------


def write_lines(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_exported_tasks_imported_back_give_the_frequencies_of_a_direct_count(crowd_testset, tmp_path):
    exported = list(export_frequency_tasks(crowd_testset))
    tasks = layout(crowd_testset)
    assert [row["task"] for row in exported] == [task.pk for task in tasks]
    first_task, first_images = next(iter(tasks.items()))
    assert exported[0] == {
        "task": first_task.pk,
        "wnid": first_task.wnid,
        "images": [{"token": token, "file_name": image.file_name} for _, image, _, token in first_images],
    }
    answers = crowd_answers(crowd_testset, CROWD, np.random.default_rng(2))
    path = write_lines(
        tmp_path / "answers.jsonl",
        [
            {"task": task.pk, "annotator": name, "selected": selected, "submitted_at": "2024-05-01T10:00:00Z"}
            for (task, name), selected in answers.items()
        ],
    )
    summary = import_selections(testset_name=TESTSET, path=path)
    assert summary["assignments"] == len(answers) and summary["accounts_created"] == len(CROWD)
    assert frequency_table(crowd_testset) == direct_count(crowd_testset, answers, 0.0)
    assert set(Assignment.objects.values_list("source", flat=True)) == {"import"}
    assert all(roles.can_annotate(user) for user in User.objects.filter(username__in=CROWD))
    # Every task has its answers: none is open for export any more.
    assert list(export_frequency_tasks(crowd_testset)) == []


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (lambda t, tok: [{"task": t[0], "annotator": "ann", "selected": []}, "{not json"], ":2: not valid JSON"),
        (
            lambda t, tok: [{"task": 10**9, "annotator": "ann", "selected": []}],
            f":1: task 1000000000 is not a task of test set '{TESTSET}'",
        ),
        (
            lambda t, tok: [{"task": t[0], "annotator": "ann", "selected": [tok[1]]}],
            ":1: '{other}' is not the token of an image of task {first}",
        ),
        (
            lambda t, tok: [
                {"task": t[0], "annotator": "ann", "selected": []},
                {"task": t[1], "annotator": "ann", "selected": []},
                {"task": t[0], "annotator": "ann", "selected": [tok[0]]},
            ],
            ":3: ann answers task {first} a second time (first at {path}:1)",
        ),
        (lambda t, tok: [{"task": t[0], "annotator": "", "selected": []}], ":1: '' is not a username"),
        (lambda t, tok: [{"task": t[0], "annotator": "ann"}], ":1: missing selected"),
        (
            lambda t, tok: [{"task": t[0], "annotator": "ann", "selected": [], "submitted_at": "yesterday"}],
            ":1: submitted_at: 'yesterday' is not an ISO-8601 time",
        ),
    ],
)
def test_a_bad_file_is_refused_whole(crowd_testset, tmp_path, lines, problem):
    tasks = list(FrequencyTask.objects.filter(testset=crowd_testset).order_by("number"))
    tokens = [task.images.first().token for task in tasks]
    path = write_lines(tmp_path / "answers.jsonl", lines([task.pk for task in tasks], tokens))
    users = User.objects.count()
    with pytest.raises(DomainError) as refused:
        import_selections(testset_name=TESTSET, path=path)
    assert problem.format(path=path, first=tasks[0].pk, other=tokens[1]) in str(refused.value)
    assert f"{path}:" in str(refused.value)
    assert not Assignment.objects.exists() and not SelectionFrequency.objects.exists()
    assert User.objects.count() == users


def test_an_answer_already_stored_is_refused_with_every_other_problem(crowd_testset, tmp_path):
    task = FrequencyTask.objects.filter(testset=crowd_testset).order_by("number").first()
    write_lines(tmp_path / "first.jsonl", [{"task": task.pk, "annotator": "ann", "selected": []}])
    import_selections(testset_name=TESTSET, path=tmp_path / "first.jsonl")
    second = write_lines(
        tmp_path / "second.jsonl",
        [
            {"task": task.pk, "annotator": "bea", "selected": []},
            {"task": task.pk, "annotator": "ann", "selected": []},
            "[]",
        ],
    )
    with pytest.raises(DomainError) as refused:
        import_selections(testset_name=TESTSET, path=second)
    message = str(refused.value)
    assert f"{second}:2: ann has answered task {task.pk} already" in message
    assert f"{second}:3: expected an object" in message
    assert Assignment.objects.count() == 1 and not User.objects.filter(username="bea").exists()


def test_annotator_accounts_are_made_with_the_annotator_role(db):
    make_user("old", roles.REVIEWER)
    accounts, created = annotator_accounts(["old", "new"])
    assert created == 1 and set(accounts) == {"old", "new"}
    new = User.objects.get(username="new")
    assert roles.can_annotate(new) and not new.has_usable_password()
    assert not roles.can_annotate(User.objects.get(username="old"))


# --- commands -------------------------------------------------------------------------------------------------------


def test_the_commands_create_export_import_and_write_frequencies(build_testset, tmp_path):
    testset = build_testset({TENCH: 30}, reference={TENCH: 12, GOLDFISH: 12})
    out = io.StringIO()
    call_command(
        "create_frequency_tasks",
        "--testset",
        TESTSET,
        "--per-task",
        "20",
        "--positive-controls",
        "2",
        "--negative-controls",
        "2",
        "--annotators",
        "2",
        "--min-reference",
        "4",
        stdout=out,
    )
    assert json.loads(out.getvalue())["tasks"] == {"candidates": 2, "reference": 0}
    call_command("export_frequency_tasks", "--testset", TESTSET, "--out", str(tmp_path / "tasks.jsonl"), stdout=out)
    exported = [json.loads(line) for line in (tmp_path / "tasks.jsonl").read_text().splitlines()]
    assert [sorted(row) for row in exported] == [["images", "task", "wnid"]] * 2
    answers = [
        {"task": row["task"], "annotator": name, "selected": [image["token"] for image in row["images"][:5]]}
        for row in exported
        for name in ("ann", "bea")
    ]
    write_lines(tmp_path / "answers.jsonl", answers)
    out = io.StringIO()
    call_command("import_selections", str(tmp_path / "answers.jsonl"), "--testset", TESTSET, stdout=out)
    assert json.loads(out.getvalue())["assignments"] == 4
    call_command("selection_frequencies", "--testset", TESTSET, "--out", str(tmp_path / "f.csv"), stdout=out)
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert list(rows[0]) == ["file_name", "wnid", "role", "annotations", "selected", "frequency"]
    # A row per image and class it was shown with (a reference image may be a control in both tasks).
    assert len(rows) == len(set(TaskImage.objects.values_list("image_id", "task__wnid")))
    by_name = {row["file_name"]: row for row in rows}
    first = exported[0]["images"][0]["file_name"]
    assert (by_name[first]["annotations"], by_name[first]["selected"], by_name[first]["frequency"]) == ("2", "2", "1.0")
    assert {row["role"] for row in rows} == {"candidate", "reference"}
    assert all(row["role"] == "candidate" for row in rows if row["file_name"].startswith("cand-"))
    assert rows == [
        dict(zip(["file_name", "wnid", "role", "annotations", "selected", "frequency"], map(str, row), strict=True))
        for row in frequency_rows(testset)
    ]
    with pytest.raises(CommandError, match="test set 'nope' does not exist"):
        call_command("selection_frequencies", "--testset", "nope", "--out", str(tmp_path / "g.csv"))
    with pytest.raises(CommandError, match="ann has answered task"):
        call_command("import_selections", str(tmp_path / "answers.jsonl"), "--testset", TESTSET)
