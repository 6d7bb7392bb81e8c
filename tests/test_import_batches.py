"""Imports as batches (issue 12): ReaL files give every model exactly its ReaL accuracy; an import is previewed, keeps
the verdicts already given unless asked, and is undone in one step from the CLI, the API and the dataset page."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

import taxonomy
from accounts import roles
from annotate import services
from annotate.batches import undo_import
from annotate.image_import import import_image_folder
from annotate.models import (
    ClassifierModel,
    Dataset,
    FlagChange,
    Image,
    ImportBatch,
    Prediction,
    ProblematicFlag,
    ProblemReason,
    ReviewerVerdict,
    ReviewItem,
    Verdict,
    VerdictChange,
)
from annotate.prediction_import import import_predictions
from evaluation.scores import load_inputs
from evaluation.scoring import score
from interchange import formats
from interchange.votes import import_votes
from tests.conftest import jpeg_bytes, make_user, shared_data
from tests.test_prediction_blocks import assert_blocks_hold_the_predictions
from tests.wnids import GOLDFISH, GREAT_WHITE, TENCH

CLASSES = taxonomy.class_wnids()


def folder(root, files):
    for index, (name, wnid) in enumerate(files.items()):
        (root / wnid).mkdir(parents=True, exist_ok=True)
        (root / wnid / name).write_bytes(jpeg_bytes((index * 7 % 256, index * 13 % 256, 90)))
    return root


def predictions_csv(tmp_path, name, top1):
    path = tmp_path / f"{name}.csv"
    path.write_text("filename,top1\n" + "".join(f"{file},{wnid}\n" for file, wnid in top1.items()))
    return path


def multilabel_accuracy(dataset_name, model):
    """(value, n) of the model's image-averaged multi-label accuracy on all images of the dataset."""
    rows = score(load_inputs([dataset_name]), metrics=("multilabel",))
    [row] = [
        row
        for row in rows
        if row["predictor"] == model
        and row["split"] == "all"
        and row["averaging"] == "image"
        and row["subset"] == "all"
    ]
    return row["value"], row["n"]


def real_accuracy(lists, predicted):
    """ReaL accuracy as its authors define it, written out plainly: over the images whose list is not empty, the
    share whose top-1 prediction is in the list."""
    hits = [prediction in labels for labels, prediction in zip(lists, predicted, strict=True) if labels]
    return sum(hits) / len(hits), len(hits)


@pytest.fixture
def real_world(db, tmp_path):
    """Six images, a model's predictions on them and a ReaL file: two images with no valid label."""
    files = {
        f"{index}.JPEG": wnid for index, wnid in enumerate([TENCH, TENCH, GOLDFISH, GOLDFISH, GREAT_WHITE, GREAT_WHITE])
    }
    import_image_folder(dataset_name="val", directory=folder(tmp_path / "val", files))
    top1 = dict(zip(files, [TENCH, GOLDFISH, GOLDFISH, TENCH, GREAT_WHITE, TENCH], strict=True))
    import_predictions(model_name="m1", dataset_name="val", path=predictions_csv(tmp_path, "m1", top1))
    lists = [[TENCH], [TENCH, GOLDFISH], [], [TENCH], [], [GREAT_WHITE]]
    document = [sorted(CLASSES.index(wnid) for wnid in labels) for labels in lists]
    return {"files": files, "top1": top1, "lists": lists, "text": json.dumps(document)}


def test_a_real_file_gives_every_model_its_real_accuracy(real_world, tmp_path):
    """Finding 1: images with an empty list counted as misses (n = every image)."""
    dataset = Dataset.objects.get(name="val")
    formats.load(dataset=dataset, fmt="real", text=real_world["text"], source="real.json", reviewer="real")
    expected = real_accuracy(real_world["lists"], list(real_world["top1"].values()))
    assert multilabel_accuracy("val", "m1") == pytest.approx(expected)
    # A model added after the ReaL file: a class the list leaves out is no valid label, not an unknown one.
    late = dict(zip(real_world["files"], [GOLDFISH, GREAT_WHITE, TENCH, TENCH, TENCH, GREAT_WHITE], strict=True))
    import_predictions(model_name="m2", dataset_name="val", path=predictions_csv(tmp_path, "m2", late))
    assert multilabel_accuracy("val", "m2") == pytest.approx(real_accuracy(real_world["lists"], list(late.values())))
    flags = ProblematicFlag.objects.filter(image__dataset=dataset)
    assert sorted(flags.values_list("image__file_name", flat=True)) == ["2.JPEG", "4.JPEG"]
    assert set(flags.values_list("reason", flat=True)) == {ProblemReason.NO_VALID_LABEL}
    # A problematic image exports as an empty list: the file comes back as it went in.
    assert json.loads("".join(formats.export(dataset, "real"))) == json.loads(real_world["text"])


