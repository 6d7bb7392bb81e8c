import io
import json

import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage

from annotate.errors import ImportFailed
from annotate.image_import import import_image_folder, register_manifest
from annotate.models import Image, ReviewItem
from tests.conftest import jpeg_bytes, shared_data

pytestmark = pytest.mark.django_db


def test_folder_of_class_folders_imports_files_labels_and_original_items(image_folder):
    report = import_image_folder(dataset_name="val", directory=image_folder())

    assert (report.added, report.skipped, report.failed) == (3, 0, [])
    images = {i.file_name: i for i in Image.objects.filter(dataset__name="val")}
    assert {name: i.original_wnid for name, i in images.items()} == {
        "a.JPEG": "n01440764",
        "b.JPEG": "n01440764",
        "c.JPEG": "n02085620",
    }
    a = images["a.JPEG"]
    assert (a.width, a.height, a.size_bytes) == (64, 48, len(a.file.read()))
    assert len(a.sha256) == 64 and a.sha256 in a.file.name
    assert "a.JPEG" not in a.file.name
    assert [i.position for i in sorted(images.values(), key=lambda i: i.file_name)] == [0, 1, 2]
    items = ReviewItem.objects.filter(image=a)
    assert [(i.wnid, i.is_original, i.verdict) for i in items] == [("n01440764", True, "unreviewed")]
    assert a.pending_items == 1


def test_rerunning_skips_what_is_already_there(image_folder):
    folder = image_folder()
    import_image_folder(dataset_name="val", directory=folder)
    report = import_image_folder(dataset_name="val", directory=folder)
    assert (report.added, report.skipped) == (0, 3)
    assert Image.objects.count() == 3
    assert ReviewItem.objects.count() == 3


