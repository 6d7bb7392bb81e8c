"""The findings of the outside probe (issue 11), one test each: who may see an image and its answers, idempotency
keys, leases, tokens, login limits behind a proxy, spreadsheet cells and draft phases."""

import hashlib
import io
import json
import re
import threading

import numpy as np
import pytest
from django.db import connection
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from accounts import roles
from accounts.services import token_for
from annotate import labelling
from annotate import services as annotate_services
from annotate.image_import import import_image_folder
from annotate.models import FlagChange, Image, Lease, ProblematicFlag, ReviewItem, VerdictChange
from annotate.prediction_import import import_predictions
from annotate.spreadsheets import SafeWriter, as_text_cell
from consensus import services as consensus_services
from evaluation import services as evaluation_services
from evaluation.models import PhaseImage
from tests.conftest import client_for, jpeg_bytes, make_user
from tests.wnids import GOLDFISH, GREAT_WHITE, TENCH
from training.models import TaskSource
from training.services import create_training_task


def folder(root, files):
    """DIR/<wnid>/<file>, each file of its own colour unless `files` maps a name to bytes."""
    for wnid, names in files.items():
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for name in names:
            data = names[name] if isinstance(names, dict) else None
            colour = tuple(hashlib.sha256(f"{root}/{name}".encode()).digest()[:3])
            (root / wnid / name).write_bytes(data or jpeg_bytes(colour))
    return root


def import_dataset(tmp_path, name, files, top1=None):
    import_image_folder(dataset_name=name, directory=folder(tmp_path / name, files))
    if top1:
        csv = tmp_path / f"{name}.csv"
        csv.write_text("filename,top1\n" + "".join(f"{file},{wnid}\n" for file, wnid in top1.items()))
        import_predictions(model_name="resnet-sim", dataset_name=name, path=csv)


def send(client, method, url, data=None, **headers):
    if method == "get":
        return client.get(url, headers=headers)
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json", headers=headers)


@pytest.fixture
def phase_world(db, tmp_path):
    """An open phase over one image of `val`, with the reviewer `rita` taking part; `mirror` holds the same file
    under another id; `nina` is a reviewer outside the phase; the admin flagged the phase image."""
    people = {
        "admin": make_user("ada", roles.ADMIN),
        "rita": make_user("rita", roles.REVIEWER),
        "nina": make_user("nina", roles.REVIEWER),
    }
    import_dataset(
        tmp_path,
        "val",
        {TENCH: ["a.JPEG", "b.JPEG"]},
        {"a.JPEG": GOLDFISH, "b.JPEG": GREAT_WHITE},
    )
    phase = evaluation_services.create_phase(
        name="blind", datasets={"val": 1}, participants=["rita"], created_by=people["admin"]
    )
    evaluation_services.open_phase(phase)
    phase_image = PhaseImage.objects.select_related("image").get(phase=phase).image
    with phase_image.file.open("rb") as handle:
        import_dataset(tmp_path, "mirror", {phase_image.original_wnid: {"copy.JPEG": handle.read()}})
    annotate_services.set_problematic(image_id=phase_image.pk, reviewer=people["admin"], reason="drawing")
    twin = Image.objects.get(dataset__name="mirror")
    return {**people, "phase_image": phase_image, "twin": twin, "missing": Image.objects.order_by("-pk")[0].pk + 1000}


def test_a_participant_can_neither_read_nor_change_the_flag_of_a_phase_image(phase_world):
    """Finding 1: the participant wrote, cleared and read (through a 409) the flag of their phase image."""
    rita, image = client_for(phase_world["rita"]), phase_world["phase_image"]
    url = f"/api/images/{image.pk}/problematic/"
    changes = FlagChange.objects.count()
    assert send(rita, "put", url, {"reason": "drawing"}).status_code == 404
    assert send(rita, "delete", url).status_code == 404
    stale = send(rita, "delete", url, {"based_on": ""})
    assert stale.status_code == 404 and "drawing" not in stale.content.decode()
    assert ProblematicFlag.objects.get(image=image).reviewer == phase_world["admin"]
    assert FlagChange.objects.count() == changes