def test_real_accuracy_on_a_real_file_built_from_the_rater_votes(db, tmp_path):
    """The ReaL raters' votes (5 per question) made into a ReaL file: a class is valid where most of its raters said
    yes; images are the first 2,000 the raters covered, predictions those of the real model."""
    raters = np.load(shared_data("real-raters/raters.npz"))
    paths = json.loads(shared_data("val-predictions/index_to_filepath.json").read_text())
    predicted = np.load(shared_data("val-predictions/cv_predicted_labels.npy"))
    tensor, info = raters["tensor"], raters["info"]
    yes, answered = tensor[:, :, 2].sum(axis=0), tensor.sum(axis=(0, 2))
    names = sorted(set(info[:, 0]))[:2000]
    chosen = set(names)
    valid = {name: [] for name in names}
    for (name, class_index), yes_votes, votes in zip(info, yes, answered, strict=True):
        if name in chosen and votes and yes_votes * 2 > votes:
            valid[name].append(int(class_index))
    by_name = {path.rsplit("/", 1)[1]: (path.split("/")[1], int(predicted[i])) for i, path in enumerate(paths)}
    manifest = tmp_path / "val.csv"
    manifest.write_text("".join(f"{name},{by_name[name][0]}\n" for name in names))
    call_command("import_images", "--manifest", str(manifest), "--dataset", "val", verbosity=0)
    top1 = {name: CLASSES[by_name[name][1]] for name in names}
    import_predictions(model_name="cv", dataset_name="val", path=predictions_csv(tmp_path, "cv", top1))
    # The file lists images in file-name order, as ReaL does.
    text = json.dumps([sorted(valid[name]) for name in names])
    formats.load(dataset=Dataset.objects.get(name="val"), fmt="real", text=text, source="real", reviewer="real")
    lists = [[CLASSES[index] for index in valid[name]] for name in names]
    expected = real_accuracy(lists, [top1[name] for name in names])
    assert multilabel_accuracy("val", "cv") == pytest.approx(expected)
    assert expected[1] < len(names)  # the raters found images with no valid label among these


@pytest.fixture
def reviewed(db, tmp_path):
    """`val` with four images and a model; the reviewer said unclear, don't know and correct on three items."""
    files = {f"{index}.JPEG": TENCH for index in range(4)}
    import_image_folder(dataset_name="val", directory=folder(tmp_path / "val", files))
    top1 = dict.fromkeys(files, GOLDFISH)
    import_predictions(model_name="m1", dataset_name="val", path=predictions_csv(tmp_path, "m1", top1))
    rita, admin = make_user("rita", roles.REVIEWER), make_user("ada", roles.ADMIN)
    for name, value in (("0.JPEG", Verdict.UNCLEAR), ("1.JPEG", Verdict.DONT_KNOW), ("2.JPEG", Verdict.CORRECT)):
        item = ReviewItem.objects.get(image__file_name=name, wnid=GOLDFISH)
        services.set_verdict(item_id=item.pk, reviewer=rita, value=value)
    services.set_problematic(image_id=Image.objects.get(file_name="3.JPEG").pk, reviewer=rita, reason="drawing")
    return {"rita": rita, "admin": admin, "dataset": Dataset.objects.get(name="val")}


def labels(dataset):
    return dict(ReviewItem.objects.filter(dataset=dataset, wnid=GOLDFISH).values_list("image__file_name", "verdict"))


def test_an_import_keeps_the_verdicts_given_unless_asked_to_overwrite(reviewed):
    """Finding 3: the demo's own ReaL export, imported back, turned unclear and don't-know items into wrong."""
    dataset = reviewed["dataset"]
    before, history = labels(dataset), VerdictChange.objects.count()
    text = "".join(formats.export(dataset, "real"))
    preview = formats.load(dataset=dataset, fmt="real", text=text, source="r.json", reviewer="ada", dry_run=True)
    assert preview["dry_run"] and preview["batch"] is None
    assert preview["kept"] == {"unclear → wrong": 1, "dont_know → wrong": 1}
    # Every original label (unreviewed) and image 3's candidate become wrong; image 2's candidate gets ada's vote.
    assert preview["changes"] == {"unreviewed → wrong": 5, "unreviewed → correct": 1}
    # Images 0 and 1 exported empty lists (nothing valid yet): they come back with no valid label; 3 keeps its flag.
    assert (preview["images_flagged"], preview["flags_kept"], preview["items_created"]) == (2, 1, 0)
    assert labels(dataset) == before and VerdictChange.objects.count() == history
    assert not ImportBatch.objects.filter(kind="real").exists()

    done = formats.load(dataset=dataset, fmt="real", text=text, source="r.json", reviewer="ada")
    assert {key: done[key] for key in ("kept", "changes")} == {key: preview[key] for key in ("kept", "changes")}
    assert labels(dataset) == {"0.JPEG": "unclear", "1.JPEG": "dont_know", "2.JPEG": "correct", "3.JPEG": "wrong"}
    assert ProblematicFlag.objects.get(image__file_name="3.JPEG").reason == "drawing"
    forced = formats.load(dataset=dataset, fmt="real", text=text, source="r.json", reviewer="ada", overwrite=True)
    assert forced["changes"] == {"unclear → wrong": 1, "dont_know → wrong": 1}
    assert labels(dataset) == {"0.JPEG": "wrong", "1.JPEG": "wrong", "2.JPEG": "correct", "3.JPEG": "wrong"}