def test_bad_files_are_reported_with_their_path_and_skipped(image_folder, tmp_path):
    folder = image_folder()
    good = jpeg_bytes()
    (folder / "n01440764" / "truncated.JPEG").write_bytes(good[: len(good) // 2])
    (folder / "n01440764" / "notes.txt").write_text("not an image")
    (folder / "n01440764" / "empty.JPEG").write_bytes(b"")
    (folder / "n09999999").mkdir()
    (folder / "n09999999" / "unknown.JPEG").write_bytes(good)

    report = import_image_folder(dataset_name="val", directory=folder)

    failed = dict(report.failed)
    assert report.added == 3
    assert set(failed) == {
        str(folder / "n01440764" / "truncated.JPEG"),
        str(folder / "n01440764" / "notes.txt"),
        str(folder / "n01440764" / "empty.JPEG"),
        str(folder / "n09999999" / "unknown.JPEG"),
    }
    assert "truncated" in failed[str(folder / "n01440764" / "truncated.JPEG")]
    assert "unknown wnid n09999999" in failed[str(folder / "n09999999" / "unknown.JPEG")]
    assert not Image.objects.filter(file_name__in=["truncated.JPEG", "notes.txt", "empty.JPEG", "unknown.JPEG"])


def test_decompression_bomb_is_refused(image_folder, settings):
    settings.MAX_IMAGE_PIXELS = 64 * 48 - 1
    report = import_image_folder(dataset_name="val", directory=image_folder())
    assert report.added == 0
    assert all("over the limit" in error for _, error in report.failed)


def test_flat_folder_with_labels_file(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    (folder / "x.png").write_bytes(_png())
    (folder / "y.jpg").write_bytes(jpeg_bytes())
    (folder / "unlabelled.jpg").write_bytes(jpeg_bytes())
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,wnid\nx.png,n01440764\ny.jpg,7\n")

    report = import_image_folder(dataset_name="flat", directory=folder, labels_file=labels)

    assert report.added == 2
    assert dict(Image.objects.values_list("file_name", "original_wnid")) == {"x.png": "n01440764", "y.jpg": "n01514668"}
    assert report.failed == [
        (str(folder / "unlabelled.jpg"), "no label: not under a wnid folder, not in the labels file")
    ]


def test_labels_file_with_unknown_wnid_names_its_line(tmp_path):
    (tmp_path / "flat").mkdir()
    labels = tmp_path / "labels.csv"
    labels.write_text("x.png,n01440764\ny.png,n00000001\n")
    with pytest.raises(ImportFailed, match=r"labels.csv:2: 'n00000001' is not the wnid"):
        import_image_folder(dataset_name="flat", directory=tmp_path / "flat", labels_file=labels)


def test_manifest_registers_unavailable_images_until_their_files_arrive(tmp_path, image_folder):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("a.JPEG,n01440764,s3://bucket/a.JPEG\nlater.JPEG,n02085620\n")
    assert register_manifest(dataset_name="val", manifest_file=manifest).added == 2
    a = Image.objects.get(file_name="a.JPEG")
    assert not a.available and a.source_uri == "s3://bucket/a.JPEG"

    report = import_image_folder(dataset_name="val", directory=image_folder())

    assert (report.added, report.attached) == (2, 1)
    a.refresh_from_db()
    assert a.available and a.position == 0
    assert not Image.objects.get(file_name="later.JPEG").available
    assert ReviewItem.objects.filter(image=a).count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a.JPEG,n01440764\na.JPEG,n01440764\n", r"manifest.csv:2: a.JPEG is listed twice"),
        ("a.JPEG\n", r"manifest.csv:1: expected 'filename,wnid\[,uri\]'"),
        ("../etc/passwd,n01440764\n", r"manifest.csv:1: file name '../etc/passwd' must be a bare file name"),
        ("a.JPEG,1000\n", r"manifest.csv:1: class index 1000 is out of range"),
    ],
)
def test_bad_manifest_names_the_line_and_writes_nothing(tmp_path, content, message):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("filename,wnid\nok.JPEG,n01440764\n" + content)
    message = message.replace(":1:", ":3:").replace(":2:", ":4:")
    with pytest.raises(ImportFailed, match=message):
        register_manifest(dataset_name="val", manifest_file=manifest)
    assert Image.objects.count() == 0


def test_command_reports_failures_and_counts(image_folder, capsys):
    folder = image_folder()
    (folder / "n01440764" / "bad.JPEG").write_bytes(b"garbage")
    call_command("import_images", str(folder), "--dataset", "val", verbosity=0)
    out, err = capsys.readouterr()
    assert "val: 3 added, 0 files attached, 0 already there, 1 failed" in out
    assert f"skipped {folder / 'n01440764' / 'bad.JPEG'}: not an image: its content is none of the formats" in err


def test_command_needs_exactly_one_source():
    with pytest.raises(CommandError, match="either a DIR"):
        call_command("import_images", "--dataset", "val")


def test_command_refuses_bad_dataset_name(image_folder):
    with pytest.raises(CommandError, match="dataset name 'no/slash'"):
        call_command("import_images", str(image_folder()), "--dataset", "no/slash", verbosity=0)


def test_dataset_status_json_after_import(image_folder, capsys):
    import_image_folder(dataset_name="val", directory=image_folder())
    call_command("dataset_status", "val", "--json")
    status = json.loads(capsys.readouterr().out)
    assert status["images"] == 3 and status["images_with_files"] == 3
    assert status["review_items"] == 3 and status["reviewed_items"] == 0 and status["unreviewed_items"] == 3
    assert status["models"] == 0 and status["problematic_images"] == 0


def test_real_imagenet_samples_import():
    folder = shared_data("imagenet-samples")
    report = import_image_folder(dataset_name="samples", directory=folder)
    assert report.failed == []
    assert report.added == 1000
    assert Image.objects.filter(dataset__name="samples").values("original_wnid").distinct().count() == 1000


def _png():
    out = io.BytesIO()
    PILImage.new("RGBA", (20, 10), (0, 0, 255, 128)).save(out, "PNG")
    return out.getvalue()
