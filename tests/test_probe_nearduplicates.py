"""What an outside probe of near-duplicate search found: a search whose feature jobs cannot load their model stayed
queued forever (and `find_near_duplicates` with it), a search of a test set without candidates failed inside its
job instead of being refused, a threshold of `true` was taken as 1.0, and a candidate held back under several
metrics was said to wait under "the pixel and phash threshold".
The background thread reads committed rows only: these tests are transactional."""

import pytest

from accounts import roles
from annotate import sharded_jobs
from annotate.models import JobState
from config.exceptions import DomainError
from nearduplicates import services
from nearduplicates.models import FeatureJob, SearchJob, Threshold
from nearduplicates.selectors import held_back_candidates
from tests.conftest import client_for, make_user
from tests.test_near_duplicates import candidate, nearest, planted_copies, search
from testsets import services as testset_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db, tmp_path):
    return planted_copies(tmp_path)


def test_a_search_whose_model_cannot_be_loaded_fails_with_the_reason_instead_of_waiting_forever(world, tmp_path):
    not_a_checkpoint = tmp_path / "notes.pt"
    not_a_checkpoint.write_text("these are notes, not weights\n")
    job = services.find_near_duplicates(
        testset_name="v2", against=["val"], metric="cnn", architecture="resnet18", weights=str(not_a_checkpoint)
    )
    sharded_jobs.background_jobs.wait()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "a feature job it needs failed" in job.error and "not a checkpoint torch can load" in job.error
    assert set(FeatureJob.objects.filter(searches=job).values_list("state", flat=True)) == {JobState.FAILED}


def test_a_search_of_a_test_set_without_candidates_is_refused_and_starts_nothing(world):
    testset_services.create_testset(name="bare", reference_name="val")
    with pytest.raises(DomainError, match="no candidates") as refused:
        services.find_near_duplicates(testset_name="bare", against=["val"], metric="phash")
    assert refused.value.field == "testset"
    client = client_for(make_user("ada", roles.ADMIN))
    answer = client.post(
        "/api/testsets/bare/near-duplicates/searches/",
        {"metric": "phash", "against": ["val"]},
        content_type="application/json",
    )
    assert answer.status_code == 400 and "no candidates" in answer.json()["testset"]
    assert not SearchJob.objects.exists() and not FeatureJob.objects.exists()


def test_a_threshold_of_true_is_refused_not_read_as_one(world):
    search("pixel", k=5)
    before = Threshold.objects.get(metric="pixel").value
    client = client_for(make_user("ada", roles.ADMIN))
    answer = client.put(
        "/api/testsets/v2/near-duplicates/thresholds/pixel/", {"value": True}, content_type="application/json"
    )
    assert answer.status_code == 400 and "not true or false" in answer.json()["value"][0]
    assert Threshold.objects.get(metric="pixel").value == before


def test_a_candidate_held_back_under_several_metrics_names_them_all(world):
    for metric in ("pixel", "phash"):
        search(metric, k=5)
        farthest = max(distance for _, distance in nearest(metric).values())
        services.set_threshold(testset_name="v2", metric=metric, value=farthest)
    reason = held_back_candidates(world)[candidate("copy_of_tench0.jpg").pk]
    assert reason == "unreviewed neighbours under the phash and pixel thresholds"
