"""Evaluation phases through the services and the API: sampling, seen images, states, access, timing, closing."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

import taxonomy
from annotate import services as annotate_services
from annotate.image_import import import_image_folder
from annotate.models import ClassifierModel, Image, Prediction, PredictionBlock, PredictorKind, ReviewItem
from evaluation import selectors, services
from evaluation.models import Participant, ParticipantImage, Phase, PhaseImage, PhaseState
from tests.conftest import client_for, evaluation_people, jpeg_bytes
from tests.test_prediction_blocks import assert_blocks_hold_the_predictions
from tests.wnids import AIRLINER, CHIHUAHUA, GOLDFISH, TENCH
from training.services import create_training_task
from training.services import record_answer as record_training_answer


def build_folder(root, files):
    """DIR/<wnid>/<file>, each file of its own colour: images that share a file are closed and seen together."""
    for wnid, names in files.items():
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for name in names:
            colour = tuple(hashlib.sha256(f"{root.name}/{wnid}/{name}".encode()).digest()[:3])
            (root / wnid / name).write_bytes(jpeg_bytes(colour))
    return root


def build_datasets(tmp_path):
    """inet: 4 tench (organisms) and 4 airliners (objects); v2: 3 tench and 3 airliners."""
    import_image_folder(
        dataset_name="inet",
        directory=build_folder(
            tmp_path / "inet", {TENCH: [f"t{i}.JPEG" for i in range(4)], AIRLINER: [f"a{i}.JPEG" for i in range(4)]}
        ),
    )
    import_image_folder(
        dataset_name="v2",
        directory=build_folder(
            tmp_path / "v2", {TENCH: [f"vt{i}.JPEG" for i in range(3)], AIRLINER: [f"va{i}.JPEG" for i in range(3)]}
        ),
    )


@pytest.fixture
def people(db):
    """The evaluation tests' people, with oscar as the second reviewer: a reviewer who takes part in no phase here."""
    return evaluation_people(second_reviewer="oscar")


@pytest.fixture
def datasets(db, tmp_path):
    build_datasets(tmp_path)


def new_phase(name="phase 1", datasets=None, participants=("pat", "paula"), **kwargs):
    return services.create_phase(
        name=name, datasets=datasets or {"inet": 3, "v2": 2}, participants=list(participants), **kwargs
    )


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def sampled(phase):
    return list(PhaseImage.objects.filter(phase=phase).order_by("position").values_list("image_id", flat=True))


# --- sampling -----------------------------------------------------------------------------------------------


def test_the_sample_is_stratified_by_dataset_and_drawn_again_alike_with_its_seed(people, datasets):
    phase = new_phase(seed=7)
    assert phase.image_count == 5 and phase.state == PhaseState.DRAFT
    assert selectors.sample_summary(phase) == [
        {"dataset": "inet", "split": "", "images": 3},
        {"dataset": "v2", "split": "", "images": 2},
    ]
    assert new_phase("again", seed=7) and sampled(Phase.objects.get(name="again")) == sampled(phase)
    others = {tuple(sampled(new_phase(f"seed {seed}", seed=seed))) for seed in range(8)}
    assert len(others) > 1
    # Every participant gets the whole sample (nothing seen), in an order of their own.
    lists = {
        p.user.username: list(p.images.order_by("position").values_list("phase_image__image_id", flat=True))
        for p in phase.participants.select_related("user")
    }
    assert sorted(lists["pat"]) == sorted(lists["paula"]) == sorted(sampled(phase))


