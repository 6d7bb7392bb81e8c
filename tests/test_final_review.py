"""The final review of a revision (finalreview): per class the marks a revision has of its own or carries from the
revision it was sampled from, only while the class's images are the same, through any number of generations; the
class list and one class's view with neighbours and a reference sample, each at a fixed number of queries; marks
set through the service and the API, bad input refused with the field at fault and nothing written."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import roles
from annotate.models import Image
from config.exceptions import DomainError, NotFoundError
from finalreview import selectors, services
from finalreview.models import ClassReview
from nearduplicates.models import Neighbour, SearchJob, Threshold
from tests import test_testset_sampling
from tests.conftest import client_for, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, TENCH
from testsets.models import Candidate, Revision
from testsets.revisions import sample_testset
from testsets.services import set_blacklisted

add_frequencies = test_testset_sampling.add_frequencies


@pytest.fixture
def testset(db, tmp_path):
    """v2 against val, its revision 1 (top, two per class): tench t2, t1 and goldfish g1, g2, with files. Built in a
    transaction of its own: the browser tests' database is transactional, and the import takes a lock."""
    with transaction.atomic():
        return test_testset_sampling.build_testset_with_files(tmp_path)[0]


@pytest.fixture
def ada(db):
    return make_user("ada", roles.ADMIN)


def mark(number, wnid, user, **marks):
    return services.set_class_marks(testset_name="v2", revision_number=number, wnid=wnid, user=user, **marks)


def marks_of(number):
    """{wnid: (reviewed, problematic, marked_in, carried)} of the revision's classes with marks."""
    revision = Revision.objects.get(number=number)
    return {
        wnid: (marks["reviewed"], marks["problematic"], marks["marked_in"], marks["carried"])
        for wnid, marks in selectors.effective_marks(revision).items()
    }


def resample(number):
    return sample_testset(testset_name="v2", strategy="top", per_class=2, from_revision=number, user=None)["revision"]


def candidate(name):
    return Candidate.objects.get(image__file_name=name)


def test_marks_carry_to_the_next_revision_only_where_the_class_s_images_are_unchanged(testset, ada):
    mark(1, TENCH, ada, reviewed=True)
    mark(1, GOLDFISH, ada, reviewed=True, problematic=True)
    # t1 blacklisted: the next revision replaces it with t3; goldfish keeps g1 and g2.
    set_blacklisted(candidate_id=candidate("t1.jpg").pk, user=ada, reason="wrong_class")
    assert resample(1) == 2
    assert marks_of(2) == {GOLDFISH: (True, True, 1, True)}
    classes = {row["wnid"]: row for row in selectors.review_classes(Revision.objects.get(number=2))["classes"]}
    assert classes[TENCH]["reviewed"] is False and classes[TENCH]["marked_in"] is None
    assert (classes[GOLDFISH]["updated_by"], classes[GOLDFISH]["carried"]) == ("ada", True)


def test_marks_carry_through_two_generations_and_a_revision_s_own_row_wins(testset, ada):
    mark(1, GOLDFISH, ada, reviewed=True)
    set_blacklisted(candidate_id=candidate("t1.jpg").pk, user=ada, reason="wrong_class")
    resample(1)
    mark(2, TENCH, ada, problematic=True, note="t3 is blurry")
    assert resample(2) == 3
    assert marks_of(3) == {GOLDFISH: (True, False, 1, True), TENCH: (False, True, 2, True)}
    # Marking a carried class writes the revision's own row, starting from what it carried.
    answer = mark(3, GOLDFISH, ada, problematic=True)
    assert (answer["reviewed"], answer["problematic"], answer["marked_in"], answer["carried"]) == (True, True, 3, False)
    assert marks_of(3)[GOLDFISH] == (True, True, 3, False)
    assert marks_of(1)[GOLDFISH] == (True, False, 1, False)
    assert ClassReview.objects.get(revision__number=2, wnid=TENCH).note == "t3 is blurry"
    # The own row wins even over a later change of the row it once carried.
    mark(1, GOLDFISH, ada, reviewed=False)
    assert marks_of(2)[GOLDFISH] == (False, False, 1, True)
    assert marks_of(3)[GOLDFISH] == (True, True, 3, False)


