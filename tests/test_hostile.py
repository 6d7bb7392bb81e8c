"""The hostile-input corpus of tests/hostile/: every input gets a clear message and nothing is half-written.

tests/hostile/cases.json lists the cases. `via` says how the input goes in: a management command
(import_images, import_images_labels, manifest, import_predictions, import_multilabel) or an HTTP request
(manifest_api, guide_attachment, http). `expect` is a part of the message it must get, `status` the HTTP
status. `file` is a file of the corpus; `generate` names one of the GENERATORS below, for inputs too big
or too odd to commit; `xfail` says why a case still fails. Unless a case says `"writes": true`, no table
gains or loses a row and no file appears under MEDIA_ROOT.
"""

import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from accounts import roles
from annotate.image_import import import_image_folder
from labelguide.services import create_page
from tests.conftest import make_user

CORPUS = Path(__file__).parent / "hostile"
CASES = json.loads((CORPUS / "cases.json").read_text())
DATASET = "hostile"  # a, b (tench) and c (Chihuahua): what predictions and multi-label files refer to
NEW_DATASET = "hostile-new"  # what image imports and manifests name: it must not come into being

pytestmark = pytest.mark.django_db


# --- inputs made at run time ----------------------------------------------------------------------


def csv_100_mb_line(tmp_path):
    path = tmp_path / "long-line.csv"
    with path.open("w") as handle:
        handle.write("a.JPEG,")
        for _ in range(100):
            handle.write("n" * 1_000_000)
        handle.write("\n")
    return path