def test_the_sample_is_stratified_by_class_split(people, datasets):
    phase = new_phase(datasets={"inet": 2, "v2": 1}, splits=["organisms", "objects"], seed=3)
    assert selectors.sample_summary(phase) == [
        {"dataset": "inet", "split": "objects", "images": 2},
        {"dataset": "inet", "split": "organisms", "images": 2},
        {"dataset": "v2", "split": "objects", "images": 1},
        {"dataset": "v2", "split": "organisms", "images": 1},
    ]
    for row in PhaseImage.objects.filter(phase=phase).select_related("image"):
        assert row.image.original_wnid in taxonomy.split_classes(row.split)
        assert row.dataset_id == row.image.dataset_id


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"datasets": {"inet": 9}}, "datasets", "fewer than 9"),
        ({"datasets": {"nope": 1}}, "datasets", "no such dataset"),
        ({"datasets": {"inet": 0}}, "datasets", "at least one dataset"),
        ({"splits": ["fish"]}, "splits", "unknown split"),
        ({"participants": ["ghost"]}, "participants", "no such user"),
        ({"participants": []}, "participants", "at least one participant"),
        ({"name": "a/b"}, "name", "'/'"),
        ({"seed": "x"}, "seed", "integer"),
    ],
)
def test_bad_phase_input_is_a_400_naming_the_problem_and_writes_nothing(people, datasets, change, field, message):
    data = {"name": "p", "datasets": {"inet": 2}, "participants": ["pat"], **change}
    response = post(client_for(people["admin"]), "/api/evaluation/phases/", data)
    assert response.status_code == 400, response.content
    assert field in response.json() and message in str(response.json()[field])
    assert not Phase.objects.exists() and not PhaseImage.objects.exists()


# --- seen images ----------------------------------------------------------------------------------------------


def test_images_a_participant_reviewed_or_trained_on_are_flagged_seen_or_left_out(people, datasets):
    reviewed = Image.objects.get(file_name="t0.JPEG")
    item = ReviewItem.objects.get(image=reviewed, wnid=TENCH)
    annotate_services.set_verdict(item_id=item.pk, reviewer=people["paula"], value="correct")
    task = create_training_task(name="t", dataset_name="inet", source="slice", offset_start=0, offset_end=8)
    trained = Image.objects.get(pk=task.image_ids[0])
    record_training_answer(task=task, trainee=people["pat"], image_id=trained.pk, wnid=TENCH)

    phase = new_phase(datasets={"inet": 8})
    seen = {(user.username, image.pk) for user, image, was_seen in selectors.participant_images(phase) if was_seen}
    assert seen == {("paula", reviewed.pk), ("pat", trained.pk)}
    assert len(selectors.participant_images(phase)) == 16

    leaving_out = new_phase("without seen", datasets={"inet": 8}, exclude_seen=True)
    rows = selectors.participant_images(leaving_out)
    assert len(rows) == 14 and not any(was_seen for _, _, was_seen in rows)
    assert ("paula", reviewed.pk) not in {(user.username, image.pk) for user, image, _ in rows}
    summary = {p.user.username: p for p in selectors.participants_summary(leaving_out)}
    assert summary["pat"].excluded == 1 and summary["pat"].image_count == 7

    # Admins read the split per participant image through the API too.
    response = client_for(people["admin"]).get(f"/api/evaluation/phases/{phase.pk}/participant-images/")
    assert response.status_code == 200
    assert {(r["participant"], r["image"]) for r in response.json() if r["seen"]} == seen


# --- states -------------------------------------------------------------------------------------------------


def test_a_phase_goes_draft_open_closed_only(people, datasets):
    phase = new_phase()
    pat = Participant.objects.get(phase=phase, user=people["pat"])
    with pytest.raises(services.PhaseStateError, match="needs the phase to be open"):
        services.close_phase(phase)
    with pytest.raises(services.PhaseStateError, match="labeling needs the phase to be open"):
        services.start_next_image(phase=phase, participant=pat)
    services.update_phase(phase, datasets={"inet": 2}, seed=5)
    assert Phase.objects.get(pk=phase.pk).image_count == 2
    assert ParticipantImage.objects.filter(participant=pat).count() == 2

    phase = services.open_phase(phase)
    with pytest.raises(services.PhaseStateError, match="opening needs the phase to be draft"):
        services.open_phase(phase)
    with pytest.raises(services.PhaseStateError, match="editing needs the phase to be draft"):
        services.update_phase(phase, seed=9)
    item = services.start_next_image(phase=phase, participant=pat)
    services.record_answer(phase=phase, participant=pat, token=item.phase_image.token, wnid=GOLDFISH)

    services.close_phase(phase)
    phase.refresh_from_db()
    assert phase.state == PhaseState.CLOSED and phase.closed_at
    for action in (services.open_phase, services.close_phase):
        with pytest.raises(services.PhaseStateError):
            action(phase)
    with pytest.raises(services.PhaseStateError, match="answering needs the phase to be open"):
        services.record_answer(phase=phase, participant=pat, token=item.phase_image.token, wnid=TENCH)