def test_a_phase_image_is_closed_under_every_id_that_carries_its_file(phase_world):
    """Finding 2: the same file under another id showed the phase image's label and candidates."""
    rita, nina, twin = client_for(phase_world["rita"]), client_for(phase_world["nina"]), phase_world["twin"]
    for url in (f"/api/images/{twin.pk}/", f"/api/images/{twin.pk}/history/", f"/images/{twin.pk}/display"):
        assert rita.get(url).status_code == 404, url
        assert nina.get(url).status_code == 200, url
    assert rita.get(f"/images/{twin.pk}/original").status_code == 404
    assert rita.get("/api/review/next/", {"dataset": "mirror"}).status_code == 204

    def example_ids(client):
        examples = client.get(f"/api/guide/wnids/{twin.original_wnid}/").json()["examples"]
        return {image["id"] for example in examples for image in example["images"]}

    assert twin.pk not in example_ids(rita) and twin.pk in example_ids(nina)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/images/{}/"),
        ("get", "/api/images/{}/history/"),
        ("post", "/api/images/{}/lease/"),
        ("put", "/api/images/{}/problematic/"),
        ("delete", "/api/images/{}/problematic/"),
        ("get", "/images/{}/display"),
        ("get", "/images/{}/original"),
    ],
)
def test_a_closed_image_answers_exactly_like_a_missing_one(phase_world, method, path):
    """Finding 4: a 403 told the participant which ids were in their phase."""
    rita = client_for(phase_world["rita"])
    closed_id, missing_id = phase_world["phase_image"].pk, phase_world["missing"]
    closed = send(rita, method, path.format(closed_id), {"reason": "drawing"})
    missing = send(rita, method, path.format(missing_id), {"reason": "drawing"})
    assert closed.status_code == missing.status_code == 404

    def without(response, pk):
        # The app's error page carries CSRF tokens (a meta tag, the logout form's), masked anew on every page.
        page = re.sub(r'name="(csrf-token|csrfmiddlewaretoken)" (content|value)="[^"]*"', "", response.content.decode())
        return re.sub(rf"\b{pk}\b", "N", page)

    assert without(closed, closed_id) == without(missing, missing_id)


def test_training_feedback_shows_only_what_the_trainee_may_see(db, tmp_path):
    """Finding 3: feedback gave away a golden item's answer and the consensus labels of a blind dataset."""
    admin, tom = make_user("ada", roles.ADMIN), make_user("tom", roles.TRAINEE, roles.REVIEWER)
    voters = [make_user(name, roles.REVIEWER) for name in ("v1", "v2")]
    import_dataset(tmp_path, "crowd", {TENCH: ["x.JPEG"]}, {"x.JPEG": GOLDFISH})
    import_dataset(tmp_path, "val", {TENCH: ["g.JPEG"]}, {"g.JPEG": GOLDFISH})
    crowd = Image.objects.get(dataset__name="crowd").dataset
    labelling.set_policy(dataset=crowd, rule="majority", overlap=2, user=admin)
    for voter in voters:
        for wnid, verdict in ((TENCH, "wrong"), (GOLDFISH, "correct")):
            item = ReviewItem.objects.get(dataset=crowd, wnid=wnid)
            annotate_services.set_verdict(item_id=item.pk, reviewer=voter, value=verdict)
    golden_item = ReviewItem.objects.get(dataset__name="val", wnid=GOLDFISH)
    consensus_services.mark_golden(item_id=golden_item.pk, answer="correct", user=admin)

    def feedback(user, dataset_name):
        task = create_training_task(
            name=f"{dataset_name} for {user}",
            dataset_name=dataset_name,
            source=TaskSource.SLICE,
            offset_start=0,
            offset_end=1,
        )
        image_id = task.image_ids[0]
        answer = send(
            client_for(user), "post", f"/api/training/tasks/{task.pk}/answers/", {"image": image_id, "wnid": GOLDFISH}
        )
        assert answer.status_code == 201, answer.content
        return answer.json()

    for dataset_name in ("crowd", "val"):
        seen = feedback(tom, dataset_name)
        assert [label["wnid"] for label in seen["correct_labels"]] == [TENCH], dataset_name
        assert seen["labels_source"] == "blind" and seen["correct"] is False
    assert [label["wnid"] for label in feedback(admin, "crowd")["correct_labels"]] == [GOLDFISH]

    def example_ids(user):
        examples = client_for(user).get(f"/api/guide/wnids/{TENCH}/").json()["examples"]
        return {image["id"] for example in examples for image in example["images"]}

    # Nor do the guide's examples, whose ranking and choice follow the reviewers' verdicts.
    blind = set(Image.objects.values_list("pk", flat=True))
    assert not example_ids(tom) & blind
    assert example_ids(admin) == {golden_item.image_id}  # the crowd's image: its original label was voted wrong


