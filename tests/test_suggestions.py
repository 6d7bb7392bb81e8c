"""Suggestions into the reviewers' queue: a trainee's label as correct, an image as problematic."""

import pytest
from django.db import IntegrityError, transaction

from accounts import roles
from annotate import services
from annotate.image_import import import_image_folder
from annotate.models import Image, ProblematicFlag, ReviewItem, Suggestion, VerdictChange
from annotate.prediction_import import import_predictions
from tests.conftest import make_user
from tests.wnids import GOLDFISH, GREAT_WHITE, TENCH

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed_dataset(unpredicted_dataset):
    """a, b (tench) and c (Chihuahua); every original label reviewed as correct: the queue is empty."""
    rhea = make_user("rhea", roles.REVIEWER)
    for item in ReviewItem.objects.all():
        services.set_verdict(item_id=item.pk, reviewer=rhea, value="correct")
    return unpredicted_dataset


def image(file_name):
    return Image.objects.get(file_name=file_name)


def next_image(client):
    return client.get("/api/review/next/", {"dataset": "val"})


def test_a_label_suggestion_puts_a_reviewed_image_back_in_the_queue(client, reviewed_dataset, trainee):
    reviewer = make_user("rex", roles.REVIEWER)
    client.force_login(reviewer)
    assert next_image(client).status_code == 204
    a = image("a.JPEG")
    suggestion = services.suggest_label(image_id=a.pk, wnid=GOLDFISH, user=trainee, note="orange fish in front")

    a.refresh_from_db()
    assert a.pending_items == 2  # the new goldfish item and the open suggestion
    body = next_image(client).json()
    assert body["id"] == a.pk
    assert [(item["wnid"], item["verdict"], item["is_original"]) for item in body["items"]] == [
        (TENCH, "correct", True),
        (GOLDFISH, "unreviewed", False),
    ]
    assert body["suggestions"] == [
        {
            "id": suggestion.pk,
            "image": a.pk,
            "kind": "label_correct",
            "wnid": GOLDFISH,
            "words": ["goldfish", "Carassius auratus"],
            "reason": None,
            "note": "orange fish in front",
            "suggested_by": "tom",
            "created_at": body["suggestions"][0]["created_at"],
            "resolution": None,
            "resolved_at": None,
        }
    ]

    response = client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "accepted"})
    assert response.status_code == 200
    assert response.json()["suggestions"] == []
    goldfish = ReviewItem.objects.get(image=a, wnid=GOLDFISH)
    assert (goldfish.verdict, goldfish.verdict_by) == ("correct", reviewer)
    suggestion.refresh_from_db()
    assert (suggestion.resolution, suggestion.resolved_by, suggestion.resolved_at is not None) == (
        "accepted",
        reviewer,
        True,
    )
    a.refresh_from_db()
    assert a.pending_items == 0
    assert next_image(client).status_code == 204


def test_suggesting_a_label_already_judged_wrong_and_dismissing_it(client, reviewed_dataset, trainee, reviewer):
    c = image("c.JPEG")
    item = ReviewItem.objects.create(image=c, dataset=c.dataset, wnid=GREAT_WHITE)
    Image.objects.filter(pk=c.pk).update(pending_items=1)
    services.set_verdict(item_id=item.pk, reviewer=reviewer, value="wrong")
    suggestion = services.suggest_label(image_id=c.pk, wnid=GREAT_WHITE, user=trainee)
    c.refresh_from_db()
    assert c.pending_items == 1  # the item exists: only the suggestion is pending
    client.force_login(reviewer)
    assert next_image(client).json()["id"] == c.pk
    assert client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "dismissed"}).status_code == 200
    item.refresh_from_db()
    assert item.verdict == "wrong" and VerdictChange.objects.filter(item=item).count() == 1
    c.refresh_from_db()
    assert c.pending_items == 0
    again = client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "accepted"})
    assert again.status_code == 400
    assert again.json()["detail"] == f"suggestion {suggestion.pk} was already dismissed by rita"


