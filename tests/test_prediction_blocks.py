"""Prediction blocks (annotate.prediction_blocks): every write of predictions leaves each model's blocks holding
exactly its Prediction rows, or no blocks; scoring reads the same arrays with them as from the rows."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate import batches, prediction_blocks
from annotate.models import ClassifierModel, Image, Prediction, PredictionBlock, ranked_classes
from annotate.prediction_import import import_predictions
from evaluation import scores, scoring
from tests.test_score_command import scored, wnid  # noqa: F401  (scored is a fixture)

pytestmark = pytest.mark.django_db

ARRAYS = ("top1", "in_top5", "original", "problematic", "dataset", "item_keys", "item_verdicts")


def assert_blocks_hold_the_predictions():
    """Each model with blocks has exactly its Prediction rows in them, compared row by row through the ORM."""
    datasets = list(Image.objects.values_list("dataset_id", flat=True).distinct())
    model_ids, image_ids, ranked, covered = prediction_blocks.read(datasets)
    packed = {
        (model, image): bytes(top5.astype("<i2"))
        for model, image, top5 in zip(model_ids.tolist(), image_ids.tolist(), ranked, strict=True)
    }
    rows = {
        (p.model_id, p.image_id): bytes(ranked_classes(p.wnids))
        for p in Prediction.objects.filter(model_id__in=covered)
    }
    assert packed == rows
    assert len(packed) == len(model_ids)  # no prediction twice


def assert_same_inputs(first, second):
    for field in ARRAYS:
        assert np.array_equal(getattr(first, field), getattr(second, field)), field
    assert (first.predictors, first.kinds) == (second.predictors, second.kinds)


def test_imports_pack_blocks_that_score_as_the_rows_do(scored):  # noqa: F811
    assert PredictionBlock.objects.count() == Prediction.objects.values("model", "image__dataset").distinct().count()
    assert_blocks_hold_the_predictions()
    with CaptureQueriesContext(connection) as packed_queries:
        packed = scores.load_inputs(["val", "v2"])
    PredictionBlock.objects.all().delete()
    with CaptureQueriesContext(connection) as row_queries:
        from_rows = scores.load_inputs(["val", "v2"])
    assert_same_inputs(packed, from_rows)
    assert scoring.score(packed) == scoring.score(from_rows)
    # Without blocks, one more query reads the rows.
    assert (len(packed_queries), len(row_queries)) == (6, 7)


def test_some_models_packed_and_some_not_give_every_prediction_once(scored):  # noqa: F811
    everything = scores.load_inputs(["val", "v2"])
    prediction_blocks.forget(ClassifierModel.objects.get(name="m-b").pk)
    partly = scores.load_inputs(["val", "v2"])
    assert_same_inputs(everything, partly)
    assert_same_inputs(scores.load_inputs(["v2"]), scores.load_inputs(["v2"], fast=False))


def test_replacing_and_undoing_predictions_repack_them(scored, tmp_path):  # noqa: F811
    images = list(Image.objects.filter(dataset__name="val").order_by("pk").values_list("file_name", flat=True))
    path = tmp_path / "again.csv"
    path.write_text("".join(f"{name},{wnid(900)},{wnid(901)}\n" for name in images[:2]))
    summary = import_predictions(model_name="m-a", dataset_name="val", path=path, replace=True)
    assert_blocks_hold_the_predictions()
    inputs = scores.load_inputs(["val"])
    row = inputs.predictors.index("m-a")
    assert (inputs.top1[row] == 900).sum() == 2  # wnid(i) is the class of index i
    assert (inputs.top1[row] != scoring.NO_PREDICTION).sum() == 2

    batches.undo_import(batch_id=summary["batch"])
    assert_blocks_hold_the_predictions()
    PredictionBlock.objects.all().delete()
    restored = scores.load_inputs(["val"])
    for model in ClassifierModel.objects.all():
        prediction_blocks.rebuild(model.pk)
    assert_same_inputs(scores.load_inputs(["val"]), restored)


def test_an_image_deleted_after_packing_is_left_out(scored):  # noqa: F811
    first = Image.objects.filter(dataset__name="val").order_by("pk").first()
    last = Image.objects.filter(dataset__name="v2").order_by("pk").last()
    first.delete()
    last.delete()
    packed = scores.load_inputs(["val", "v2"])
    PredictionBlock.objects.all().delete()
    assert_same_inputs(packed, scores.load_inputs(["val", "v2"]))
    assert first.pk not in packed.image_ids and last.pk not in packed.image_ids


def test_runs_of_ids_round_trip():
    for ids in ([], [5], [1, 2, 3, 7, 8, 10], list(range(100, 50_100))):
        ids = np.array(ids, dtype=np.int64)
        runs = prediction_blocks.runs_of(ids)
        assert np.array_equal(prediction_blocks.ids_of_runs(runs), ids)
    assert prediction_blocks.runs_of(np.arange(100, 50_100)).tolist() == [100, 50_000]