@pytest.fixture
def items(db, tmp_path):
    import_dataset(tmp_path, "val", {TENCH: ["a.JPEG", "b.JPEG", "c.JPEG"]}, {"a.JPEG": GOLDFISH, "b.JPEG": GOLDFISH})
    return list(ReviewItem.objects.filter(dataset__name="val").order_by("pk"))


def test_an_idempotency_key_is_scoped_to_its_item_and_refused_with_another_body(db, items):
    """Finding 5: a key reused on another item or with another verdict answered 200 while nothing was stored."""
    rita = client_for(make_user("rita", roles.REVIEWER))
    first, second = items[0], items[1]

    def verdict(item, value):
        return send(
            rita, "post", f"/api/review-items/{item.pk}/verdict/", {"verdict": value}, **{"Idempotency-Key": "k1"}
        )

    assert verdict(first, "correct").status_code == 200
    assert verdict(first, "correct").status_code == 200
    assert VerdictChange.objects.filter(item=first).count() == 1
    reused = verdict(first, "wrong")
    assert reused.status_code == 422 and "Idempotency-Key 'k1'" in reused.json()["detail"]
    assert ReviewItem.objects.get(pk=first.pk).verdict == "correct"
    assert verdict(second, "wrong").status_code == 200
    assert ReviewItem.objects.get(pk=second.pk).verdict == "wrong"


def test_concurrent_requests_with_one_key_never_fail(transactional_db, tmp_path):
    """Finding 5: three parallel requests with one key on different items gave 500s (IntegrityError)."""
    import_dataset(
        tmp_path,
        "val",
        {TENCH: [f"{index}.JPEG" for index in range(6)]},
        {f"{index}.JPEG": GOLDFISH for index in range(6)},
    )
    reviewer = make_user("rita", roles.REVIEWER)
    item_ids = list(ReviewItem.objects.values_list("pk", flat=True))
    statuses, barrier = [], threading.Barrier(3)

    def hammer(offset):
        client = client_for(reviewer)
        try:
            for round_ in range(len(item_ids)):
                barrier.wait()
                item_id = item_ids[(round_ + offset) % len(item_ids)]
                response = send(
                    client,
                    "post",
                    f"/api/review-items/{item_id}/verdict/",
                    {"verdict": "correct"},
                    **{"Idempotency-Key": "same"},
                )
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer, args=(offset,)) for offset in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses and set(statuses) == {200}, statuses
    assert VerdictChange.objects.filter(request_key="same").count() == len(item_ids)


def test_a_reviewer_holds_only_the_leases_the_queue_hands_out(db, tmp_path):
    """Finding 8: one reviewer leased every image of a dataset, and everyone else's queue ran dry."""
    import_dataset(tmp_path, "val", {TENCH: [f"{index}.JPEG" for index in range(6)]})
    rita, nina = client_for(make_user("rita", roles.REVIEWER)), client_for(make_user("nina", roles.REVIEWER))
    image_ids = list(Image.objects.values_list("pk", flat=True))
    for image_id in image_ids:
        refused = send(rita, "post", f"/api/images/{image_id}/lease/")
        assert refused.status_code == 409 and refused.json()["leased_to_another"] is False
    assert not Lease.objects.exists()
    handed = []
    for _ in range(4):
        handed.append(rita.get("/api/review/next/", {"dataset": "val", "keep": handed}).json()["id"])
    assert Lease.objects.count() == 3 and handed[-1] in Lease.objects.values_list("image_id", flat=True)
    assert send(rita, "post", f"/api/images/{handed[-1]}/lease/").status_code == 200
    assert nina.get("/api/review/next/", {"dataset": "val"}).status_code == 200