def test_a_class_changed_in_between_stops_the_carrying_even_if_it_comes_back(testset, ada):
    mark(1, TENCH, ada, reviewed=True)
    set_blacklisted(candidate_id=candidate("t1.jpg").pk, user=ada, reason="wrong_class")
    resample(1)
    set_blacklisted(candidate_id=candidate("t1.jpg").pk, user=ada, reason="")
    set_blacklisted(candidate_id=candidate("t3.jpg").pk, user=ada, reason="unclear")
    resample(2)
    # Revision 3 holds t2 and t1 again, as revision 1 did; revision 2 in between held t2 and t3.
    assert set(Revision.objects.get(number=3).images.filter(wnid=TENCH).values_list("candidate", flat=True)) == {
        candidate("t1.jpg").pk,
        candidate("t2.jpg").pk,
    }
    assert TENCH not in marks_of(3)


@pytest.mark.parametrize(
    "options, field",
    [
        ({"wnid": "n99999999", "reviewed": True}, "wnid"),
        ({"wnid": TENCH, "reviewed": "yes"}, "reviewed"),
        ({"wnid": TENCH, "problematic": 1}, "problematic"),
        ({"wnid": TENCH, "note": "x" * 2001}, "note"),
        ({"wnid": TENCH}, "reviewed"),
    ],
)
def test_bad_marks_name_the_field_and_write_nothing(testset, ada, options, field):
    with pytest.raises(DomainError) as refused:
        mark(1, user=ada, **options)
    assert refused.value.field == field
    assert isinstance(refused.value, NotFoundError) == (field == "wnid")
    assert not ClassReview.objects.exists()


def test_a_missing_revision_or_test_set_is_not_found(testset, ada):
    with pytest.raises(NotFoundError, match="no revision 9"):
        mark(9, TENCH, ada, reviewed=True)
    with pytest.raises(NotFoundError, match="'nope' does not exist"):
        services.set_class_marks(testset_name="nope", revision_number=1, wnid=TENCH, user=ada, reviewed=True)


def test_a_class_short_of_every_image_can_be_marked(testset, ada):
    Revision.objects.filter(number=1).update(short_classes={CHIHUAHUA: {"wanted": 2, "sampled": 0, "reason": "none"}})
    assert mark(1, CHIHUAHUA, ada, problematic=True)["problematic"] is True
    row = next(r for r in selectors.review_classes(Revision.objects.get(number=1))["classes"] if r["sampled"] == 0)
    assert (row["wnid"], row["short"], row["problematic"]) == (CHIHUAHUA, True, True)
    assert selectors.class_review(Revision.objects.get(number=1), CHIHUAHUA)["images"] == []


def neighbours_for(testset, candidates, reference):
    """A finished pixel search's neighbours: for each candidate, five reference images at growing distances."""
    search = SearchJob.objects.create(testset=testset, metric="pixel", k=5, state="done")
    Neighbour.objects.bulk_create(
        Neighbour(
            testset=testset,
            candidate=each,
            metric="pixel",
            rank=rank,
            image=image,
            distance=0.1 * rank,
            search=search,
        )
        for each in candidates
        for rank, image in enumerate(reference[:5], start=1)
    )
    Threshold.objects.create(testset=testset, metric="pixel", value=0.15, proposed=0.15, set_at=timezone.now())


def more_reference(testset, count):
    """`count` more tench reference images, annotated, at frequencies 0.0, 0.1, ..."""
    start = testset.reference.images.count()
    images = Image.objects.bulk_create(
        Image(dataset=testset.reference, position=start + i, file_name=f"val-more-{i:02}.jpg", original_wnid=TENCH)
        for i in range(count)
    )
    add_frequencies(testset, images, [i % 11 for i in range(count)])
    return images