def test_an_import_is_undone_in_one_step_and_the_history_keeps_both(reviewed, tmp_path):
    dataset = reviewed["dataset"]
    before = labels(dataset)
    verdicts = set(ReviewerVerdict.objects.values_list("item_id", "reviewer_id", "value"))
    tfds = {
        "initial_annots": {"0.JPEG": {"correct": [GREAT_WHITE]}, "2.JPEG": {"wrong": [GOLDFISH]}},
        "problematic_images": {"1.JPEG": {"reason": "inappropriate", "time_marked": "2024-01-01T00:00:00"}},
    }
    summary = formats.load(
        dataset=dataset, fmt="tfds", text=json.dumps(tfds), source="t.json", reviewer="ada", overwrite=True
    )
    assert summary["items_created"] == 1 and summary["images_flagged"] == 1 and labels(dataset)["2.JPEG"] == "wrong"
    # The importing account changes one of the import's verdicts meanwhile: the undo leaves that one alone.
    shark = ReviewItem.objects.get(image__file_name="0.JPEG", wnid=GREAT_WHITE)
    services.set_verdict(item_id=shark.pk, reviewer=reviewed["admin"], value=Verdict.WRONG)
    out = io.StringIO()
    call_command("undo_import", str(summary["batch"]), stdout=out)
    assert "1 verdicts restored, 1 changed since and kept, 1 images unflagged" in out.getvalue()
    assert labels(dataset) == before
    assert ReviewItem.objects.get(pk=shark.pk).verdict == Verdict.WRONG
    assert not ProblematicFlag.objects.filter(image__file_name="1.JPEG").exists()
    assert set(ReviewerVerdict.objects.exclude(item=shark).values_list("item_id", "reviewer_id", "value")) == verdicts
    undo = ImportBatch.objects.get(undoes_id=summary["batch"])
    assert VerdictChange.objects.filter(batch=undo).count() == 1 and FlagChange.objects.filter(batch=undo).count() == 1
    with pytest.raises(Exception, match="undone already"):
        undo_import(batch_id=summary["batch"])


def test_a_predictions_import_is_previewed_and_undone_with_what_it_replaced(reviewed, tmp_path):
    dataset = reviewed["dataset"]
    path = predictions_csv(tmp_path, "m1b", {f"{index}.JPEG": GREAT_WHITE for index in range(4)})
    preview = import_predictions(model_name="m1", dataset_name="val", path=path, replace=True, dry_run=True)
    assert preview["predictions_replaced"] == 4 and preview["new_review_items"] == 4
    assert set(Prediction.objects.values_list("top1_wnid", flat=True)) == {GOLDFISH}
    done = import_predictions(model_name="m1", dataset_name="val", path=path, replace=True)
    fresh = import_predictions(model_name="m9", dataset_name="val", path=path)
    assert set(Prediction.objects.filter(model__name="m1").values_list("top1_wnid", flat=True)) == {GREAT_WHITE}
    undo_import(batch_id=done["batch"])
    undo_import(batch_id=fresh["batch"])
    assert set(Prediction.objects.values_list("top1_wnid", flat=True)) == {GOLDFISH}
    assert not ReviewItem.objects.filter(dataset=dataset, wnid=GREAT_WHITE).exists()
    assert not ClassifierModel.objects.filter(name="m9").exists()


def test_predictions_undone_before_the_import_that_replaced_them_stay_undone(reviewed, tmp_path):
    first = predictions_csv(tmp_path, "first", {f"{index}.JPEG": GOLDFISH for index in range(4)})
    second = predictions_csv(tmp_path, "second", {f"{index}.JPEG": GREAT_WHITE for index in range(4)})
    stored = import_predictions(model_name="m5", dataset_name="val", path=first)
    replacing = import_predictions(model_name="m5", dataset_name="val", path=second, replace=True)
    undo_import(batch_id=stored["batch"])
    assert set(Prediction.objects.filter(model__name="m5").values_list("top1_wnid", flat=True)) == {GREAT_WHITE}
    summary = undo_import(batch_id=replacing["batch"])
    assert (summary["predictions_restored"], summary["predictions_left_undone"]) == (0, 4)
    assert not Prediction.objects.filter(model__name="m5").exists()
    assert_blocks_hold_the_predictions()


