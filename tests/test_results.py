"""Results of a closed phase through the loader, the scores and results API and the results page: the humans'
seen / unseen and fast / slow figures, the voters of the model majority vote, the mistake analysis, the CSV and
JSON downloads, who may see results while a phase is open, and the queries each path takes."""

import csv
import io
import json
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from annotate import services as annotate_services
from annotate.models import ClassifierModel, Image, ReviewItem
from annotate.prediction_import import import_predictions
from evaluation import scores, scoring, services
from evaluation.models import Participant, ParticipantImage
from tests.test_phases import build_datasets, client_for
from tests.wnids import AIRLINER, CANOE, GOLDFISH

# Wrong answers by file name; every other answer is the original label. a0 is wrong for both voting models
# and both humans, and right for the simulated model, which does not vote.
MODEL_ANSWERS = {
    "m-one": {"a0.JPEG": GOLDFISH, "va0.JPEG": GOLDFISH},
    "m-two": {"a0.JPEG": CANOE},
    "m-sim": dict.fromkeys(("t0.JPEG", "t1.JPEG"), AIRLINER),
}
HUMAN_ANSWERS = {"pat": {"a0.JPEG": GOLDFISH, "vt0.JPEG": GOLDFISH}, "paula": {"a0.JPEG": CANOE, "t1.JPEG": GOLDFISH}}
HUMAN = "human {} (phase 1)"


def import_models(tmp_path):
    for model, wrong in MODEL_ANSWERS.items():
        for dataset in ("inet", "v2"):
            images = Image.objects.filter(dataset__name=dataset)
            path = tmp_path / f"{model}-{dataset}.csv"
            path.write_text("".join(f"{i.file_name},{wrong.get(i.file_name, i.original_wnid)}\n" for i in images))
            import_predictions(model_name=model, dataset_name=dataset, path=path)
    ClassifierModel.objects.filter(name="m-sim").update(simulated=True)


def answer_all(phase, username, user):
    """Answer the whole list (HUMAN_ANSWERS, else the original label), the n-th image (0-based, in list order) in
    n + 1 seconds."""
    participant = Participant.objects.get(phase=phase, user=user)
    at = timezone.now() - timedelta(hours=1)
    while item := services.start_next_image(phase=phase, participant=participant, at=at):
        image = item.phase_image.image
        wnid = HUMAN_ANSWERS.get(username, {}).get(image.file_name, image.original_wnid)
        at += timedelta(seconds=item.position + 1)
        services.record_answer(phase=phase, participant=participant, token=item.phase_image.token, wnid=wnid, at=at)


def review_everything(reviewer):
    """Every review item: correct where it is the original label, wrong elsewhere."""
    for item in ReviewItem.objects.select_related("image").filter(verdict="unreviewed"):
        verdict = "correct" if item.wnid == item.image.original_wnid else "wrong"
        annotate_services.set_verdict(item_id=item.pk, reviewer=reviewer, value=verdict)


def closed_phase(people, tmp_path):
    build_datasets(tmp_path)
    import_models(tmp_path)
    # Paula reviews t0 before the phase: it is "seen" in her list.
    t0 = ReviewItem.objects.get(image__file_name="t0.JPEG", is_original=True)
    annotate_services.set_verdict(item_id=t0.pk, reviewer=people["paula"], value="correct")
    phase = services.open_phase(
        services.create_phase(name="phase 1", datasets={"inet": 8, "v2": 6}, participants=["pat", "paula"])
    )
    for username in ("pat", "paula"):
        answer_all(phase, username, people[username])
    services.close_phase(phase)
    review_everything(people["rita"])
    return phase


@pytest.fixture
def scored(people, tmp_path):
    return closed_phase(people, tmp_path)


def rows_by_key(rows):
    return {(r["predictor"], r["dataset"], r["split"], r["metric"], r["averaging"], r["subset"]): r for r in rows}


# --- the loader and the subsets ---------------------------------------------------------------------------------