def test_state_changes_and_edits_through_the_api(people, datasets):
    admin = client_for(people["admin"])
    response = post(admin, "/api/evaluation/phases/", {"name": "p", "datasets": {"inet": 2}, "participants": ["pat"]})
    assert response.status_code == 201
    pk = response.json()["id"]
    pat = client_for(people["pat"])
    assert post(pat, f"/api/evaluation/phases/{pk}/next/").status_code == 403  # draft: no participants yet
    assert post(pat, f"/api/evaluation/phases/{pk}/open/").status_code == 403
    response = admin.patch(f"/api/evaluation/phases/{pk}/", {"datasets": {"v2": 3}}, content_type="application/json")
    assert response.status_code == 200 and response.json()["images"] == 3
    assert post(admin, f"/api/evaluation/phases/{pk}/close/").status_code == 409
    assert post(admin, f"/api/evaluation/phases/{pk}/open/").json()["state"] == "open"
    response = admin.patch(f"/api/evaluation/phases/{pk}/", {"seed": 4}, content_type="application/json")
    body = response.json()
    assert response.status_code == 409 and "editing needs the phase to be draft" in body["detail"]
    assert body["state"] == "open"
    token = post(pat, f"/api/evaluation/phases/{pk}/next/").json()["image"]["token"]
    assert post(pat, f"/api/evaluation/phases/{pk}/answers/", {"image": token, "wnid": "n00000000"}).status_code == 400
    assert post(pat, f"/api/evaluation/phases/{pk}/answers/", {"image": token, "wnid": TENCH}).status_code == 201
    again = post(pat, f"/api/evaluation/phases/{pk}/answers/", {"image": token, "wnid": TENCH})
    assert again.status_code == 400 and "already answered" in again.json()["image"]
    assert post(admin, f"/api/evaluation/phases/{pk}/close/").json()["state"] == "closed"
    assert post(pat, f"/api/evaluation/phases/{pk}/next/").status_code == 409


# --- access -----------------------------------------------------------------------------------------------------


FORBIDDEN_WORDS = ("file_name", "original", ".JPEG", "items", "verdict", "correct", TENCH, AIRLINER)