def test_imports_are_listed_previewed_and_undone_over_the_api(reviewed, tmp_path):
    admin = Client()
    admin.force_login(reviewed["admin"])
    text = "".join(formats.export(reviewed["dataset"], "real"))

    def upload(**fields):
        file = io.BytesIO(text.encode())
        file.name = "real.json"
        return admin.post("/api/datasets/val/multilabel/", {"file": file, "format": "real", **fields})

    preview = upload(dry_run="true")
    assert preview.status_code == 200 and preview.json()["kept"] == {"unclear → wrong": 1, "dont_know → wrong": 1}
    done = upload()
    assert done.status_code == 201 and done.json()["batch"]
    listed = admin.get("/api/datasets/val/imports/").json()
    assert [entry["kind"] for entry in listed][:2] == ["real", "predictions"] and listed[0]["undone_by"] is None
    undone = admin.post(f"/api/imports/{done.json()['batch']}/undo/")
    assert undone.status_code == 201 and undone.json()["undoes"] == done.json()["batch"]
    assert admin.post(f"/api/imports/{done.json()['batch']}/undo/").status_code == 409
    assert admin.post("/api/imports/999999/undo/").status_code == 404
    assert admin.get("/api/datasets/val/imports/").json()[1]["undone_by"] == undone.json()["id"]


def test_a_votes_import_is_previewed_keeps_earlier_votes_and_is_undone(db, tmp_path):
    names = ["a.JPEG", "b.JPEG"]
    import_image_folder(dataset_name="crowd", directory=folder(tmp_path / "crowd", dict.fromkeys(names, TENCH)))
    tensor = np.zeros((2, 3, 3))
    tensor[0, 0, 2] = tensor[1, 0, 0] = tensor[0, 1, 1] = tensor[1, 2, 2] = 1
    info = np.array([["a.JPEG", "0"], ["a.JPEG", "1"], ["b.JPEG", "0"]])
    path = tmp_path / "raters.npz"
    np.savez(path, tensor=tensor, info=info, ids=np.array([7, 8]))
    preview = import_votes(dataset_name="crowd", path=path, overlap=2, dry_run=True)
    assert preview["verdicts_added"] == 4 and not ReviewerVerdict.objects.exists()
    first = import_votes(dataset_name="crowd", path=path, overlap=2)
    tensor[0, 0] = (1, 0, 0)
    np.savez(path, tensor=tensor, info=info, ids=np.array([7, 8]))
    again = import_votes(dataset_name="crowd", path=path, overlap=2)
    assert again["verdicts_kept"] == 1 and again["verdicts_added"] == 0
    undo_import(batch_id=again["batch"])
    undo_import(batch_id=first["batch"])
    assert not ReviewerVerdict.objects.exists()
    assert Dataset.objects.get(name="crowd").consensus_policy.rule == "single"


def test_undoing_an_import_removes_the_review_items_it_made(reviewed):
    """The outside probe: the item a TFDS file made stayed after its undo (still labelled when the undo looked),
    and the next undo removed it and counted it as its own."""
    dataset = reviewed["dataset"]
    text = json.dumps({"initial_annots": {"1.JPEG": {"correct": [GREAT_WHITE]}}})
    summary = formats.load(dataset=dataset, fmt="tfds", text=text, source="t.json", reviewer="ada")
    assert summary["items_created"] == 1
    pending = dict(Image.objects.filter(dataset=dataset).values_list("file_name", "pending_items"))
    undone = undo_import(batch_id=summary["batch"])
    assert undone["items_removed"] == 1
    assert not ReviewItem.objects.filter(dataset=dataset, wnid=GREAT_WHITE).exists()
    assert dict(Image.objects.filter(dataset=dataset).values_list("file_name", "pending_items")) == pending


def test_undoing_an_overwriting_import_gives_an_image_its_earlier_flag_back(reviewed):
    dataset = reviewed["dataset"]
    flag = {"reason": "inappropriate", "time_marked": "2030-01-01T00:00:00"}
    text = json.dumps({"problematic_images": {"3.JPEG": flag}})
    summary = formats.load(dataset=dataset, fmt="tfds", text=text, source="t.json", reviewer="ada", overwrite=True)
    assert ProblematicFlag.objects.get(image__file_name="3.JPEG").reason == "inappropriate"
    undone = undo_import(batch_id=summary["batch"])
    assert (undone["images_reflagged"], undone["images_unflagged"]) == (1, 0)
    restored = ProblematicFlag.objects.get(image__file_name="3.JPEG")
    assert (restored.reason, restored.reviewer) == ("drawing", reviewed["rita"])
