from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate import services
from annotate.models import Image, Lease, ProblematicFlag, ReviewItem, VerdictChange
from tests.conftest import make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, TENCH

pytestmark = pytest.mark.django_db


def item(file_name, wnid):
    return ReviewItem.objects.get(image__file_name=file_name, wnid=wnid)


def next_image(client, **params):
    return client.get("/api/review/next/", {"dataset": "val", **params})


def test_next_hands_out_images_in_order_and_returns_candidates(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    response = next_image(client)
    assert response.status_code == 200
    body = response.json()
    assert body["file_name"] == "a.JPEG" and body["original_wnid"] == TENCH
    assert [(i["wnid"], i["is_original"], i["model_count"]) for i in body["items"]] == [
        (TENCH, True, 0),
        (GOLDFISH, False, 1),
    ]
    assert body["items"][0]["words"] == ["tench", "Tinca tinca"] and body["items"][0]["gloss"]
    assert body["display_url"] == f"/images/{body['id']}/display"
    prefetch = next_image(client, after=body["position"], keep=body["id"]).json()
    assert prefetch["file_name"] == "b.JPEG"
    assert set(Lease.objects.filter(reviewer=reviewer).values_list("image__file_name", flat=True)) == {
        "a.JPEG",
        "b.JPEG",
    }


def test_two_reviewers_are_not_given_the_same_image(client, reviewer, one_model_dataset):
    other = make_user("otto", "reviewer")
    client.force_login(reviewer)
    first = next_image(client).json()
    client.force_login(other)
    second = next_image(client).json()
    assert first["file_name"] == "a.JPEG" and second["file_name"] == "b.JPEG"


def test_an_expired_lease_frees_the_image(client, reviewer, one_model_dataset):
    other = make_user("otto", "reviewer")
    client.force_login(reviewer)
    next_image(client)
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(other)
    assert next_image(client).json()["file_name"] == "a.JPEG"


def test_queue_skips_done_images_wraps_around_and_ends_with_204(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    for file_name, wnid in [("a.JPEG", TENCH), ("a.JPEG", GOLDFISH), ("c.JPEG", CHIHUAHUA), ("c.JPEG", TENCH)]:
        services.set_verdict(item_id=item(file_name, wnid).pk, reviewer=reviewer, value="correct")
    assert Image.objects.get(file_name="a.JPEG").pending_items == 0
    b = next_image(client, after=5).json()
    assert b["file_name"] == "b.JPEG"
    services.set_verdict(item_id=b["items"][0]["id"], reviewer=reviewer, value="wrong")
    assert next_image(client, after=b["position"], keep=b["id"]).status_code == 204
    assert not Lease.objects.exclude(image_id=b["id"]).exists()


def test_class_filter_takes_a_hierarchy_node(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    dogs = next_image(client, wnid="n02084071").json()
    assert dogs["file_name"] == "c.JPEG"
    assert next_image(client, wnid="n99999999").status_code == 400


def test_verdicts_are_appended_and_the_current_one_is_kept_on_the_item(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    target = item("a.JPEG", GOLDFISH)
    url = f"/api/review-items/{target.pk}/verdict/"
    assert client.post(url, {"verdict": "wrong"}, content_type="application/json").json()["verdict"] == "wrong"
    client.post(url, {"verdict": "wrong"}, content_type="application/json")
    response = client.post(url, {"verdict": "unclear"}, content_type="application/json")
    assert response.json()["verdict_by"] == reviewer.username
    assert list(VerdictChange.objects.filter(item=target).values_list("old", "new")) == [
        ("unreviewed", "wrong"),
        ("wrong", "unclear"),
    ]
    assert Image.objects.get(file_name="a.JPEG").pending_items == 1
    client.post(url, {"verdict": "unreviewed"}, content_type="application/json")
    assert Image.objects.get(file_name="a.JPEG").pending_items == 2
    history = client.get(f"/api/images/{target.image_id}/history/").json()["history"]
    assert [(h["old"], h["new"]) for h in history] == [
        ("unreviewed", "wrong"),
        ("wrong", "unclear"),
        ("unclear", "unreviewed"),
    ]


def test_bad_verdict_is_refused_with_a_clear_error(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    target = item("a.JPEG", GOLDFISH)
    response = client.post(
        f"/api/review-items/{target.pk}/verdict/", {"verdict": "maybe"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "maybe" in response.json()["verdict"][0]
    assert client.post("/api/review-items/999999/verdict/", {"verdict": "wrong"}).status_code == 404


def test_problematic_flag_set_changed_cleared_and_kept_in_history(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    image = Image.objects.get(file_name="b.JPEG")
    url = f"/api/images/{image.pk}/problematic/"
    flag = client.put(url, {"reason": "drawing"}, content_type="application/json").json()
    assert (flag["reason"], flag["reviewer"]) == ("drawing", "rita")
    marked = ProblematicFlag.objects.get().time_marked
    client.put(url, {"reason": "other", "note": "two images stitched"}, content_type="application/json")
    current = ProblematicFlag.objects.get()
    assert (current.reason, current.note, current.time_marked) == ("other", "two images stitched", marked)
    assert current.time_reviewed > marked
    response = client.put(url, {"reason": "other", "note": " "}, content_type="application/json")
    assert response.status_code == 400 and "needs a note" in response.json()["note"]
    assert client.delete(url).status_code == 204
    assert not ProblematicFlag.objects.exists()
    history = client.get(f"/api/images/{image.pk}/history/").json()["history"]
    assert [h["reason"] for h in history] == ["drawing", "other", None]


def test_review_endpoints_need_the_reviewer_role(client, trainee, one_model_dataset):
    target = item("a.JPEG", GOLDFISH)
    assert client.get("/api/review/next/", {"dataset": "val"}).status_code in (401, 403)
    client.force_login(trainee)
    assert next_image(client).status_code == 403
    assert client.post(f"/api/review-items/{target.pk}/verdict/", {"verdict": "wrong"}).status_code == 403
    assert client.get(f"/api/images/{target.image_id}/").status_code == 403


def test_progress_counts_the_reviewer_and_the_dataset(client, reviewer, one_model_dataset):
    client.force_login(reviewer)
    services.set_verdict(item_id=item("a.JPEG", TENCH).pk, reviewer=reviewer, value="correct")
    services.set_verdict(item_id=item("a.JPEG", GOLDFISH).pk, reviewer=reviewer, value="dont_know")
    progress = client.get("/api/datasets/val/progress/").json()
    assert progress == {
        "my_items": 2,
        "my_images": 1,
        "items": 5,
        "reviewed_items": 2,
        "images": 3,
        "done_images": 1,
        "figures_of": "dataset",
    }


def test_a_verdict_answers_the_reviewers_counts_and_the_history_names_classes(client, reviewer, one_model_dataset):
    """Issue 13: "You: N items" lagged one save behind, and the history showed wnids only."""
    client.force_login(reviewer)
    services.set_verdict(item_id=item("b.JPEG", TENCH).pk, reviewer=reviewer, value="correct")
    url = f"/api/review-items/{item('a.JPEG', GOLDFISH).pk}/verdict/"
    saved = client.post(url, {"verdict": "wrong"}, content_type="application/json").json()
    assert (saved["verdict"], saved["my_progress"]) == ("wrong", {"my_items": 2, "my_images": 2})
    unsaid = client.post(url, {"verdict": "unreviewed"}, content_type="application/json").json()
    assert unsaid["my_progress"] == {"my_items": 1, "my_images": 1}
    history = client.get(f"/api/images/{item('a.JPEG', GOLDFISH).image_id}/history/").json()["history"]
    assert [(h["wnid"], h["class_name"], h["new"]) for h in history] == [
        (GOLDFISH, "goldfish", "wrong"),
        (GOLDFISH, "goldfish", "unreviewed"),
    ]


def test_page_query_paths_use_a_fixed_number_of_queries(
    client, reviewer, one_model_dataset, django_assert_max_num_queries
):
    client.force_login(reviewer)
    first = next_image(client).json()
    # 15 where the lease looks for a golden image first (the golden rate) and the queue wraps around past the
    # last image (one more query: which image comes first depends on the order the folder's files were listed).
    with django_assert_max_num_queries(15):
        body = next_image(client, after=first["position"], keep=first["id"]).json()
    with django_assert_max_num_queries(8):
        client.get(f"/api/images/{body['id']}/")
    # 14: two check that the item's image is not closed to the reviewer (the open phases they take part in, then
    # the item's image against the images of those phases and their twins; annotate.access), two count the
    # reviewer's items and images as the save leaves them.
    with django_assert_max_num_queries(14):
        client.post(f"/api/review-items/{body['items'][0]['id']}/verdict/", {"verdict": "correct"})
    with django_assert_max_num_queries(9):  # 9: the dataset's policy decides whose figures these are
        client.get("/api/datasets/val/progress/")


def test_next_image_query_uses_the_pending_queue_index(reviewer, one_model_dataset):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output is PostgreSQL's")
    from annotate.selectors import pending_images

    queryset = pending_images(dataset=Image.objects.first().dataset, reviewer=reviewer)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = queryset.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "image_pending_queue" in plan


def test_verdict_save_is_one_transaction_of_few_queries(reviewer, one_model_dataset):
    target = item("a.JPEG", GOLDFISH)
    with CaptureQueriesContext(connection) as queries:
        services.set_verdict(item_id=target.pk, reviewer=reviewer, value="correct")
    # Savepoint, item lock (with its dataset's policy), history row, reviewer verdict, item, image, release.
    assert len(queries) <= 7


def test_a_change_based_on_a_stale_state_gets_409_with_the_current_one(client, reviewer, one_model_dataset):
    other = make_user("olga", "reviewer")
    target = item("a.JPEG", GOLDFISH)
    services.set_verdict(item_id=target.pk, reviewer=other, value="correct")
    client.force_login(reviewer)
    url = f"/api/review-items/{target.pk}/verdict/"
    response = client.post(url, {"verdict": "wrong", "based_on": "unreviewed"}, content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert (body["current"]["verdict"], body["current"]["verdict_by"]) == ("correct", "olga")
    assert "now correct (by olga)" in body["detail"]
    assert item("a.JPEG", GOLDFISH).verdict == "correct"
    # Made again on top of what the reviewer now sees, it applies; so does a change already matching the item.
    response = client.post(url, {"verdict": "wrong", "based_on": "correct"}, content_type="application/json")
    assert response.status_code == 200 and item("a.JPEG", GOLDFISH).verdict == "wrong"
    response = client.post(url, {"verdict": "wrong", "based_on": "correct"}, content_type="application/json")
    assert response.status_code == 200


def test_a_retried_save_is_stored_once(client, reviewer, one_model_dataset):
    target = item("a.JPEG", GOLDFISH)
    url = f"/api/review-items/{target.pk}/verdict/"
    client.force_login(reviewer)

    def post(verdict, key):
        return client.post(url, {"verdict": verdict}, content_type="application/json", headers={"Idempotency-Key": key})

    assert post("correct", "k1").status_code == 200
    assert post("wrong", "k2").status_code == 200
    # The first request again (its answer was lost on the way): it must not undo the later change.
    assert post("correct", "k1").status_code == 200
    assert item("a.JPEG", GOLDFISH).verdict == "wrong"
    assert list(VerdictChange.objects.filter(item=target).values_list("new", "request_key")) == [
        ("correct", "k1"),
        ("wrong", "k2"),
    ]
    response = post("correct", "x" * 65)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()


def test_the_image_on_screen_keeps_its_lease_while_its_reviewer_takes_their_time(client, reviewer, one_model_dataset):
    other = make_user("olga", "reviewer")
    client.force_login(reviewer)
    image = next_image(client).json()
    Lease.objects.filter(image_id=image["id"]).update(expires_at=timezone.now() + timedelta(seconds=30))
    response = client.post(f"/api/images/{image['id']}/lease/")
    assert response.status_code == 200
    assert Lease.objects.get(image_id=image["id"]).expires_at > timezone.now() + timedelta(minutes=9)
    # Run out, handed on to someone else: the renewal is refused and the image stays theirs.
    Lease.objects.filter(image_id=image["id"]).update(reviewer=other)
    response = client.post(f"/api/images/{image['id']}/lease/")
    assert response.status_code == 409 and "Another reviewer has this image now" in response.json()["detail"]
    assert Lease.objects.get(image_id=image["id"]).reviewer == other
    assert client.post("/api/images/999999/lease/").status_code == 404


def test_a_flag_changed_meanwhile_gets_409_with_the_current_flag(client, reviewer, one_model_dataset):
    other = make_user("olga", "reviewer")
    image = Image.objects.get(file_name="a.JPEG")
    services.set_problematic(image_id=image.pk, reviewer=other, reason="drawing")
    client.force_login(reviewer)
    url = f"/api/images/{image.pk}/problematic/"
    response = client.put(url, {"reason": "inappropriate", "based_on": ""}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["current"]["reason"] == "drawing" and "flagged drawing by olga" in response.json()["detail"]
    response = client.delete(url, {"based_on": ""}, content_type="application/json")
    assert response.status_code == 409 and ProblematicFlag.objects.get(image=image).reason == "drawing"
    response = client.delete(url, {"based_on": "drawing"}, content_type="application/json")
    assert response.status_code == 204 and not ProblematicFlag.objects.filter(image=image).exists()
    # Already as wanted: no conflict.
    assert client.delete(url, {"based_on": "drawing"}, content_type="application/json").status_code == 204
