import io

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image as PILImage
from rest_framework.authtoken.models import Token

from annotate.demo import DEMO_DATASET, SIMULATED_MODELS
from annotate.image_import import import_image_folder
from annotate.models import ClassifierModel, Dataset, Image, Prediction, ReviewItem
from annotate.selectors import dataset_status
from consensus.demo import CROWD_DATASET
from labelguide.demo import DEMO_GUIDE_TITLE
from labelguide.models import GuidePage
from training.demo import DEMO_TRAINING_TASK
from training.models import TrainingTask

pytestmark = pytest.mark.django_db


def test_openapi_schema_and_docs_page(client, reviewer):
    client.force_login(reviewer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/review/next/", "/api/review-items/{id}/verdict/", "/api/datasets/{name}/export/"]:
        assert path in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_token_auth_for_scripts(client, reviewer, image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    response = client.post("/api/auth/token/", {"username": "rita", "password": "pw-for-tests"})
    token = response.json()["token"]
    assert Token.objects.get(user=reviewer).key == token
    scripted = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert scripted.get("/api/review/next/", {"dataset": "val"}).json()["file_name"] == "a.JPEG"
    assert Client(HTTP_AUTHORIZATION="Token wrong").get("/api/datasets/").status_code == 401


def test_anonymous_gets_nothing(client, image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    image = Image.objects.first()
    assert client.get("/api/datasets/").status_code in (401, 403)
    assert client.get(f"/images/{image.pk}/display").status_code == 302
    assert client.get(f"/images/{image.pk}/original").status_code == 302
    assert client.get("/").status_code == 302


def test_synset_search_and_detail(client, trainee):
    client.force_login(trainee)
    results = client.get("/api/synsets/", {"q": "great white", "classes_only": "1", "limit": 3}).json()
    assert results[0]["wnid"] == "n01484850" and results[0]["class_index"] == 2
    assert len(results) <= 3
    dog = client.get("/api/synsets/n02084071/").json()
    assert dog["class_index"] is None and "n02085620" not in dog["children"] and dog["children"]
    assert client.get("/api/synsets/n00000000/").status_code == 404
    assert client.get("/api/synsets/", {"limit": "x"}).status_code == 400


def test_dataset_list_and_status(client, trainee, image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    client.force_login(trainee)
    assert [d["name"] for d in client.get("/api/datasets/").json()["results"]] == ["val"]
    assert client.get("/api/datasets/val/").json() == dataset_status(Image.objects.first().dataset)
    assert client.get("/api/datasets/nope/").status_code == 404


def test_admin_uploads_a_manifest_and_predictions(client, admin_user, reviewer, tmp_path):
    manifest = io.BytesIO(b"filename,wnid\nx.JPEG,n01440764\ny.JPEG,n01443537\n")
    manifest.name = "manifest.csv"
    client.force_login(reviewer)
    assert client.post("/api/datasets/new/manifest/", {"file": manifest}).status_code == 403
    client.force_login(admin_user)
    manifest.seek(0)
    response = client.post("/api/datasets/new/manifest/", {"file": manifest})
    assert response.status_code == 201 and response.json()["added"] == 2

    predictions = io.BytesIO()
    np.save(predictions, np.array([1, 1]))
    predictions.seek(0)
    predictions.name = "p.npy"
    response = client.post("/api/models/resnet-50/predictions/", {"file": predictions, "dataset": "new"})
    assert response.status_code == 201, response.content
    assert response.json()["new_review_items"] == 1
    assert ClassifierModel.objects.get().name == "resnet-50"

    bad = io.BytesIO(b"x.JPEG,n01440764\nnope.JPEG,n01440764\n")
    bad.name = "bad.csv"
    response = client.post("/api/models/other/predictions/", {"file": bad, "dataset": "new"})
    assert response.status_code == 400
    assert ":2: nope.JPEG is not an image of this dataset" in response.json()["detail"]
    assert Prediction.objects.count() == 2


def test_images_are_served_resized_and_original_with_safe_headers(client, reviewer, tmp_path):
    folder = tmp_path / "big" / "n01440764"
    folder.mkdir(parents=True)
    PILImage.new("RGB", (1600, 1200), (30, 90, 200)).save(folder / 'we<ird> "name".png')
    import_image_folder(dataset_name="val", directory=folder.parent)
    image = Image.objects.get()
    client.force_login(reviewer)

    display = client.get(f"/images/{image.pk}/display")
    assert display["Content-Type"] == "image/jpeg" and display["X-Content-Type-Options"] == "nosniff"
    assert PILImage.open(io.BytesIO(display.content)).size == (512, 384)
    assert client.get(f"/images/{image.pk}/display").content == display.content

    original = client.get(f"/images/{image.pk}/original")
    assert original["Content-Type"] == "image/png"
    assert original["Content-Disposition"] == 'inline; filename="we_ird___name_.png"'
    assert PILImage.open(io.BytesIO(original.content)).size == (1600, 1200)


def test_unavailable_image_is_a_clear_404(client, reviewer, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("x.JPEG,n01440764\n")
    call_command("import_images", "--manifest", str(manifest), "--dataset", "val")
    client.force_login(reviewer)
    image = Image.objects.get()
    assert client.get(f"/images/{image.pk}/display").status_code == 404
    assert client.get(f"/api/images/{image.pk}/").json()["available"] is False


def test_demo_builds_once_with_marked_simulated_models(capsys):
    call_command("demo")
    call_command("demo")
    out = capsys.readouterr().out
    assert "login 'reviewer' password 'reviewer'" in out
    status = dataset_status(Image.objects.first().dataset)
    assert status["dataset"] == DEMO_DATASET
    assert status["images"] == status["images_with_files"] == 24
    assert status["models"] == 3 and status["review_items"] > status["images"]
    assert set(ClassifierModel.objects.filter(simulated=True).values_list("name", flat=True)) == set(SIMULATED_MODELS)
    assert GuidePage.objects.get(title=DEMO_GUIDE_TITLE).classes.count() == 3
    assert len(TrainingTask.objects.get(name=DEMO_TRAINING_TASK).image_ids) == 20
    crowd = dataset_status(Dataset.objects.get(name=CROWD_DATASET))
    assert crowd["images"] == 24 and 0 < crowd["unreviewed_items"] < crowd["review_items"]
    assert crowd["items_per_verdict"]["correct"] > 0 and crowd["items_per_verdict"]["wrong"] > 0
    assert ReviewItem.objects.filter(dataset__name=CROWD_DATASET, needs_adjudication=True).exists()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503_and_the_next_request_reconnects(client, reviewer):
    """The database is really unreachable for one request: its connection points at a port nobody listens on."""
    from django.db import connection

    Dataset.objects.create(name="val")
    client.force_login(reviewer)
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get("/api/datasets/val/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    assert response["Retry-After"] == "2" and "OperationalError" in response.json()["detail"]
    assert client.get("/api/datasets/val/").status_code == 200