def test_participants_see_only_their_own_blind_work(people, datasets):
    phase = services.open_phase(new_phase())
    pk = phase.pk
    pat, paula, oscar = (client_for(people[name]) for name in ("pat", "paula", "oscar"))
    admin = client_for(people["admin"])

    payloads = []
    response = post(pat, f"/api/evaluation/phases/{pk}/next/")
    assert response.status_code == 200
    payloads.append(response)
    token = response.json()["image"]["token"]
    assert "id" not in response.json()["image"]
    answer = post(pat, f"/api/evaluation/phases/{pk}/answers/", {"image": token, "wnid": GOLDFISH})
    assert answer.status_code == 201
    for url in (f"/api/evaluation/phases/{pk}/", "/api/evaluation/phases/", f"/api/evaluation/phases/{pk}/answers/"):
        response = pat.get(url)
        assert response.status_code == 200, url
        payloads.append(response)
    for url in ("/evaluation/", f"/evaluation/phases/{pk}/label/"):
        response = pat.get(url)
        assert response.status_code == 200, url
        payloads.append(response)
    for response in payloads:
        text = response.content.decode()
        for word in FORBIDDEN_WORDS:
            assert word not in text, (response.wsgi_request.path, word)
    assert pat.get(f"/api/evaluation/phases/{pk}/answers/").json()[0]["wnid"] == GOLDFISH

    # Another participant's answers, the participants' image lists and the admin page: not for participants.
    assert pat.get(f"/api/evaluation/phases/{pk}/answers/?participant=paula").status_code == 403
    assert paula.get(f"/api/evaluation/phases/{pk}/answers/?participant=pat").status_code == 403
    assert pat.get(f"/api/evaluation/phases/{pk}/participant-images/").status_code == 403
    assert pat.get(f"/evaluation/phases/{pk}/").status_code == 302  # to their labeling screen
    # The image: by token, for a participant whose list holds it, with no file name.
    image = pat.get(f"/evaluation/phases/{pk}/images/{token}.jpg")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert "Content-Disposition" not in image
    assert pat.get(f"/evaluation/phases/{pk}/images/nope.jpg").status_code == 404

    # Non-participants: 403 everywhere.
    for url in (f"/api/evaluation/phases/{pk}/", f"/api/evaluation/phases/{pk}/answers/"):
        assert oscar.get(url).status_code == 403, url
    assert post(oscar, f"/api/evaluation/phases/{pk}/next/").status_code == 403
    assert post(oscar, f"/api/evaluation/phases/{pk}/answers/", {"image": token, "wnid": TENCH}).status_code == 403
    assert oscar.get(f"/evaluation/phases/{pk}/label/").status_code == 403
    assert oscar.get(f"/evaluation/phases/{pk}/").status_code == 403
    assert oscar.get(f"/evaluation/phases/{pk}/images/{token}.jpg").status_code == 404  # as if there were none
    assert oscar.get("/api/evaluation/phases/").json() == []
    assert post(oscar, "/api/evaluation/phases/", {"name": "x"}).status_code == 403

    # Admins manage: everything about the phase, anyone's answers.
    detail = admin.get(f"/api/evaluation/phases/{pk}/").json()
    assert {p["username"] for p in detail["participants"]} == {"pat", "paula"}
    assert admin.get(f"/api/evaluation/phases/{pk}/answers/?participant=pat").json()[0]["wnid"] == GOLDFISH
    assert admin.get(f"/evaluation/phases/{pk}/").status_code == 200
    assert admin.get(f"/evaluation/phases/{pk}/images/{token}.jpg").status_code == 200

    # After closing, even its own participant gets no more images.
    services.close_phase(phase)
    assert pat.get(f"/evaluation/phases/{pk}/images/{token}.jpg").status_code == 404


def test_a_participant_cannot_answer_an_image_of_someone_elses_list(people, datasets):
    phase = services.open_phase(new_phase(datasets={"inet": 8}, exclude_seen=True))
    pat = Participant.objects.get(phase=phase, user=people["pat"])
    paula = Participant.objects.get(phase=phase, user=people["paula"])
    ParticipantImage.objects.filter(participant=pat, position=0).delete()
    hidden = PhaseImage.objects.exclude(participant_images__participant=pat).get(phase=phase)
    assert ParticipantImage.objects.filter(participant=paula, phase_image=hidden).exists()
    with pytest.raises(services.PhaseInputError, match="not in your list"):
        services.record_answer(phase=phase, participant=pat, token=hidden.token, wnid=TENCH)
    response = client_for(people["pat"]).get(f"/evaluation/phases/{phase.pk}/images/{hidden.token}.jpg")
    assert response.status_code == 404


# --- timing and resuming --------------------------------------------------------------------------------------