def test_the_class_view_shows_the_sampled_images_with_their_nearest_neighbours_and_a_reference_sample(testset, ada):
    reference = more_reference(testset, 30)
    tench = list(Candidate.objects.filter(wnid=TENCH))
    neighbours_for(testset, tench, reference)
    set_blacklisted(candidate_id=candidate("t2.jpg").pk, user=ada, reason="other", note="a drawing of one")
    view = selectors.class_review(Revision.objects.get(number=1), TENCH)
    assert [image["file_name"] for image in view["images"]] == ["t2.jpg", "t1.jpg"]
    first = view["images"][0]
    assert (first["frequency"], first["bin"], first["blacklist_reason"], first["blacklist_note"]) == (
        1.0,
        4,
        "other",
        "a drawing of one",
    )
    assert first["display_url"] == f"/images/{first['image']}/display"
    shown = first["neighbours"]["pixel"]
    assert [row["rank"] for row in shown] == list(range(1, selectors.NEAREST_SHOWN + 1))
    assert [row["under_threshold"] for row in shown] == [True, False, False]
    assert view["thresholds"] == {"pixel": 0.15}
    # The reference sample spreads over the class's frequencies, the highest first, the unannotated image last.
    frequencies = [image["frequency"] for image in view["reference"]]
    assert len(frequencies) == selectors.REFERENCE_SAMPLE
    assert frequencies[:-1] == sorted(frequencies[:-1], reverse=True)
    assert (frequencies[0], frequencies[-2], frequencies[-1]) == (1.0, 0.0, None)
    assert selectors.class_review(Revision.objects.get(number=1), "n99999999") is None


def test_the_list_counts_images_blacklisted_since_sampling_and_the_progress(testset, ada):
    set_blacklisted(candidate_id=candidate("t1.jpg").pk, user=ada, reason="too_big")
    mark(1, GOLDFISH, ada, reviewed=True, problematic=True)
    answer = selectors.review_classes(Revision.objects.get(number=1))
    assert answer["progress"] == {"classes": 2, "reviewed": 1, "problematic": 1, "blacklisted": 1}
    assert [(row["wnid"], row["sampled"], row["blacklisted"]) for row in answer["classes"]] == [
        (TENCH, 2, 1),
        (GOLDFISH, 2, 0),
    ]


def test_the_list_and_the_class_view_cost_the_same_queries_however_long_the_chain(
    testset, ada, django_assert_max_num_queries
):
    client = client_for(ada)
    base = "/api/testsets/v2/revisions/{}/review/classes/"
    for _ in range(4):
        mark(Revision.objects.latest("number").number, GOLDFISH, ada, reviewed=True)
        resample(Revision.objects.latest("number").number)
    neighbours_for(testset, list(Candidate.objects.all()), more_reference(testset, 20))
    assert marks_of(5)[GOLDFISH] == (True, False, 4, True)
    for number in (2, 5):
        # Session, user, roles; test set, revision; the test set's revisions, the chain's marks and images, counts.
        with django_assert_max_num_queries(9):
            assert client.get(base.format(number)).status_code == 200
        # ... the class's images, neighbours (thresholds, verdicts both ways, rows), thresholds, reference, marks.
        with django_assert_max_num_queries(14):
            assert client.get(base.format(number) + f"{TENCH}/").status_code == 200


def test_the_api_reads_and_sets_marks(testset, ada):
    client = client_for(ada)
    url = f"/api/testsets/v2/revisions/1/review/classes/{TENCH}/"
    patched = client.patch(f"{url}marks/", json.dumps({"reviewed": True}), content_type="application/json")
    assert patched.status_code == 200, patched.content
    assert patched.json() | {"updated_at": None} == {
        "wnid": TENCH,
        "reviewed": True,
        "problematic": False,
        "note": "",
        "updated_by": "ada",
        "updated_at": None,
        "marked_in": 1,
        "carried": False,
    }
    listed = client.get("/api/testsets/v2/revisions/1/review/classes/").json()
    assert listed["progress"] == {"classes": 2, "reviewed": 1, "problematic": 0, "blacklisted": 0}
    assert client.get(url).json()["marks"]["reviewed"] is True


@pytest.mark.parametrize(
    "path, body, status, field",
    [
        (f"{TENCH}/marks/", {"reviewed": "maybe"}, 400, "reviewed"),
        (f"{TENCH}/marks/", {"note": "x" * 2001}, 400, "note"),
        (f"{TENCH}/marks/", {}, 400, "reviewed"),
        ("n99999999/marks/", {"reviewed": True}, 404, "wnid"),
    ],
)
def test_the_api_refuses_bad_marks_with_the_field_at_fault(testset, ada, path, body, status, field):
    response = client_for(ada).patch(
        f"/api/testsets/v2/revisions/1/review/classes/{path}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == status
    assert field in response.json()
    assert not ClassReview.objects.exists()


def test_the_api_answers_404_for_a_class_or_revision_it_lacks(testset, ada):
    client = client_for(ada)
    assert client.get("/api/testsets/v2/revisions/1/review/classes/n99999999/").status_code == 404
    assert client.get("/api/testsets/v2/revisions/7/review/classes/").status_code == 404
