"""Scores from the database: `manage.py score` and GET /api/evaluation/scores/ against a direct computation."""

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

import taxonomy
from annotate import services
from annotate.image_import import register_manifest
from annotate.models import ClassifierModel, Image, Prediction, PredictorKind, ProblematicFlag, ReviewItem, Verdict
from annotate.prediction_import import import_predictions
from evaluation import scores, scoring
from tests.test_scoring import DATASETS, IMAGES, KINDS, LABELS, PREDICTIONS, keyed, reference_rows

pytestmark = pytest.mark.django_db


def wnid(index):
    return taxonomy.wnid_for_index(index)


@pytest.fixture
def scored(tmp_path, reviewer):
    """The hand-made case of tests/test_scoring.py in the database, through the importers and services."""
    for dataset in DATASETS:
        manifest = tmp_path / f"{dataset}.csv"
        manifest.write_text(
            "".join(f"{name},{wnid(c)}\n" for name, (where, c, _) in IMAGES.items() if where == dataset)
        )
        register_manifest(dataset_name=dataset, manifest_file=manifest)
        for predictor, answers in PREDICTIONS.items():
            rows = [[name, *map(wnid, ranked)] for name, ranked in answers.items() if IMAGES[name][0] == dataset]
            if rows:
                path = tmp_path / f"{dataset}-{predictor}.csv"
                path.write_text("".join(",".join(row) + "\n" for row in rows))
                import_predictions(model_name=predictor, dataset_name=dataset, path=path)
    humans = [name for name, kind in KINDS.items() if kind == "human"]
    ClassifierModel.objects.filter(name__in=humans).update(kind=PredictorKind.HUMAN)
    images = {(i.dataset.name, i.file_name): i for i in Image.objects.select_related("dataset")}
    by_name = {name: images[(where, name)] for name, (where, _, _) in IMAGES.items()}
    for (name, c), verdict in LABELS.items():
        image = by_name[name]
        item, _ = ReviewItem.objects.get_or_create(image=image, wnid=wnid(c), defaults={"dataset": image.dataset})
        services.set_verdict(item_id=item.pk, reviewer=reviewer, value=verdict)
    # Don't know is no decision: c2's spaniel pair stays undecided, as in LABELS.
    spaniel = ReviewItem.objects.get(image=by_name["c2"], wnid=wnid(PREDICTIONS["m-a"]["c2"][0]))
    services.set_verdict(item_id=spaniel.pk, reviewer=reviewer, value=Verdict.DONT_KNOW)
    for name, (_, _, problematic) in IMAGES.items():
        if problematic:
            services.set_problematic(image_id=by_name[name].pk, reviewer=reviewer, reason="drawing")
    return by_name


def database_as_dicts():
    """The case read back from the database with plain ORM loops, in the dicts of reference_rows."""
    flagged = set(ProblematicFlag.objects.values_list("image_id", flat=True))
    images = {
        i.file_name: (i.dataset.name, taxonomy.class_index(i.original_wnid), i.pk in flagged)
        for i in Image.objects.select_related("dataset")
    }
    labels = {
        (item.image.file_name, taxonomy.class_index(item.wnid)): item.verdict
        for item in ReviewItem.objects.select_related("image")
        if item.verdict in ("correct", "wrong", "unclear")
    }
    predictions, kinds = {}, {}
    for prediction in Prediction.objects.select_related("model", "image"):
        ranked = [taxonomy.class_index(w) for w in prediction.wnids]
        predictions.setdefault(prediction.model.name, {})[prediction.image.file_name] = ranked
        kinds[prediction.model.name] = prediction.model.kind
    return images, labels, predictions, kinds


def cli(*args):
    out = io.StringIO()
    call_command("score", *args, stdout=out)
    return out.getvalue()


def assert_same_rows(rows, expected):
    rows = keyed(rows)
    assert set(rows) == set(expected)
    for key, row in rows.items():
        assert list(row) == list(scoring.ROW_KEYS)
        for name, value in row.items():
            want = expected[key][name]
            if isinstance(want, float) and value is not None:
                assert value == pytest.approx(want, rel=1e-12, abs=1e-12), (key, name)
            else:
                assert value == want, (key, name)


def test_the_database_holds_the_hand_made_case(scored):
    images, labels, predictions, kinds = database_as_dicts()
    assert images == IMAGES and labels == LABELS and kinds == KINDS
    assert {p: dict(a) for p, a in predictions.items()} == PREDICTIONS


def test_cli_json_matches_the_direct_computation(scored):
    rows = json.loads(cli("--json", "--dataset", "val", "--dataset", "v2"))
    assert_same_rows(rows, reference_rows(*database_as_dicts(), DATASETS))
    assert list(dict.fromkeys(r["dataset"] for r in rows)) == ["val", "v2"]
    # Every dataset, by name, when none is named.
    everything = json.loads(cli("--json"))
    assert list(dict.fromkeys(r["dataset"] for r in everything)) == ["v2", "val"]
    assert sorted(map(json.dumps, everything)) == sorted(map(json.dumps, rows))


def test_api_gives_the_same_rows_as_the_cli(scored, client, reviewer):
    client.force_login(reviewer)
    for params in ({"dataset": ["val", "v2"]}, {"dataset": "v2", "split": "dogs"}, {"metric": "top5"}, {}):
        args = [arg for name in ("split", "metric") if name in params for arg in (f"--{name}", params[name])]
        datasets = params.get("dataset", [])
        for name in [datasets] if isinstance(datasets, str) else datasets:
            args += ["--dataset", name]
        response = client.get("/api/evaluation/scores/", params)
        assert response.status_code == 200
        assert response.json() == json.loads(cli("--json", *args))
    dogs = client.get("/api/evaluation/scores/", {"dataset": "v2", "split": "dogs"}).json()
    assert dogs and {(r["dataset"], r["split"]) for r in dogs} == {("v2", "dogs")}