def test_start_and_end_time_per_image_are_recorded_and_work_resumes_where_it_stopped(people, datasets):
    phase = services.open_phase(new_phase())
    pat = Participant.objects.get(phase=phase, user=people["pat"])
    t0 = timezone.now()
    first = services.start_next_image(phase=phase, participant=pat, at=t0)
    assert first.position == 0
    with pytest.raises(services.PhaseInputError, match="not shown to you yet"):
        second = ParticipantImage.objects.get(participant=pat, position=1)
        services.record_answer(phase=phase, participant=pat, token=second.phase_image.token, wnid=TENCH)
    answered = services.record_answer(
        phase=phase, participant=pat, token=first.phase_image.token, wnid=TENCH, at=t0 + timedelta(seconds=5)
    )
    assert answered.seconds_taken == 5
    # Stop and come back: the first unanswered image again, its clock started anew.
    t1 = t0 + timedelta(hours=2)
    assert services.start_next_image(phase=phase, participant=pat, at=t1).position == 1
    again = services.start_next_image(phase=phase, participant=pat, at=t1 + timedelta(seconds=30))
    assert again.position == 1 and again.started_at == t1 + timedelta(seconds=30)
    pat.refresh_from_db()
    assert selectors.progress(pat)["text"] == "1 of 5"
    rows = client_for(people["pat"]).get(f"/api/evaluation/phases/{phase.pk}/answers/").json()
    assert [row["seconds_taken"] for row in rows] == [5.0]


# --- closing --------------------------------------------------------------------------------------------------


def test_closing_turns_answers_into_human_predictions_in_the_review_queue(people, datasets):
    phase = services.open_phase(new_phase(datasets={"inet": 2, "v2": 2}))
    for username, wnid in (("pat", GOLDFISH), ("paula", CHIHUAHUA)):
        participant = Participant.objects.get(phase=phase, user=people[username])
        for _ in range(3 if username == "pat" else 1):
            item = services.start_next_image(phase=phase, participant=participant)
            services.record_answer(phase=phase, participant=participant, token=item.phase_image.token, wnid=wnid)
    assert not Prediction.objects.exists()  # nothing leaves the phase while it is open

    added = services.close_phase(phase)
    assert added == 4
    pat_model = ClassifierModel.objects.get(name="human pat (phase 1)")
    assert pat_model.kind == PredictorKind.HUMAN
    predictions = list(Prediction.objects.filter(model=pat_model))
    assert len(predictions) == 3
    assert all(p.top1_wnid == GOLDFISH and p.wnids == [GOLDFISH] and p.scores is None for p in predictions)
    for prediction in predictions:
        item = ReviewItem.objects.get(image=prediction.image, wnid=GOLDFISH)
        assert item.verdict == "unreviewed" and item.model_count == 1
        assert Image.objects.get(pk=prediction.image_id).pending_items >= 2
    assert Participant.objects.get(phase=phase, user=people["pat"]).model == pat_model
    assert ClassifierModel.objects.filter(kind=PredictorKind.HUMAN).count() == 2
    assert PredictionBlock.objects.filter(model=pat_model).exists()
    assert_blocks_hold_the_predictions()


# --- queries ---------------------------------------------------------------------------------------------------


def test_the_participant_paths_take_a_fixed_number_of_queries(people, datasets, django_assert_max_num_queries):
    phase = services.open_phase(new_phase(datasets={"inet": 4, "v2": 4}))
    new_phase("other", datasets={"inet": 1})
    pk = phase.pk
    pat = client_for(people["pat"])
    admin = client_for(people["admin"])
    with django_assert_max_num_queries(8):
        assert pat.get("/evaluation/").status_code == 200
    with django_assert_max_num_queries(8):
        assert pat.get(f"/evaluation/phases/{pk}/label/").status_code == 200
    with django_assert_max_num_queries(10):
        token = post(pat, f"/api/evaluation/phases/{pk}/next/").json()["image"]["token"]
    # 11: the roles, read once per request to keep annotator-only accounts to their grids (accounts.middleware).
    with django_assert_max_num_queries(11):
        assert post(pat, f"/api/evaluation/phases/{pk}/answers/", {"image": token, "wnid": TENCH}).status_code == 201
    with django_assert_max_num_queries(8):
        assert pat.get(f"/evaluation/phases/{pk}/images/{token}.jpg").status_code == 200
    with django_assert_max_num_queries(8):
        assert pat.get(f"/api/evaluation/phases/{pk}/").status_code == 200
    with django_assert_max_num_queries(12):
        assert admin.get("/evaluation/").status_code == 200
    with django_assert_max_num_queries(10):
        assert admin.get(f"/evaluation/phases/{pk}/").status_code == 200


