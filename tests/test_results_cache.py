"""The cache of figures: the results and scores API answer from it while nothing behind the figures changes, say
how old their figures are, equal a fresh computation, and compute anew after any write that changes labels,
predictions or flags."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from annotate import labelling
from annotate import services as annotate_services
from annotate.batches import undo_import
from annotate.models import Dataset, Image, Prediction, ReviewItem
from annotate.prediction_import import import_predictions
from consensus import services as consensus
from evaluation import results, scores, selectors
from evaluation import services as phases
from tests.conftest import client_for
from tests.test_prediction_blocks import assert_blocks_hold_the_predictions
from tests.test_results import answer_all, closed_phase
from tests.wnids import GOLDFISH

NAMES = ["inet", "v2"]


def get_results(client):
    """(the results but their age, computed_at, age_seconds)."""
    response = client.get("/api/evaluation/results/", {"dataset": NAMES})
    assert response.status_code == 200
    data = response.json()
    return data, data.pop("computed_at"), data.pop("age_seconds")


def fresh_results():
    """The results computed now, without the cache, as the API's JSON gives them."""
    return json.loads(json.dumps(results.results(NAMES), cls=DjangoJSONEncoder))


def refuse_to_load(*args, **kwargs):
    raise AssertionError("the figures were computed again")


def test_figures_come_from_the_cache_equal_fresh_ones_and_say_how_old_they_are(people, tmp_path, monkeypatch):
    closed_phase(people, tmp_path)
    client = client_for(people["rita"])
    first, computed_at, age = get_results(client)
    assert first == fresh_results() and first["rows"] and 0 <= age < 60
    rows = client.get("/api/evaluation/scores/", {"dataset": NAMES})
    assert rows.json() == scores.score_rows(NAMES) and float(rows["Age-Seconds"]) >= 0

    # Nothing changed: the same figures, from the cache, older now.
    monkeypatch.setattr(scores, "load_inputs", refuse_to_load)
    again, again_at, again_age = get_results(client)
    assert (again, again_at) == (first, computed_at) and again_age >= age
    download = client.get("/api/evaluation/scores/", {"dataset": NAMES, "format": "csv"})
    assert download.status_code == 200 and download["Computed-At"] == rows["Computed-At"]
    # Other filters are other figures, computed for them.
    with pytest.raises(AssertionError, match="computed again"):
        client.get("/api/evaluation/scores/", {"dataset": "inet"})


# Each case prepares what its change needs (before the figures are cached) and returns the change.


def a_verdict(people, tmp_path):
    item = ReviewItem.objects.get(image__dataset__name="inet", image__file_name="a0.JPEG", wnid=GOLDFISH)
    return lambda: annotate_services.set_verdict(item_id=item.pk, reviewer=people["paula"], value="correct")


def a_flag(people, tmp_path):
    image = Image.objects.get(dataset__name="inet", file_name="t1.JPEG")
    return lambda: annotate_services.set_problematic(image_id=image.pk, reviewer=people["rita"], reason="drawing")


def predictions_file(tmp_path):
    path = tmp_path / "m-new.csv"
    path.write_text("".join(f"{image.file_name},{GOLDFISH}\n" for image in Image.objects.filter(dataset__name="inet")))
    return path


def a_predictions_import(people, tmp_path):
    path = predictions_file(tmp_path)
    return lambda: import_predictions(model_name="m-new", dataset_name="inet", path=path)


def an_undone_import(people, tmp_path):
    batch = import_predictions(model_name="m-new", dataset_name="inet", path=predictions_file(tmp_path))["batch"]
    return lambda: undo_import(batch_id=batch)


def a_consensus_rule(people, tmp_path):
    # Two reviewers must agree now: the items only Rita decided have no label any more.
    dataset = Dataset.objects.get(name="inet")
    return lambda: labelling.set_policy(dataset=dataset, rule="unanimity", overlap=2)


def a_golden_answer(people, tmp_path):
    item = ReviewItem.objects.get(image__dataset__name="inet", image__file_name="a0.JPEG", wnid=GOLDFISH)
    return lambda: consensus.mark_golden(item_id=item.pk, answer="correct", user=people["admin"])


def a_golden_item_unmarked(people, tmp_path):
    item = ReviewItem.objects.get(image__dataset__name="inet", image__file_name="a0.JPEG", wnid=GOLDFISH)
    consensus.mark_golden(item_id=item.pk, answer="correct", user=people["admin"])
    return lambda: consensus.unmark_golden(item_id=item.pk)


def a_closed_phase(people, tmp_path):
    # Its answers become predictions of two more humans.
    phase = phases.open_phase(
        phases.create_phase(name="phase 2", datasets={"inet": 4}, participants=["pat", "paula"], seed=4)
    )
    for username in ("pat", "paula"):
        answer_all(phase, username, people[username])
    return lambda: phases.close_phase(phase)


def an_admin_deletion(people, tmp_path):
    prediction = Prediction.objects.filter(image__dataset__name="inet", model__name="m-one").first()
    root = client_for(User.objects.create_superuser("root", password="x"))
    url = reverse("admin:annotate_prediction_delete", args=[prediction.pk])

    def delete():
        root.post(url, {"post": "yes"})
        assert not Prediction.objects.filter(pk=prediction.pk).exists()
        assert_blocks_hold_the_predictions()  # packed again without it

    return delete


CHANGES = [
    a_verdict,
    a_flag,
    a_predictions_import,
    an_undone_import,
    a_consensus_rule,
    a_golden_answer,
    a_golden_item_unmarked,
    a_closed_phase,
    an_admin_deletion,
]


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.__name__)
def test_a_change_behind_the_figures_computes_them_anew(people, tmp_path, case):
    closed_phase(people, tmp_path)
    client = client_for(people["rita"])
    change = case(people, tmp_path)
    before, computed_at, _ = get_results(client)
    fingerprint = selectors.figures_fingerprint()
    change()
    assert selectors.figures_fingerprint() != fingerprint
    after, recomputed_at, _ = get_results(client)
    # The change shows in the figures: served from the cache, they would still be the ones before.
    assert after != before and recomputed_at > computed_at
    assert after == fresh_results()