def test_the_humans_of_a_phase_have_seen_unseen_fast_and_slow_figures(scored, people):
    rows = rows_by_key(scores.score_rows(["inet", "v2"]))
    for username in ("pat", "paula"):
        name = HUMAN.format(username)
        answers = list(
            ParticipantImage.objects.filter(participant__user=people[username]).select_related("phase_image__image")
        )
        seconds = sorted(a.seconds_taken for a in answers)
        median = (seconds[len(seconds) // 2 - 1] + seconds[len(seconds) // 2]) / 2  # 14 answers: an even count
        subsets = {
            "all": answers,
            "seen": [a for a in answers if a.seen],
            "unseen": [a for a in answers if not a.seen],
            "fast": [a for a in answers if a.seconds_taken <= median],
            "slow": [a for a in answers if a.seconds_taken > median],
        }
        for subset, chosen in subsets.items():
            for dataset in ("inet", "v2"):
                on = [a for a in chosen if a.phase_image.image.dataset.name == dataset]
                right = sum(a.wnid == a.phase_image.image.original_wnid for a in on)
                row = rows[(name, dataset, "all", "multilabel", "image", subset)]
                assert row["n"] == len(on), (username, subset, dataset)
                assert row["value"] == (right / len(on) if on else None), (username, subset, dataset)
    # Only Paula had seen an image (t0, which she answered right).
    assert rows[(HUMAN.format("paula"), "inet", "all", "multilabel", "image", "seen")]["value"] == 1.0
    assert rows[(HUMAN.format("pat"), "inet", "all", "multilabel", "image", "seen")]["n"] == 0
    # Models and ensembles have no subsets.
    assert {r["subset"] for r in rows.values() if r["kind"] != "human"} == {"all"}


def test_simulated_models_do_not_vote(scored):
    inputs = scores.load_inputs(["inet", "v2"])
    assert dict(zip(inputs.predictors, inputs.voting().tolist(), strict=True)) == {
        "m-one": True,
        "m-sim": False,
        "m-two": True,
        HUMAN.format("pat"): True,
        HUMAN.format("paula"): True,
    }
    rows = rows_by_key(scores.score_rows(["inet"]))
    # m-one and m-two tie on a0 (goldfish against canoe: goldfish has the smaller class index, wrong either way);
    # m-sim's airliners on t0 and t1 would have outvoted nobody, but it has no vote at all.
    vote = rows[("model majority vote", "inet", "all", "multilabel", "image", "all")]
    assert (vote["value"], vote["n"]) == (7 / 8, 8)
    assert rows[("m-sim", "inet", "all", "multilabel", "image", "all")]["value"] == 6 / 8


def test_the_subset_filter_of_the_cli_and_the_api(scored, people):
    out = io.StringIO()
    call_command("score", "--json", "--subset", "seen", "--dataset", "inet", stdout=out)
    rows = json.loads(out.getvalue())
    assert rows and {r["subset"] for r in rows} == {"seen"} and {r["kind"] for r in rows} == {"human"}
    client = client_for(people["rita"])
    assert client.get("/api/evaluation/scores/", {"subset": "seen", "dataset": "inet"}).json() == rows
    assert client.get("/api/evaluation/scores/", {"subset": "sometimes"}).status_code == 400


# --- downloads ----------------------------------------------------------------------------------------------


def parse_csv(text):
    """CSV rows with the figures back as numbers and empty cells as null."""
    rows = []
    for line in csv.DictReader(io.StringIO(text)):
        row = {}
        for key, value in line.items():
            if value == "":
                row[key] = None
            elif key in ("n", "n_reference"):
                row[key] = int(value)
            elif key in ("value", "lower", "upper", "ci_low", "ci_high"):
                row[key] = float(value)
            else:
                row[key] = value
        rows.append(row)
    return rows


def test_scores_and_drops_download_as_csv_and_json(scored, people):
    client = client_for(people["rita"])
    query = {"dataset": ["inet", "v2"]}
    rows = client.get("/api/evaluation/scores/", query).json()
    response = client.get("/api/evaluation/scores/", {**query, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="scores.csv"'
    text = response.content.decode()
    assert text.splitlines()[0] == ",".join(scoring.ROW_KEYS)
    assert parse_csv(text) == rows
    response = client.get("/api/evaluation/scores/", {**query, "format": "json"})
    assert response["Content-Disposition"] == 'attachment; filename="scores.json"' and response.json() == rows
    drops = client.get("/api/evaluation/scores/drops/", query).json()
    response = client.get("/api/evaluation/scores/drops/", {**query, "format": "csv"})
    assert response.content.decode().splitlines()[0] == ",".join(scoring.DROP_KEYS)
    assert parse_csv(response.content.decode()) == drops
    assert client.get("/api/evaluation/scores/", {"format": "xml"}).status_code == 400


# --- the results API ----------------------------------------------------------------------------------------


def test_the_results_api_gives_everything_the_page_shows(scored, people):
    response = client_for(people["rita"]).get("/api/evaluation/results/", {"dataset": ["inet", "v2"]})
    assert response.status_code == 200
    data = response.json()
    assert data["datasets"] == ["inet", "v2"] and data["reference"] == "inet" and data["decided_items"] > 0
    assert data["rows"] == scores.score_rows(["inet", "v2"])
    assert data["drops"] == scoring.drops(data["rows"], "inet")
    predictors = {p["name"]: p for p in data["predictors"]}
    assert predictors["m-sim"]["simulated"] and not predictors["m-sim"]["votes"] and predictors["m-one"]["votes"]
    assert predictors["model majority vote"]["voters"] == 2 and predictors["human majority vote"]["voters"] == 2
    paula = predictors[HUMAN.format("paula")]
    seconds = [a.seconds_taken for a in ParticipantImage.objects.filter(participant__user=people["paula"])]
    assert (paula["participant"], paula["phase"], paula["answers"], paula["seen_answers"]) == (
        "paula",
        "phase 1",
        14,
        1,
    )
    assert paula["median_seconds"] == float(np.median(seconds))

    # Every voting model is wrong on a0 only (on va0 m-two is right; m-sim's wrong t0 and t1 do not count), every
    # human on a0 only (Pat's vt0 and Paula's t1 are right for the other).
    groups = {group["group"]: group for group in data["mistakes"]["groups"]}
    assert data["mistakes"]["members"] == {"models": 2, "humans": 2}
    assert {g: groups[g]["count"] for g in groups} == {"models": 1, "humans": 1, "both": 1}
    [a0] = groups["both"]["images"]
    assert groups["models"]["images"] == groups["humans"]["images"] == [a0]
    assert (a0["file_name"], a0["dataset"], a0["original"]["wnid"]) == ("a0.JPEG", "inet", AIRLINER)
    assert a0["original"]["label"] == "airliner" and a0["display_url"] == f"/images/{a0['id']}/display"
    assert [c["wnid"] for c in a0["correct"]] == [AIRLINER] and a0["unclear"] == []
    assert [c["wnid"] for c in a0["wrong"]] == [GOLDFISH, CANOE]  # by class index
    assert a0["models_said"] == [
        {"wnid": GOLDFISH, "label": "goldfish", "count": 1},
        {"wnid": CANOE, "label": "canoe", "count": 1},
    ]
    assert a0["humans_said"] == a0["models_said"]


# --- who sees results -----------------------------------------------------------------------------------------

RESULT_URLS = [
    "/api/evaluation/scores/",
    "/api/evaluation/scores/drops/?dataset=inet&dataset=v2",
    "/api/evaluation/results/",
    "/api/evaluation/scores/?format=csv",
    "/evaluation/results/",
]


def test_participants_of_an_open_phase_see_no_results_until_it_closes(scored, people):
    second = services.open_phase(
        services.create_phase(name="phase 2", datasets={"inet": 2}, participants=["pat", "ada"])
    )
    pat, admin, rita = (client_for(people[name]) for name in ("pat", "admin", "rita"))
    for url in RESULT_URLS:
        response = pat.get(url)
        assert response.status_code == 403, url
    page = pat.get("/evaluation/results/").content.decode()
    assert "Results are closed to you" in page and "results-app" not in page and "evaluation-results.js" not in page
    assert pat.get("/api/evaluation/results/").json()["detail"].startswith("Results are closed to you")
    # Nor anyone's answers of the open phase; admins (a participant here too) and others see everything.
    answers = f"/api/evaluation/phases/{second.pk}/answers/?participant=ada"
    assert pat.get(answers).status_code == 403
    for client in (admin, rita):
        for url in RESULT_URLS:
            assert client.get(url).status_code == 200, url
    assert admin.get(answers).status_code == 200

    services.close_phase(second)
    for url in RESULT_URLS:
        assert pat.get(url).status_code == 200, url


def test_anonymous_users_see_no_results(scored, client):
    for url in RESULT_URLS:
        assert client.get(url).status_code in (302, 401, 403), url


# --- the page -------------------------------------------------------------------------------------------------


def test_the_results_page_offers_its_datasets_and_downloads(scored, people):
    client = client_for(people["rita"])
    page = client.get("/evaluation/results/").content.decode()
    assert 'data-results-url="/api/evaluation/results/?dataset=inet&amp;dataset=v2"' in page
    assert "/api/evaluation/scores/?dataset=inet&amp;dataset=v2&amp;format=csv" in page
    assert "/api/evaluation/scores/drops/?dataset=inet&amp;dataset=v2&amp;format=csv" in page
    # v2 as the reference, nothing compared: no drops to download.
    page = client.get("/evaluation/results/", {"dataset": ["v2", ""]}).content.decode()
    assert 'data-reference="v2" data-compared=""' in page and "format=csv" in page and "drops/" not in page
    assert 'href="/evaluation/results/"' in client.get("/evaluation/").content.decode()


# --- queries --------------------------------------------------------------------------------------------------


def test_the_results_paths_take_a_fixed_number_of_queries(people, tmp_path, django_assert_max_num_queries):
    closed_phase(people, tmp_path)
    client = client_for(people["rita"])

    def query_paths():
        with django_assert_max_num_queries(5):
            assert client.get("/evaluation/results/").status_code == 200
        # The API's each take one query for the fingerprint of the data behind the figures (the cache's key).
        with django_assert_max_num_queries(14):
            assert client.get("/api/evaluation/results/").status_code == 200
        with django_assert_max_num_queries(11):
            assert client.get("/api/evaluation/scores/", {"format": "csv"}).status_code == 200

    query_paths()
    # A second phase and model: more predictors, humans and images, the same queries.
    phase = services.open_phase(
        services.create_phase(name="phase 2", datasets={"inet": 4}, participants=["rita", "paula"], seed=4)
    )
    for username in ("rita", "paula"):
        answer_all(phase, username, people[username])
    services.close_phase(phase)
    path = tmp_path / "m-three.csv"
    path.write_text("".join(f"{i.file_name},{GOLDFISH}\n" for i in Image.objects.filter(dataset__name="inet")))
    import_predictions(model_name="m-three", dataset_name="inet", path=path)
    review_everything(people["rita"])
    query_paths()
