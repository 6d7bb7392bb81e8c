import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from annotate import services
from annotate.errors import ImportFailed
from annotate.image_import import import_image_folder
from annotate.models import (
    Dataset,
    Image,
    ProblematicFlag,
    ProblemReason,
    ReviewerVerdict,
    ReviewItem,
    Slice,
    VerdictChange,
)
from interchange import formats
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, TENCH

pytestmark = pytest.mark.django_db


def import_tfds(dataset, document, reviewer="imported"):
    return formats.load(dataset=dataset, fmt="tfds", text=json.dumps(document), source="f.json", reviewer=reviewer)


@pytest.fixture
def reviewed(make_dataset, reviewer):
    dataset = make_dataset(name="val", predictions={"m": f"a.JPEG,{GOLDFISH}\nb.JPEG,{GREAT_WHITE}\nc.JPEG,{TENCH}\n"})
    verdicts = {
        ("a.JPEG", TENCH): "correct",
        ("a.JPEG", GOLDFISH): "correct",
        ("b.JPEG", TENCH): "unclear",
        ("b.JPEG", GREAT_WHITE): "wrong",
        ("c.JPEG", CHIHUAHUA): "dont_know",
    }
    for (name, wnid), value in verdicts.items():
        target = ReviewItem.objects.get(image__file_name=name, wnid=wnid)
        services.set_verdict(item_id=target.pk, reviewer=reviewer, value=value)
    services.set_problematic(image_id=Image.objects.get(file_name="c.JPEG").pk, reviewer=reviewer, reason="drawing")
    m_slice = Slice.objects.create(dataset=dataset, name="imagenet-m")
    m_slice.images.add(Image.objects.get(file_name="b.JPEG"))
    return dataset


def test_export_has_the_tfds_shape(reviewed):
    document = formats.export_tfds(reviewed)
    flag = ProblematicFlag.objects.get()
    assert document == {
        "initial_annots": {
            "a.JPEG": {"correct": [TENCH, GOLDFISH]},
            "b.JPEG": {"unclear": [TENCH], "wrong": [GREAT_WHITE]},
        },
        "problematic_images": {
            "c.JPEG": {
                "reason": "drawing",
                "reviewer": "rita",
                "time_marked": flag.time_marked.isoformat(),
                "time_reviewed": flag.time_reviewed.isoformat(),
            }
        },
        "imagenet_m": ["b.JPEG"],
    }