def test_a_problematic_suggestion_flags_the_image_once_accepted(client, reviewed_dataset, trainee, reviewer):
    b = image("b.JPEG")
    suggestion = services.suggest_problematic(image_id=b.pk, reason="drawing", note="a cartoon fish", user=trainee)
    b.refresh_from_db()
    assert b.pending_items == 1
    client.force_login(reviewer)
    body = next_image(client).json()
    assert body["id"] == b.pk and body["suggestions"][0]["reason"] == "drawing"
    client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "accepted"})
    flag = ProblematicFlag.objects.get(image=b)
    assert (flag.reason, flag.note, flag.reviewer) == ("drawing", "a cartoon fish", reviewer)
    b.refresh_from_db()
    assert b.pending_items == 0


def test_suggesting_twice_is_one_suggestion(reviewed_dataset, trainee):
    a = image("a.JPEG")
    first = services.suggest_label(image_id=a.pk, wnid=GOLDFISH, user=trainee)
    second = services.suggest_label(image_id=a.pk, wnid=GOLDFISH, user=trainee)
    problematic = services.suggest_problematic(image_id=a.pk, reason="inappropriate", user=trainee)
    assert services.suggest_problematic(image_id=a.pk, reason="inappropriate", user=trainee) == problematic
    assert first == second and Suggestion.objects.count() == 2
    a.refresh_from_db()
    assert a.pending_items == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        Suggestion.objects.create(
            image=a, kind="label_correct", wnid=GOLDFISH, suggested_by=trainee, created_at=first.created_at
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a, user: services.suggest_label(image_id=a.pk, wnid="n02084071", user=user), "not an ImageNet class"),
        (lambda a, user: services.suggest_problematic(image_id=a.pk, reason="other", user=user), "needs a note"),
        (lambda a, user: services.suggest_problematic(image_id=a.pk, reason="ugly", user=user), "unknown problematic"),
    ],
)
def test_bad_suggestions_are_refused_and_nothing_is_written(reviewed_dataset, trainee, call, message):
    a = image("a.JPEG")
    with pytest.raises(ValueError, match=message):
        call(a, trainee)
    a.refresh_from_db()
    assert a.pending_items == 0 and not Suggestion.objects.exists()


def test_only_reviewers_resolve_and_resolutions_are_checked(client, reviewed_dataset, trainee, reviewer):
    suggestion = services.suggest_problematic(image_id=image("a.JPEG").pk, reason="drawing", user=trainee)
    client.force_login(trainee)
    assert client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "accepted"}).status_code == 403
    client.force_login(reviewer)
    bad = client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "maybe"})
    assert bad.status_code == 400 and "resolution" in bad.json()
    assert client.post("/api/suggestions/999999/resolve/", {"resolution": "accepted"}).status_code == 404
    assert Suggestion.objects.get().resolved_at is None


def test_suggestions_from_the_training_feedback(client, reviewed_dataset, trainee):
    from training.models import TaskSource
    from training.services import create_training_task, record_answer

    task = create_training_task(
        name="all", dataset_name="val", source=TaskSource.SLICE, offset_start=0, offset_end=3, shuffle=False
    )
    wrong, _ = record_answer(task=task, trainee=trainee, image_id=task.image_ids[0], wnid=GOLDFISH)
    right, _ = record_answer(task=task, trainee=trainee, image_id=task.image_ids[1], wnid=TENCH)
    client.force_login(trainee)
    url = "/api/training/answers/{}/suggestions/"
    created = client.post(url.format(wrong.pk), {"kind": "label_correct", "note": "see the fins"})
    assert created.status_code == 201
    assert (created.json()["kind"], created.json()["wnid"], created.json()["suggested_by"]) == (
        "label_correct",
        GOLDFISH,
        "tom",
    )
    refused = client.post(url.format(right.pk), {"kind": "label_correct"})
    assert refused.status_code == 400 and refused.json() == {"kind": "your label is already among the correct labels"}
    no_note = client.post(url.format(right.pk), {"kind": "problematic", "reason": "other"})
    assert no_note.status_code == 400 and "needs a note" in no_note.json()["reason"]
    assert client.post(url.format(right.pk), {"kind": "problematic", "reason": "drawing"}).status_code == 201
    assert Suggestion.objects.filter(suggested_by=trainee).count() == 2
    feedback_again = client.get(f"/api/training/tasks/{task.pk}/answers/").json()
    assert [answer["correct"] for answer in feedback_again] == [False, True]