def latin1_csv(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("filename,wnid\ncafé.JPEG,n01440764\n".encode("latin-1"))
    return path


def empty(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    return path


def deep_json_list(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def deep_json_object(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"initial_annots": ' + '{"a": ' * 100_000 + "{}" + "}" * 100_001)
    return path


def npy_pickled_objects(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a.JPEG": 1}, None, "n01440764"], dtype=object), allow_pickle=True)
    return path


def npy_nan_scores(tmp_path):
    scores = np.zeros((3, 1000))
    scores[1, 7] = np.nan
    path = tmp_path / "nan.npy"
    np.save(path, scores)
    return path


def npy_wrong_shape(tmp_path):
    path = tmp_path / "shape.npy"
    np.save(path, np.zeros((3, 7), dtype=np.int64))
    return path


def npy_truncated(tmp_path):
    path = tmp_path / "truncated.npy"
    np.save(path, np.zeros((3, 1000)))
    path.write_bytes(path.read_bytes()[:500])
    return path


def json_body_3_mb(tmp_path):
    return json.dumps({"body": "x" * 3 * 2**20}).encode(), "application/json"


def json_body_deep(tmp_path):
    return ('{"body": ' + "[" * 50_000 + "]" * 50_000 + "}").encode(), "application/json"


def form_body_3_mb(tmp_path):
    return urlencode({"username": "x" * 3 * 2**20, "password": "x"}).encode(), "application/x-www-form-urlencoded"


def form_2000_fields(tmp_path):
    return urlencode({f"field{i}": "x" for i in range(2000)}).encode(), "application/x-www-form-urlencoded"


def multipart_upload_2_kb(tmp_path):
    upload = SimpleUploadedFile("m.csv", b"filename,wnid\n" + b"a.JPEG,n01440764\n" * 120, "text/csv")
    return encode_multipart(BOUNDARY, {"file": upload}), MULTIPART_CONTENT


GENERATORS = {
    function.__name__: function
    for function in (
        csv_100_mb_line,
        latin1_csv,
        empty,
        deep_json_list,
        deep_json_object,
        npy_pickled_objects,
        npy_nan_scores,
        npy_wrong_shape,
        npy_truncated,
        json_body_3_mb,
        json_body_deep,
        form_body_3_mb,
        form_2000_fields,
        multipart_upload_2_kb,
    )
}


# --- the world before and after ------------------------------------------------------------------


def snapshot():
    """Row counts of every table and the files under MEDIA_ROOT."""
    counts = {model._meta.label: model._base_manager.count() for model in apps.get_models()}
    media = Path(settings.MEDIA_ROOT)
    files = sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())
    return counts, files


@pytest.fixture
def world(image_folder):
    """The accounts, the dataset and the guide page that the cases act on, with a client per role."""
    people = {
        "admin": make_user("hostile-admin", roles.ADMIN),
        "editor": make_user("hostile-editor", roles.GUIDE_EDITOR),
        "reviewer": make_user("hostile-reviewer", roles.REVIEWER),
    }
    import_image_folder(dataset_name=DATASET, directory=image_folder())
    page = create_page(
        author=people["editor"], title="Tench vs goldfish", wnids=["n01440764", "n01443537"], body="Fins."
    )
    clients = {None: Client()}
    for role, user in people.items():
        clients[role] = Client()
        clients[role].force_login(user)
    return {"clients": clients, "page": page}


def case_input(case, tmp_path):
    """The path of the case's input file, generated where the case says so."""
    if "generate" in case:
        return GENERATORS[case["generate"]](tmp_path)
    return CORPUS / case["file"]


# --- how each input goes in ----------------------------------------------------------------------


def command_error(*args):
    with pytest.raises(CommandError) as failed:
        call_command(*args, verbosity=0)
    return str(failed.value)


def via_import_images(case, world, tmp_path, capsys):
    folder = tmp_path / "folder" / "n01440764"
    folder.mkdir(parents=True)
    target = folder / case.get("name", case.get("file", "input.jpg"))
    shutil.copyfile(case_input(case, tmp_path), target)
    call_command("import_images", str(folder.parent), "--dataset", NEW_DATASET, verbosity=0)
    out, err = capsys.readouterr()
    assert f"skipped {target}: " in err
    assert f"{NEW_DATASET}: 0 added, 0 files attached, 0 already there, 1 failed" in out
    return err


def via_import_images_labels(case, world, tmp_path, capsys):
    folder = tmp_path / "flat"
    folder.mkdir()
    shutil.copyfile(CORPUS / "valid.jpg", folder / "ok.JPEG")
    labels = case_input(case, tmp_path)
    return command_error("import_images", str(folder), "--labels", str(labels), "--dataset", NEW_DATASET)


def via_manifest(case, world, tmp_path, capsys):
    manifest = case_input(case, tmp_path)
    return command_error("import_images", "--manifest", str(manifest), "--dataset", NEW_DATASET)


def via_import_predictions(case, world, tmp_path, capsys):
    predictions = case_input(case, tmp_path)
    return command_error(
        "import_predictions", str(predictions), "--model", case.get("model", "m"), "--dataset", DATASET
    )


def via_import_multilabel(case, world, tmp_path, capsys):
    return command_error("import_multilabel", str(case_input(case, tmp_path)), "--dataset", DATASET)


def via_manifest_api(case, world, tmp_path, capsys):
    upload = SimpleUploadedFile("manifest.csv", case_input(case, tmp_path).read_bytes(), "text/csv")
    return world["clients"]["admin"].post(f"/api/datasets/{NEW_DATASET}/manifest/", {"file": upload})


def via_guide_attachment(case, world, tmp_path, capsys):
    upload = SimpleUploadedFile(case["name"], case_input(case, tmp_path).read_bytes(), "image/png")
    return world["clients"]["editor"].post(f"/api/guide/pages/{world['page'].slug}/attachments/", {"file": upload})


def via_http(case, world, tmp_path, capsys):
    client = world["clients"][case.get("user")]
    if case["method"] == "GET":
        query = f"?{urlencode(case['query'])}" if "query" in case else ""
        return client.get(case["path"] + query)
    if "generate" in case:
        body, content_type = GENERATORS[case["generate"]](tmp_path)
    else:
        data = case.get("json") or {key: (CORPUS / name).read_text() for key, name in case["json_from_file"].items()}
        body, content_type = json.dumps(data).encode(), "application/json"
    return client.generic(case["method"], case["path"], body, content_type=content_type)


def with_known_gaps(cases):
    """The cases, those with an `xfail` reason marked as known to fail until their fix lands."""
    return [
        pytest.param(case, marks=pytest.mark.xfail(reason=case["xfail"], strict=True)) if "xfail" in case else case
        for case in cases
    ]


@pytest.mark.parametrize("case", with_known_gaps(CASES), ids=[case["id"] for case in CASES])
def test_hostile_input(case, world, tmp_path, capsys, settings):
    for name, value in case.get("settings", {}).items():
        setattr(settings, name, value)
    before = snapshot()

    outcome = globals()[f"via_{case['via']}"](case, world, tmp_path, capsys)

    if isinstance(outcome, str):
        assert case["expect"] in outcome
    else:
        text = outcome.content.decode("utf-8", "replace")
        assert outcome.status_code == case["status"], text[:2000]
        assert case["expect"] in text
        for fragment in case.get("html_excludes", []):
            assert fragment not in outcome.json()["html"]
    if not case.get("writes"):
        assert snapshot() == before


def test_every_file_of_the_corpus_is_used():
    used = {case["file"] for case in CASES if "file" in case} | {"cases.json", "valid.jpg"}
    used |= {name for case in CASES for name in case.get("json_from_file", {}).values()}
    assert used == {path.name for path in CORPUS.iterdir()}
    assert all(case.get("generate", "empty") in GENERATORS for case in CASES)
    assert len({case["id"] for case in CASES}) == len(CASES)


def test_hostile_files_are_small():
    """The big inputs are generated at run time, never committed."""
    assert all(path.stat().st_size < 64 * 1024 for path in CORPUS.iterdir())


@pytest.mark.parametrize("case", [c for c in CASES if c["via"] == "import_images"], ids=lambda c: c["id"])
def test_a_hostile_file_does_not_stop_the_good_ones(case, image_folder, tmp_path, capsys):
    folder = image_folder()
    shutil.copyfile(case_input(case, tmp_path), folder / "n01440764" / case.get("name", "input.jpg"))
    report = import_image_folder(dataset_name=DATASET, directory=folder)
    assert (report.added, len(report.failed)) == (3, 1)
    assert case["expect"] in report.failed[0][1]
