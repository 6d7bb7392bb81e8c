import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

import taxonomy
from annotate.errors import ImportFailed
from annotate.image_import import register_manifest
from annotate.models import ClassifierModel, Image, Prediction, ReviewItem
from annotate.prediction_import import import_predictions
from tests.conftest import shared_data
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, TENCH

pytestmark = pytest.mark.django_db


def items(name):
    return {
        (i.wnid, i.is_original, i.model_count, i.verdict)
        for i in ReviewItem.objects.filter(image__file_name=name).order_by("wnid")
    }


def test_csv_predictions_add_unique_pairs_with_model_counts(unpredicted_dataset, tmp_path):
    first = tmp_path / "m1.csv"
    first.write_text(
        f"filename,top1,top2\na.JPEG,{GOLDFISH},{TENCH}\nb.JPEG,{TENCH}\nc.JPEG,{GREAT_WHITE},{CHIHUAHUA}\n"
    )
    result = import_predictions(model_name="m1", dataset_name=unpredicted_dataset.name, path=first)

    assert result.items() >= {"model": "m1", "dataset": "val", "predictions": 3, "new_review_items": 2}.items()
    assert items("a.JPEG") == {(TENCH, True, 0, "unreviewed"), (GOLDFISH, False, 1, "unreviewed")}
    assert items("b.JPEG") == {(TENCH, True, 1, "unreviewed")}
    assert Prediction.objects.get(model__name="m1", image__file_name="a.JPEG").wnids == [GOLDFISH, TENCH]
    assert Image.objects.get(file_name="a.JPEG").pending_items == 2

    second = tmp_path / "m2.csv"
    second.write_text(f"a.JPEG,{GOLDFISH}\nb.JPEG,0\nc.JPEG,{CHIHUAHUA}\n")
    assert (
        import_predictions(model_name="m2", dataset_name=unpredicted_dataset.name, path=second)["new_review_items"] == 0
    )
    assert items("a.JPEG") == {(TENCH, True, 0, "unreviewed"), (GOLDFISH, False, 2, "unreviewed")}
    assert items("c.JPEG") == {(CHIHUAHUA, True, 1, "unreviewed"), (GREAT_WHITE, False, 1, "unreviewed")}


def test_json_predictions_with_scores(unpredicted_dataset, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"file_name": "a.JPEG", "wnids": [GREAT_WHITE, TENCH], "scores": [0.7, 0.2]}]))
    import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)
    prediction = Prediction.objects.get()
    assert (prediction.top1_wnid, prediction.scores) == (GREAT_WHITE, [0.7, 0.2])


def test_npy_class_indices_in_dataset_order(unpredicted_dataset, tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, np.array([3, 0, 999], dtype=np.uint16))
    import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)
    got = dict(Prediction.objects.values_list("image__file_name", "top1_wnid"))
    assert got == {"a.JPEG": taxonomy.wnid_for_index(3), "b.JPEG": TENCH, "c.JPEG": taxonomy.wnid_for_index(999)}


def test_npy_scores_give_top5_with_scores(unpredicted_dataset, tmp_path):
    scores = np.zeros((3, 1000), dtype=np.float32)
    scores[:, 10:16] = [0.05, 0.4, 0.1, 0.2, 0.15, 0.1]
    path = tmp_path / "p.npy"
    np.save(path, scores)
    import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)
    prediction = Prediction.objects.get(image__file_name="a.JPEG")
    assert prediction.wnids == [taxonomy.wnid_for_index(i) for i in (11, 13, 14, 12, 15)]
    assert prediction.scores == pytest.approx([0.4, 0.2, 0.15, 0.1, 0.1])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"a.JPEG,{TENCH}\nb.JPEG,n00000000\n", r"p.csv:2: 'n00000000' is not the wnid"),
        (f"a.JPEG,{TENCH}\nnope.JPEG,{TENCH}\n", r"p.csv:2: nope.JPEG is not an image of this dataset"),
        (f"a.JPEG,{TENCH}\na.JPEG,{TENCH}\n", r"p.csv:2: a.JPEG has a second prediction"),
        (f"a.JPEG,{TENCH}\nb.JPEG\n", r"p.csv:2: expected 1 to 5 ranked classes, got 0"),
        (f"a.JPEG,{TENCH}\nb.JPEG,1,2,3,4,5,6\n", r"p.csv:2: expected 1 to 5 ranked classes, got 6"),
        (f"a.JPEG,{TENCH}\nb.JPEG,{TENCH},0\n", r"p.csv:2: a class is listed twice"),
        (f"a.JPEG,{TENCH}\nb.JPEG,1000\n", r"p.csv:2: class index 1000 is out of range"),
    ],
)
def test_bad_row_fails_the_import_with_its_line_and_writes_nothing(unpredicted_dataset, tmp_path, content, message):
    path = tmp_path / "p.csv"
    path.write_text(content)
    with pytest.raises(ImportFailed, match=message):
        import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)
    assert not Prediction.objects.exists()
    assert not ClassifierModel.objects.exists()
    assert ReviewItem.objects.count() == 3


def test_npy_with_wrong_length_is_refused(unpredicted_dataset, tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, np.array([1, 2], dtype=np.int64))
    with pytest.raises(ImportFailed, match=r"expected one row per image in dataset order \(3 rows\)"):
        import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)


def test_reimport_needs_replace_and_then_recounts(unpredicted_dataset, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"a.JPEG,{GOLDFISH}\n")
    import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)
    with pytest.raises(ImportFailed, match="already has 1 predictions on dataset 'val'"):
        import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path)
    path.write_text(f"a.JPEG,{GREAT_WHITE}\n")
    import_predictions(model_name="m", dataset_name=unpredicted_dataset.name, path=path, replace=True)
    assert {(w, c) for w, _, c, _ in items("a.JPEG")} == {(TENCH, 0), (GOLDFISH, 0), (GREAT_WHITE, 1)}


def test_command_errors_are_clear(unpredicted_dataset, tmp_path):
    with pytest.raises(CommandError, match="dataset 'missing' does not exist"):
        call_command("import_predictions", str(tmp_path / "p.csv"), "--model", "m", "--dataset", "missing")
    with pytest.raises(CommandError, match="p.csv: no such file"):
        call_command(
            "import_predictions", str(tmp_path / "p.csv"), "--model", "m", "--dataset", unpredicted_dataset.name
        )
    (tmp_path / "p.txt").write_text("x")
    with pytest.raises(CommandError, match="unknown predictions format 'txt'"):
        call_command(
            "import_predictions", str(tmp_path / "p.txt"), "--model", "m", "--dataset", unpredicted_dataset.name
        )


def test_real_validation_set_registers_and_its_predictions_import(tmp_path):
    folder = shared_data("val-predictions")
    paths = json.loads((folder / "index_to_filepath.json").read_text())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("".join(f"{p.rsplit('/', 1)[1]},{p.split('/')[1]}\n" for p in paths))
    assert register_manifest(dataset_name="imagenet-val", manifest_file=manifest).added == 50_000

    result = import_predictions(
        model_name="cv-classifier", dataset_name="imagenet-val", path=folder / "cv_predicted_labels.npy"
    )

    original = np.load(folder / "original_labels.npy")
    predicted = np.load(folder / "cv_predicted_labels.npy")
    assert result["predictions"] == 50_000
    assert result["new_review_items"] == int((original != predicted).sum())
    assert ReviewItem.objects.filter(dataset__name="imagenet-val").count() == 50_000 + result["new_review_items"]