def test_changing_a_password_revokes_the_users_token(db):
    """Finding 9: a token kept working after its user's password changed."""
    user = make_user("rita", roles.REVIEWER)
    token = token_for(user).key
    assert Client().get("/api/datasets/", headers={"Authorization": f"Token {token}"}).status_code == 200
    user.last_login = None
    user.save()
    assert Token.objects.filter(user=user).exists()
    user.set_password("a new password")
    user.save()
    assert Client().get("/api/datasets/", headers={"Authorization": f"Token {token}"}).status_code == 401


def failed_logins(address, forwarded, count):
    client = Client(REMOTE_ADDR=address)
    return [
        client.post(
            "/api/auth/token/", {"username": "rita", "password": "wrong"}, headers={"X-Forwarded-For": forwarded}
        ).status_code
        for _ in range(count)
    ]


@override_settings(TRUSTED_PROXIES=frozenset({"10.0.0.2"}), LOGIN_FAILURE_LIMIT=2)
def test_behind_a_trusted_proxy_the_login_limit_holds_per_client(db):
    """Suspected: behind a reverse proxy, five wrong passwords locked the user out for everyone."""
    make_user("rita", roles.REVIEWER)
    assert failed_logins("10.0.0.2", "198.51.100.7", 3)[-1] == 429
    assert failed_logins("10.0.0.2", "203.0.113.9", 1) == [400]
    # Anyone else's header is not believed: a client cannot dodge the limit by writing one.
    assert failed_logins("192.0.2.1", "198.51.100.1", 3)[-1] == 429
    assert failed_logins("192.0.2.1", "198.51.100.2", 1) == [429]


def test_spreadsheet_formulas_stay_text_in_csv_downloads(db, tmp_path):
    """Suspected: names starting with =, +, - or @ went unescaped into CSV downloads."""
    assert [as_text_cell(value) for value in ("=1+1", "+1", "-x", "@SUM(A1)", "tench", 0.5, -1)] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "tench",
        0.5,
        -1,
    ]
    admin = make_user("ada", roles.ADMIN)
    import_dataset(tmp_path, "val", {TENCH: ["=HYPERLINK(x).JPEG"]})
    exported = client_for(admin).get("/api/datasets/val/export/", {"format": "csv"})
    rows = b"".join(exported.streaming_content if exported.streaming else [exported.content]).decode().splitlines()
    assert rows[1].startswith('"\'=HYPERLINK(x).JPEG",')


def test_a_draft_phase_is_closed_to_its_participants_on_every_page_and_endpoint(db, tmp_path):
    """Suspected: a participant of a draft phase got 200 on its labeling page while the API refused."""
    admin, rita = make_user("ada", roles.ADMIN), make_user("rita", roles.REVIEWER)
    import_dataset(tmp_path, "val", {TENCH: ["a.JPEG"]})
    phase = evaluation_services.create_phase(name="draft", datasets={"val": 1}, participants=["rita"], created_by=admin)
    client = client_for(rita)
    assert client.get(f"/evaluation/phases/{phase.pk}/label/").status_code == 403
    assert client.get(f"/api/evaluation/phases/{phase.pk}/").status_code == 403
    assert client.get("/api/evaluation/phases/").json() == []
    evaluation_services.open_phase(phase)
    assert client.get(f"/evaluation/phases/{phase.pk}/label/").status_code == 200


# --- the second probe, replayed on the fixes above ---------------------------------------------------------------


def test_an_account_left_without_a_usable_password_keeps_no_token(db):
    """The admin's way to lock an account out ("disable password-based authentication") ends its token too."""
    user = make_user("rita", roles.REVIEWER)
    token = token_for(user).key
    user.set_unusable_password()
    user.save()
    assert Client().get("/api/datasets/", headers={"Authorization": f"Token {token}"}).status_code == 401


def test_the_guides_confusions_leave_out_what_reviewers_said_blind(db, tmp_path):
    """The "potentially confused with" box counted a blind dataset's consensus verdicts."""
    admin, rita = make_user("ada", roles.ADMIN), make_user("rita", roles.REVIEWER)
    import_dataset(tmp_path, "crowd", {TENCH: ["x.JPEG"]}, {"x.JPEG": GOLDFISH})
    crowd = Image.objects.get(dataset__name="crowd").dataset
    labelling.set_policy(dataset=crowd, rule="majority", overlap=2, user=admin)
    goldfish = ReviewItem.objects.get(dataset=crowd, wnid=GOLDFISH)
    for voter in (make_user("v1", roles.REVIEWER), make_user("v2", roles.REVIEWER)):
        annotate_services.set_verdict(item_id=goldfish.pk, reviewer=voter, value="wrong")

    def confused(user):
        return [entry["wnid"] for entry in client_for(user).get(f"/api/guide/wnids/{TENCH}/").json()["confused_with"]]

    assert confused(admin) == [GOLDFISH] and confused(rita) == []