def test_an_open_phase_keeps_its_images_out_of_its_participants_training_and_guide(people, datasets):
    """Training feedback and guide examples show labels: not of the images a participant labels blind now."""
    from labelguide import services as guide_services
    from training import services as training_services

    phase = new_phase(datasets={"inet": 8})
    services.open_phase(phase)
    task = training_services.create_training_task(
        name="tench and airliners", dataset_name="inet", source="slice", offset_start=0, offset_end=8
    )
    pat = client_for(people["pat"])
    response = pat.get(f"/api/training/tasks/{task.pk}/next/")
    assert response.status_code == 403 and "evaluation phase you take part in" in response.json()["detail"]
    answer = {"image": task.image_ids[0], "wnid": TENCH, "seconds_taken": 3}
    refused = post(pat, f"/api/training/tasks/{task.pk}/answers/", answer)
    assert refused.status_code == 400 and "is not part of task" in refused.json()["image"]
    # Someone outside the phase trains on them as usual.
    assert client_for(people["oscar"]).get(f"/api/training/tasks/{task.pk}/next/").status_code == 200

    page = guide_services.create_page(author=people["admin"], title="Tench or airliner", wnids=[TENCH, AIRLINER])

    def example_ids(client):
        return {
            image["id"]
            for entry in client.get(f"/api/guide/pages/{page.slug}/").json()["examples"]
            for image in entry["images"]
        }

    in_phase = set(sampled(phase))
    assert example_ids(pat) and not example_ids(pat) & in_phase
    assert example_ids(client_for(people["oscar"])) & in_phase

    services.close_phase(phase)
    assert pat.get(f"/api/training/tasks/{task.pk}/next/").status_code == 200


def test_a_sample_never_shows_one_photo_twice_when_datasets_share_files(people, tmp_path):
    """v2-copy holds inet's four tench files again (and one of them twice, as another class) beside one photo of
    its own: after inet's images, only that one is left to draw, and a draw over both never repeats a file."""
    shared = build_folder(tmp_path / "shared", {TENCH: [f"t{i}.JPEG" for i in range(4)]})
    import_image_folder(dataset_name="inet", directory=shared)
    import_image_folder(dataset_name="v2-copy", directory=shared)
    own = build_folder(tmp_path / "own", {AIRLINER: ["own.JPEG"]})
    (own / GOLDFISH).mkdir()
    (own / GOLDFISH / "t0-again.JPEG").write_bytes((shared / TENCH / "t0.JPEG").read_bytes())
    import_image_folder(dataset_name="v2-copy", directory=own)
    assert Image.objects.filter(dataset__name="v2-copy").count() == 6

    phase = new_phase(datasets={"inet": 4, "v2-copy": 1})
    files = list(Image.objects.filter(pk__in=sampled(phase)).values_list("sha256", flat=True))
    assert len(set(files)) == len(files) == 5
    assert Image.objects.get(pk=sampled(phase)[-1]).file_name == "own.JPEG"
    for seed in range(12):
        drawn = sampled(new_phase(f"seed {seed}", datasets={"inet": 2, "v2-copy": 3}, seed=seed))
        files = list(Image.objects.filter(pk__in=drawn).values_list("sha256", flat=True))
        assert len(set(files)) == len(files) == 5, seed
    with pytest.raises(services.PhaseInputError, match="'v2-copy' has 1 images with files to draw from .* than 2"):
        new_phase("too many", datasets={"inet": 4, "v2-copy": 2})
