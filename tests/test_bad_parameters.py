"""Bad query parameters, uploads and OPTIONS requests fail cleanly (issue 11): a 400 that names what was wrong and no
server path, never a server error."""

import io
import json
import tempfile

import numpy as np
import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import ClassifierModel, Prediction

HUGE = "9223372036854775808"  # 2**63: past PostgreSQL's bigint


@pytest.fixture
def api(admin_user):
    return Client(
        raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}"
    )


@pytest.mark.parametrize("url", ["/api/datasets/", "/api/models/", "/api/datasets/review-set/golden/"])
@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("limit", HUGE),
        ("limit", "-1"),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("limit", "1e3"),
        ("offset", HUGE),
        ("offset", "-1"),
        ("offset", "+1"),
        ("offset", "\u0661"),  # ARABIC-INDIC DIGIT ONE, which int() reads as 1
    ],
)
def test_pagination_refuses_what_it_cannot_use_naming_the_parameter(api, dataset, url, parameter, value):
    response = api.get(url, {parameter: value})
    assert response.status_code == 400, response.content
    assert parameter in response.json(), response.json()


def test_pagination_takes_limits_up_to_its_maximum(api, dataset):
    assert api.get("/api/models/", {"limit": 1000, "offset": 0}).status_code == 200
    page = api.get("/api/models/", {"limit": "1", "offset": " 1 "}).json()
    assert (page["count"], [model["name"] for model in page["results"]]) == (2, ["vit-sim"])
    assert api.get("/api/models/", {"offset": 2**31 - 1}).json()["results"] == []


NEXT = "/api/review/next/"


@pytest.mark.parametrize(
    ("url", "parameter", "value"),
    [
        ("/api/synsets/", "limit", "0"),
        ("/api/synsets/", "limit", "101"),
        ("/api/synsets/", "limit", HUGE),
        ("/api/datasets/review-set/adjudication/", "limit", "-5"),
        ("/api/datasets/review-set/adjudication/", "limit", "201"),
        ("/api/datasets/review-set/adjudication/", "after", HUGE),
        ("/api/datasets/review-set/adjudication/", "after", "x"),
        (NEXT, "after", "-1"),
        (NEXT, "after", HUGE),
        (NEXT, "keep", "1.5"),
        (NEXT, "keep", HUGE),
    ],
)
def test_integer_query_parameters_are_bounded(api, dataset, url, parameter, value):
    response = api.get(url, {"dataset": dataset.name, parameter: value})
    assert response.status_code == 400, response.content
    assert parameter in response.json(), response.json()


def test_a_query_parameter_repeated_beyond_reason_is_refused(api, dataset):
    response = api.get(NEXT, {"dataset": dataset.name, "keep": [str(n) for n in range(101)]})
    assert response.status_code == 400 and "keep" in response.json()


def upload(api, name, data, model="m1", **fields):
    file = io.BytesIO(data)
    file.name = name
    return api.post(f"/api/models/{model}/predictions/", {"file": file, "dataset": "review-set", **fields})


def npy(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def npz(array):
    out = io.BytesIO()
    np.savez(out, predictions=array)
    return out.getvalue()


def announcing(shape):
    """A .npy header for an array of `shape` with no data after it."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "<i8", "fortran_order": False, "shape": shape})
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "not a NumPy .npy file"),
        (b"\x93NUMPY", "not a NumPy .npy file"),
        (b"just some text", "not a NumPy .npy file"),
        (npz(np.zeros(3, dtype=np.int64)), "not a NumPy .npy file"),
        (announcing((10**12,)), "announces 8,000,000,000,000 bytes of data"),
        (announcing((-3,)), "not a NumPy .npy file"),
        (npy(np.array([{"a": 1}], dtype=object)), "Object arrays cannot be loaded"),
        (npy(np.zeros((2, 2), dtype=np.int64)), "expected one row per image"),
        (npy(np.array(5)), "expected one row per image"),
    ],
)
def test_a_bad_npy_upload_is_a_clear_400_that_names_the_upload(api, dataset, data, says):
    response = upload(api, "preds.npy", data)
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert detail.startswith("preds.npy: ") and says in detail, detail
    assert tempfile.gettempdir() not in response.content.decode()
    assert not ClassifierModel.objects.filter(name="m1").exists()


def test_a_good_npy_upload_still_imports(api, dataset):
    response = upload(api, "preds.npy", npy(np.array([1, 2, 151])))
    assert response.status_code == 201, response.content
    assert Prediction.objects.filter(model__name="m1").count() == 3


@pytest.mark.parametrize("fmt", ["../../x", "txt", "npy/../../etc", "", "CSV2"])
def test_the_format_of_a_predictions_upload_is_checked_before_anything_is_written(api, dataset, fmt, monkeypatch):
    written = []
    monkeypatch.setattr("annotate.api.saved_upload", lambda *args: written.append(args))
    name = "preds" if fmt == "" else "preds.csv"  # without format, the format is the name's extension
    response = upload(api, name, b"a.JPEG,n01443537\n", **({"format": fmt} if fmt else {}))
    assert response.status_code == 400, response.content
    assert "csv, json, npy" in response.json()["format"]
    assert written == []


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("preds.csv", b"a.JPEG,n0\n", "csv"),
        ("preds.csv", b"\xff\xfe", "csv"),
        ("preds.json", b"{", "json"),
        ("preds.json", json.dumps({"zzz.JPEG": ["n01443537"]}).encode(), "json"),
        ("preds.csv", b"filename,top1\n", "csv"),
    ],
)
def test_prediction_import_errors_name_the_upload_not_a_server_path(api, dataset, name, data, fmt):
    response = upload(api, name, data, format=fmt)
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert detail.startswith(name), detail
    assert tempfile.gettempdir() not in detail


def test_manifest_errors_name_the_upload_not_a_server_path(api, db):
    file = io.BytesIO(b"filename,wnid\nx.JPEG,nope\n")
    file.name = "manifest.csv"
    response = api.post("/api/datasets/fresh/manifest/", {"file": file})
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert detail.startswith("manifest.csv:2: "), detail
    assert tempfile.gettempdir() not in detail


@pytest.mark.parametrize("body", [None, "{}", '{"image": 1, "wnid": "n01440764", "answer": "correct"}', "[", "\x00"])
@pytest.mark.parametrize(
    "url", ["/api/datasets/review-set/golden/", "/api/datasets/", "/api/models/", "/api/images/1/", "/api/guide/pages/"]
)
def test_options_answers_with_or_without_a_body(api, dataset, url, body):
    """DRF's metadata asked generic views without a serializer_class for one (GoldenList): a 500 on any OPTIONS."""
    response = api.options(url, body or "", content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["name"]


def test_an_api_address_that_matches_no_url_is_a_json_404(api, db):
    for url in ("/api/images/-1/", "/api/datasets/not%20a%20slug/", "/api/nothing/"):
        response = api.get(url)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json"), url
        assert response.json()["detail"]
    assert "text/html" in api.get("/no-such-page/").headers["Content-Type"]