def test_an_image_seen_under_another_id_counts_as_seen(db, tmp_path):
    """A participant who trained on the same photo in another dataset had it counted unseen."""
    admin, tom = make_user("ada", roles.ADMIN), make_user("tom", roles.TRAINEE)
    import_dataset(tmp_path, "val", {TENCH: ["a.JPEG", "b.JPEG"]})
    first = Image.objects.get(file_name="a.JPEG")
    with first.file.open("rb") as handle:
        import_dataset(tmp_path, "copy", {TENCH: {"copy.JPEG": handle.read()}})
    task = create_training_task(name="copy", dataset_name="copy", source=TaskSource.SLICE, offset_start=0, offset_end=1)
    send(
        client_for(tom), "post", f"/api/training/tasks/{task.pk}/answers/", {"image": task.image_ids[0], "wnid": TENCH}
    )
    phase = evaluation_services.create_phase(
        name="p", datasets={"val": 2}, participants=["tom"], exclude_seen=True, created_by=admin
    )
    listed = client_for(admin).get(f"/api/evaluation/phases/{phase.pk}/participant-images/").json()
    assert [row["image"] for row in listed] == [Image.objects.get(file_name="b.JPEG").pk]


def test_training_statistics_leave_out_answers_on_closed_images(phase_world, tmp_path):
    """A trainee's statistics named the true label of an image of their open phase."""
    rita, image = phase_world["rita"], phase_world["phase_image"]
    task = create_training_task(name="val", dataset_name="val", source=TaskSource.SLICE, offset_start=0, offset_end=2)
    evaluation_services.close_phase(PhaseImage.objects.get(image=image).phase)
    send(client_for(rita), "post", f"/api/training/tasks/{task.pk}/answers/", {"image": image.pk, "wnid": GREAT_WHITE})
    phase = evaluation_services.create_phase(
        name="again", datasets={"val": 2}, participants=["rita"], created_by=phase_world["admin"]
    )
    evaluation_services.open_phase(phase)
    stats = client_for(rita).get("/api/training/stats/", {"task": task.pk}).json()
    assert stats["summary"]["answered"] == 0 and stats["confusions"] == []
    assert (
        client_for(phase_world["admin"])
        .get("/api/training/stats/", {"task": task.pk, "trainee": "rita"})
        .json()["summary"]["answered"]
        == 1
    )


@pytest.mark.parametrize(
    ("array", "status", "message"),
    [
        (np.zeros((2, 2), dtype="m8[s]"), 400, "expected integer class indices"),
        (np.full((2, 1000), 65000, dtype=np.float16), 201, None),
        (np.full((2, 1000), 3e38, dtype=np.float32), 201, None),
        (np.full((2, 1000), 0.5, dtype=np.longdouble), 201, None),
        (np.full((2, 1000), 1e305), 400, "is not a finite number below"),
    ],
    ids=["timedelta", "float16", "float32-huge", "longdouble", "float64-huge"],
)
def test_odd_npy_predictions_get_an_answer_never_a_500(db, tmp_path, array, status, message):
    """Five .npy files answered 500: timedelta indices, scores that overflowed when rounded, long doubles."""
    admin = make_user("ada", roles.ADMIN)
    import_dataset(tmp_path, "val", {TENCH: ["a.JPEG", "b.JPEG"]})
    buffer = io.BytesIO()
    np.save(buffer, array)
    upload = io.BytesIO(buffer.getvalue())
    upload.name = "p.npy"
    response = client_for(admin).post("/api/models/m/predictions/", {"file": upload, "dataset": "val"})
    assert response.status_code == status, response.content
    assert message is None or message in response.json()["detail"]