def test_drops_from_the_cli_and_the_api(scored, client, reviewer):
    rows = json.loads(cli("--json", "--dataset", "val", "--dataset", "v2"))
    expected = scoring.drops(rows, "val")
    assert expected and json.loads(cli("--json", "--drops", "--dataset", "val", "--dataset", "v2")) == expected
    client.force_login(reviewer)
    response = client.get("/api/evaluation/scores/drops/", {"dataset": ["val", "v2"]})
    assert response.status_code == 200 and response.json() == expected
    by_key = {(d["predictor"], d["metric"], d["split"], d["averaging"]): d for d in expected}
    drop = by_key[("m-a", "top1", "all", "image")]
    assert drop["value"] == pytest.approx(2 / 6 - 2 / 3)
    with pytest.raises(CommandError, match="at least two datasets"):
        cli("--drops", "--dataset", "val")
    assert client.get("/api/evaluation/scores/drops/", {"dataset": "val"}).status_code == 400
    table = cli("--drops", "--dataset", "val", "--dataset", "v2", "--metric", "top1")
    assert "drop" in table.splitlines()[0] and "-33.33" in table


def test_table_is_readable(scored):
    table = cli("--dataset", "val", "--split", "all", "--metric", "multilabel").splitlines()
    assert table[0].startswith("predictor")
    for column in ("kind", "dataset", "split", "metric", "averaging", "accuracy %", "95% CI"):
        assert column in table[0]
    m_a = [line for line in table if line.startswith("m-a ")]
    # Image and class rows, with bounds in percent since c2's spaniel is not decided.
    assert len(m_a) == 2 and "50.00-66.67" in m_a[0] and "[" in m_a[0] and m_a[0].split()[-1] == "6"
    assert any(line.startswith("human majority vote") for line in table)
    assert cli("--dataset", "val", "--metric", "top1").count("top1") == 3 * 5 * 2  # models only, not their vote


def test_filters_and_errors(scored, client, reviewer):
    rows = json.loads(cli("--json", "--split", "organisms", "--metric", "multilabel_lenient"))
    assert rows and {(r["split"], r["metric"]) for r in rows} == {("organisms", "multilabel_lenient")}
    with pytest.raises(CommandError, match="'nowhere' does not exist"):
        cli("--dataset", "nowhere")
    with pytest.raises(CommandError):
        cli("--split", "plants")
    client.force_login(reviewer)
    for params, status in (({"dataset": "nowhere"}, 404), ({"split": "plants"}, 400), ({"metric": "top3"}, 400)):
        response = client.get("/api/evaluation/scores/", params)
        assert response.status_code == status and response.json()["detail"]


def test_anonymous_gets_no_scores(scored, client):
    assert client.get("/api/evaluation/scores/").status_code in (401, 403)
    assert client.get("/api/evaluation/scores/drops/", {"dataset": ["val", "v2"]}).status_code in (401, 403)


def test_no_predictions_no_rows(tmp_path, db):
    manifest = tmp_path / "m.csv"
    manifest.write_text("x.JPEG,n01440764\n")
    register_manifest(dataset_name="bare", manifest_file=manifest)
    assert json.loads(cli("--json")) == []
    assert "no scores" in cli()


def test_loading_takes_a_fixed_number_of_queries(scored, tmp_path):
    with CaptureQueriesContext(connection) as first:
        scores.load_inputs(["val", "v2"])
    # More images, a fourth model and a third human: the same queries.
    manifest = tmp_path / "more.csv"
    manifest.write_text("".join(f"more{i}.JPEG,{wnid(i * 7)}\n" for i in range(30)))
    register_manifest(dataset_name="val", manifest_file=manifest)
    for name in ("m-d", "h-3"):
        path = tmp_path / f"{name}.csv"
        path.write_text("".join(f"more{i}.JPEG,{wnid(i)}\n" for i in range(0, 30, 2)))
        import_predictions(model_name=name, dataset_name="val", path=path)
    ClassifierModel.objects.filter(name="h-3").update(kind=PredictorKind.HUMAN)
    with CaptureQueriesContext(connection) as second:
        inputs = scores.load_inputs(["val", "v2"])
    assert len(first) == len(second) == 6
    assert inputs.top1.shape == (7, len(IMAGES) + 30)
    assert inputs.predictors[:4] == ["m-a", "m-b", "m-c", "m-d"] and inputs.kinds[4:] == ["human"] * 3


def test_copy_and_portable_fetch_give_the_same_arrays(scored):
    fast, portable = scores.load_inputs(["v2", "val"]), scores.load_inputs(["v2", "val"], fast=False)
    for field in ("top1", "in_top5", "original", "problematic", "dataset", "item_keys", "item_verdicts"):
        assert np.array_equal(getattr(fast, field), getattr(portable, field)), field
    assert (fast.predictors, fast.kinds, fast.datasets) == (portable.predictors, portable.kinds, ["v2", "val"])
    assert scoring.score(fast) == scoring.score(portable)


def test_class_indices_of_wnid_numbers():
    numbers = np.array([1440764, 2085620, 4552348, 1, -1, 99999999])
    expected = [taxonomy.class_index("n01440764"), taxonomy.class_index("n02085620")]
    expected += [taxonomy.class_index("n04552348"), -1, -1, -1]
    assert scores.class_indices(numbers).tolist() == expected