def test_recounts_after_imports_keep_open_suggestions(reviewed_dataset, trainee, tmp_path):
    a, b = image("a.JPEG"), image("b.JPEG")
    services.suggest_problematic(image_id=a.pk, reason="drawing", user=trainee)
    services.suggest_problematic(image_id=b.pk, reason="drawing", user=trainee)
    predictions = tmp_path / "m.csv"
    predictions.write_text(f"a.JPEG,{GOLDFISH}\nb.JPEG,{TENCH}\nc.JPEG,{TENCH}\n")
    import_predictions(model_name="m", dataset_name="val", path=predictions)
    counts = dict(Image.objects.values_list("file_name", "pending_items"))
    # a: the new goldfish item and the suggestion; b: the suggestion only; c: the new tench item.
    assert counts == {"a.JPEG": 2, "b.JPEG": 1, "c.JPEG": 1}

    from annotate.labelling import recount_pending

    recount_pending(a.dataset)
    assert dict(Image.objects.values_list("file_name", "pending_items")) == counts


def test_review_page_query_count_with_suggestions(
    client, reviewed_dataset, trainee, reviewer, django_assert_max_num_queries
):
    a = image("a.JPEG")
    services.suggest_label(image_id=a.pk, wnid=GOLDFISH, user=trainee)
    services.suggest_problematic(image_id=a.pk, reason="drawing", user=trainee)
    client.force_login(reviewer)
    with django_assert_max_num_queries(9):
        assert len(client.get(f"/api/images/{a.pk}/").json()["suggestions"]) == 2
    suggestion = Suggestion.objects.first()
    with django_assert_max_num_queries(21):  # two of them check that the image is not closed to the reviewer
        client.post(f"/api/suggestions/{suggestion.pk}/resolve/", {"resolution": "accepted"})


@pytest.mark.django_db(transaction=True)
def test_accepting_a_label_takes_the_locks_in_the_order_of_a_verdict(image_folder):
    """A verdict locks the review item, then updates the image; accepting a label suggestion at the same
    moment must not hold the image while it waits for the item (a deadlock, one of them fails)."""
    import threading
    import time

    from django.db import connection
    from django.db.models import F

    import_image_folder(dataset_name="val", directory=image_folder())
    reviewer, tom = make_user("rex", roles.REVIEWER), make_user("tom", roles.TRAINEE)
    a = image("a.JPEG")
    suggestion = services.suggest_label(image_id=a.pk, wnid=GOLDFISH, user=tom)
    item = ReviewItem.objects.get(image=a, wnid=GOLDFISH)
    locked, errors = threading.Event(), []

    def verdict_like():
        try:
            with transaction.atomic():
                ReviewItem.objects.select_for_update().get(pk=item.pk)
                locked.set()
                time.sleep(0.3)  # the accept below is waiting for a lock by now
                Image.objects.filter(pk=a.pk).update(pending_items=F("pending_items"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=verdict_like)
    thread.start()
    locked.wait(5)
    services.resolve_suggestion(suggestion_id=suggestion.pk, reviewer=reviewer, resolution="accepted")
    thread.join()
    assert errors == []
    item.refresh_from_db()
    a.refresh_from_db()
    assert (item.verdict, a.pending_items) == ("correct", 1)  # the tench item is still unreviewed


def test_the_admin_deletes_only_resolved_suggestions(client, reviewed_dataset, trainee, reviewer):
    from django.contrib.auth.models import User

    a = image("a.JPEG")
    open_one = services.suggest_problematic(image_id=a.pk, reason="drawing", user=trainee)
    resolved = services.suggest_label(image_id=a.pk, wnid=GOLDFISH, user=trainee)
    services.resolve_suggestion(suggestion_id=resolved.pk, reviewer=reviewer, resolution="dismissed")
    client.force_login(User.objects.create_superuser("root", password="x"))
    url = "/admin/annotate/suggestion/{}/delete/"
    assert client.post(url.format(open_one.pk), {"post": "yes"}).status_code == 403
    assert client.post(url.format(resolved.pk), {"post": "yes"}).status_code == 302
    assert list(Suggestion.objects.all()) == [open_one]
    a.refresh_from_db()
    assert a.pending_items == 2  # the open suggestion and the goldfish item, still unreviewed