def test_a_malformed_npy_header_is_refused_with_a_message(db, tmp_path):
    admin = make_user("ada", roles.ADMIN)
    import_dataset(tmp_path, "val", {TENCH: ["a.JPEG"]})
    header = b"{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1(, }"
    upload = io.BytesIO(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\x00" * 8)
    upload.name = "p.npy"
    response = client_for(admin).post("/api/models/m/predictions/", {"file": upload, "dataset": "val"})
    assert response.status_code == 400 and "not a NumPy .npy file" in response.json()["detail"]


def test_csv_cells_stay_whole_and_inert_in_any_spreadsheet_locale():
    """`;=1+1;` split into a formula where ";" separates cells; a leading space or a full-width "=" slipped past."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\n")
    writer.writeheader(["name", "n"])
    writer.writerow([";=1+1;", 2])
    writer.writerow([" =1+1", 3])
    writer.writerow(["＝1+1", 4])
    assert buffer.getvalue().splitlines() == ["name,n", '";=1+1;",2', '"\' =1+1",3', '"\'＝1+1",4']


@override_settings(TRUSTED_PROXIES=frozenset({"10.0.0.0/8"}), LOGIN_FAILURE_LIMIT=1)
def test_trusted_proxies_may_be_networks(db):
    make_user("rita", roles.REVIEWER)
    assert failed_logins("10.1.2.3", "198.51.100.7", 2)[-1] == 429
    assert failed_logins("10.9.9.9", "198.51.100.8", 1) == [400]


def test_a_participant_of_a_draft_phase_is_told_it_has_not_opened(db, tmp_path):
    admin, rita = make_user("ada", roles.ADMIN), make_user("rita", roles.REVIEWER)
    import_dataset(tmp_path, "val", {TENCH: ["a.JPEG"]})
    phase = evaluation_services.create_phase(name="draft", datasets={"val": 1}, participants=["rita"], created_by=admin)
    response = client_for(rita).get(f"/api/evaluation/phases/{phase.pk}/")
    assert response.status_code == 403 and "has not opened yet" in response.json()["detail"]


def test_a_blind_reviewer_sees_their_own_answers_in_the_dataset_figures_not_the_labels(db, tmp_path):
    """A reviewer's vote that completed a consensus moved the dataset's label figures (reviewed +1, wrong +1),
    which told them what the others had answered."""
    admin, rita = make_user("ada", roles.ADMIN), make_user("rita", roles.REVIEWER)
    import_dataset(tmp_path, "crowd", {TENCH: ["x.JPEG", "y.JPEG"]}, {"x.JPEG": GOLDFISH, "y.JPEG": GOLDFISH})
    crowd = Image.objects.filter(dataset__name="crowd").first().dataset
    labelling.set_policy(dataset=crowd, rule="majority", overlap=2, user=admin)
    goldfish = ReviewItem.objects.filter(dataset=crowd, wnid=GOLDFISH).order_by("pk").first()
    annotate_services.set_verdict(item_id=goldfish.pk, reviewer=make_user("v1", roles.REVIEWER), value="wrong")

    def figures(user):
        status = client_for(user).get("/api/datasets/crowd/").json()
        return status["figures_of"], status["reviewed_items"], status["items_per_verdict"]

    before = figures(rita)
    annotate_services.set_verdict(item_id=goldfish.pk, reviewer=rita, value="correct")
    annotate_services.set_verdict(item_id=goldfish.pk, reviewer=make_user("v2", roles.REVIEWER), value="wrong")
    assert ReviewItem.objects.get(pk=goldfish.pk).verdict == "wrong"
    # Rita's figures moved by her own answer only, whatever the label became.
    assert before == ("you", 0, {"unreviewed": 4, "correct": 0, "wrong": 0, "unclear": 0, "dont_know": 0})
    assert figures(rita) == ("you", 1, {"unreviewed": 3, "correct": 1, "wrong": 0, "unclear": 0, "dont_know": 0})
    assert figures(admin)[0] == "dataset" and figures(admin)[2]["wrong"] == 1
    progress = client_for(rita).get("/api/datasets/crowd/progress/").json()
    assert (progress["figures_of"], progress["reviewed_items"], progress["done_images"]) == ("you", 1, 0)
    page = client_for(rita).get("/datasets/crowd/").content.decode()
    assert 'data-testid="own-figures"' in page