def test_empty_dataset_exports_an_empty_object(image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    assert formats.export_tfds(Dataset.objects.get()) == {}


def test_export_import_into_empty_database_export_again_is_identical(reviewed, tmp_path, django_db_blocker):
    out = tmp_path / "export.json"
    call_command("export_multilabel", "--dataset", "val", "--format", "tfds", "--out", str(out))
    first = out.read_text()

    manifest = tmp_path / "manifest.csv"
    manifest.write_text("".join(f"{i.file_name},{i.original_wnid}\n" for i in Image.objects.order_by("position")))
    for model in (VerdictChange, ProblematicFlag, Dataset):
        model.objects.all().delete()
    call_command("import_images", "--manifest", str(manifest), "--dataset", "val")
    call_command("import_multilabel", str(out), "--format", "tfds", "--dataset", "val")
    call_command("export_multilabel", "--dataset", "val", "--out", str(tmp_path / "again.json"))

    assert (tmp_path / "again.json").read_text() == first
    imported = ReviewItem.objects.get(image__file_name="a.JPEG", wnid=GOLDFISH)
    assert imported.verdict_by.username == "imported"
    assert ProblematicFlag.objects.get().reviewer.username == "rita"


def test_import_is_all_or_nothing_and_names_the_problem(reviewed, tmp_path):
    document = {"initial_annots": {"a.JPEG": {"correct": [GREAT_WHITE]}, "zzz.JPEG": {"correct": [TENCH]}}}
    with pytest.raises(ImportFailed, match=r"initial_annots\['zzz.JPEG'\]: no image named 'zzz.JPEG'"):
        import_tfds(reviewed, document)
    assert not ReviewItem.objects.filter(wnid=GREAT_WHITE, image__file_name="a.JPEG").exists()

    bad_wnid = {"initial_annots": {"a.JPEG": {"correct": ["n123"]}}}
    with pytest.raises(ImportFailed, match=r"'n123' is not an ImageNet-1k wnid"):
        import_tfds(reviewed, bad_wnid)
    twice = {"initial_annots": {"a.JPEG": {"correct": [TENCH], "wrong": [TENCH]}}}
    with pytest.raises(ImportFailed, match=f"{TENCH} has more than one verdict"):
        import_tfds(reviewed, twice)
    bad_reason = {"problematic_images": {"a.JPEG": {"reason": ["ugly"], "time_marked": "2020-01-01T00:00:00"}}}
    with pytest.raises(ImportFailed, match=r"problematic_images\['a.JPEG'\].reason: \['ugly'\] is not text"):
        import_tfds(reviewed, bad_reason)
    with pytest.raises(ImportFailed, match=r"problematic_images\['a.JPEG'\]: expected an object with reason, "):
        import_tfds(reviewed, {"problematic_images": {"a.JPEG": "drawing"}})
    bad_time = {"problematic_images": {"a.JPEG": {"reason": "drawing", "time_marked": "yesterday"}}}
    with pytest.raises(ImportFailed, match=r"time_marked: 'yesterday' is not an ISO-8601 time"):
        import_tfds(reviewed, bad_time)
    with pytest.raises(ImportFailed, match="f.json: not valid JSON"):
        formats.load(dataset=reviewed, fmt="tfds", text="{", source="f.json", reviewer="imported")
    assert not VerdictChange.objects.filter(reviewer__username="imported").exists()


def test_import_into_missing_dataset_says_what_to_do(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(CommandError, match="register its images first"):
        call_command("import_multilabel", str(path), "--dataset", "nope")


def test_export_api_is_for_admins_only(client, reviewed, admin_user, reviewer):
    client.force_login(reviewer)
    assert client.get("/api/datasets/val/export/").status_code == 403
    client.force_login(admin_user)
    response = client.get("/api/datasets/val/export/", {"format": "tfds"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="val-multilabel-tfds.json"'
    assert json.loads(b"".join(response.streaming_content)) == formats.export_tfds(reviewed)
    assert client.get("/api/datasets/val/export/", {"format": "xml"}).status_code == 400


def test_import_api_round_trips(client, reviewed, admin_user, tmp_path):
    document = formats.export_tfds(reviewed)
    ReviewItem.objects.update(verdict="unreviewed")
    client.force_login(admin_user)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    with path.open("rb") as handle:
        response = client.post("/api/datasets/val/multilabel/", {"file": handle})
    assert response.status_code == 201, response.content
    summary = response.json()
    assert (summary["format"], summary["verdicts"], summary["problematic_images"]) == ("tfds", 4, 1)
    assert summary["slices"] == {"imagenet-m": 1}
    assert formats.export_tfds(reviewed)["initial_annots"] == document["initial_annots"]
    # The labels of the file are the verdicts of the admin who imported it.
    assert ReviewerVerdict.objects.filter(reviewer=admin_user).count() == 4


def test_reviewer_names_in_file_become_accounts_without_passwords(reviewed):
    document = {
        "problematic_images": {
            "a.JPEG": {
                "reason": "other",
                "reviewer": "vaishaal",
                "time_marked": "2020-02-01T10:00:00+00:00",
                "time_reviewed": "2020-02-02T10:00:00+00:00",
            }
        }
    }
    import_tfds(reviewed, document)
    user = User.objects.get(username="vaishaal")
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["reviewer"]


MARKED = "2020-02-01T10:00:00+00:00"


@pytest.mark.parametrize(
    ("written", "reason", "note"),
    [
        ("Drawing, painting, sketch, cartoon or render", "drawing", ""),
        ("drawing, painting, sketch, cartoon, or render", "drawing", ""),
        ("Original label wrong or unclear", "label_wrong_or_unclear", ""),
        ("label_wrong_or_unclear", "label_wrong_or_unclear", ""),
        ("Original label wrong", "label_wrong_or_unclear", ""),
        ("excessively edited", "excessively_edited", ""),
        ("EXCESSIVELY-EDITED", "excessively_edited", ""),
        ("Inappropriate", "inappropriate", ""),
        ("other", "other", ""),
        (" a watermark over the whole image ", "other", "a watermark over the whole image"),
        (None, "other", ""),
    ],
)
def test_tfds_reasons_are_read_in_words_and_other_text_is_kept_as_a_note(reviewed, written, reason, note):
    flag = {"time_marked": MARKED} if written is None else {"reason": written, "time_marked": MARKED}
    import_tfds(reviewed, {"problematic_images": {"a.JPEG": flag}})
    assert ProblematicFlag.objects.filter(image__file_name="a.JPEG").values_list("reason", "note").get() == (
        reason,
        note,
    )


def worded_tfds_file():
    """A TFDS file as another tool writes it: reasons in words, keys that the TFDS builder does not read."""
    return {
        "initial_annots": {"a.JPEG": {"correct": [TENCH]}},
        "problematic_images": {
            "b.JPEG": {"reason": "Drawing, painting, sketch, cartoon or render", "time_marked": MARKED, "tool": "x"},
            "a.JPEG": {"reason": "blurry", "time_marked": MARKED, "tool": "x", "comment": "very"},
        },
        "version": 2,
    }


def test_tfds_unknown_keys_are_ignored_with_warnings(reviewed):
    summary = import_tfds(reviewed, worded_tfds_file())
    assert summary["warnings"] == [
        "f.json: ignored the keys 'version', which TFDS does not read",
        "f.json: problematic_images: ignored unknown keys, with how many images have each: 'tool' (2), 'comment' (1)",
        "f.json: problematic_images: 1 reasons matched none of ours (" + ", ".join(ProblemReason.values) + ") and "
        "were kept as reason other with their text as the note: 'blurry' (1)",
    ]
    flags = {name: flag for name, *flag in ProblematicFlag.objects.values_list("image__file_name", "reason", "note")}
    assert flags == {"a.JPEG": ["other", "blurry"], "b.JPEG": ["drawing", ""], "c.JPEG": ["drawing", ""]}
    assert ReviewItem.objects.get(image__file_name="a.JPEG", wnid=TENCH).verdict == "correct"
    # The export writes what it wrote before: our reasons, no note.
    assert formats.export_tfds(reviewed)["problematic_images"]["a.JPEG"]["reason"] == "other"
    assert import_tfds(reviewed, formats.export_tfds(reviewed))["warnings"] == []


def test_the_cli_and_the_api_show_the_warnings(reviewed, tmp_path, client, admin_user):
    path = tmp_path / "worded.json"
    path.write_text(json.dumps(worded_tfds_file()))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_multilabel", str(path), "--dataset", "val", stdout=out, stderr=err)
    assert err.getvalue().splitlines()[0] == f"warning: {path}: ignored the keys 'version', which TFDS does not read"
    assert len(err.getvalue().splitlines()) == 3
    client.force_login(admin_user)
    with path.open("rb") as handle:
        response = client.post("/api/datasets/val/multilabel/", {"file": handle})
    assert response.status_code == 201, response.content
    assert response.json()["warnings"][0] == "worded.json: ignored the keys 'version', which TFDS does not read"
