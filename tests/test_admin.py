import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from annotate import jobs
from annotate.image_import import import_image_folder
from annotate.models import ClassifierModel, JobState, Prediction, PredictionBlock, PredictionJob, ReviewItem
from annotate.prediction_import import import_predictions
from tests.test_prediction_blocks import assert_blocks_hold_the_predictions

pytestmark = pytest.mark.django_db

ANNOTATE_MODELS = [model for model in admin.site._registry if model._meta.app_label == "annotate"]


def test_every_annotate_model_is_in_the_admin():
    assert set(apps.get_app_config("annotate").get_models()) == set(ANNOTATE_MODELS)


@pytest.mark.parametrize("model", ANNOTATE_MODELS, ids=lambda m: m.__name__)
def test_admin_changelists_load(client, model, image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    client.force_login(User.objects.create_superuser("root", password="x"))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200


def test_admin_action_cancels_jobs(client, image_folder):
    import_image_folder(dataset_name="val", directory=image_folder())
    job = jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name="val", enqueue=lambda job_id, shard_ids: None
    )
    client.force_login(User.objects.create_superuser("root", password="x"))
    response = client.post(
        reverse("admin:annotate_predictionjob_changelist"), {"action": "cancel", "_selected_action": [job.pk]}
    )
    assert response.status_code == 302
    assert PredictionJob.objects.get(pk=job.pk).state == JobState.CANCELLED


def predicted(image_folder, tmp_path):
    """A dataset "val" whose image a.JPEG model "m" predicts as a goldfish."""
    import_image_folder(dataset_name="val", directory=image_folder())
    path = tmp_path / "m.csv"
    path.write_text("filename,top1\na.JPEG,n01443537\n")
    import_predictions(model_name="m", dataset_name="val", path=path)


def test_a_model_and_its_packed_predictions_can_be_deleted(client, image_folder, tmp_path):
    predicted(image_folder, tmp_path)
    model = ClassifierModel.objects.get(name="m")
    assert PredictionBlock.objects.filter(model=model).exists()
    client.force_login(User.objects.create_superuser("root", password="x"))
    response = client.post(reverse("admin:annotate_classifiermodel_delete", args=[model.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not ClassifierModel.objects.filter(pk=model.pk).exists() and not PredictionBlock.objects.exists()


def test_a_prediction_changed_by_hand_is_checked_and_packed_again(client, image_folder, tmp_path):
    predicted(image_folder, tmp_path)
    prediction = Prediction.objects.get(model__name="m")
    client.force_login(User.objects.create_superuser("root", password="x"))
    url = reverse("admin:annotate_prediction_change", args=[prediction.pk])
    for wnids, error in (
        ('["n99999999"]', "is not an ImageNet class wnid"),
        ('["n01484850", "n01484850"]', "each class at most once"),
        ("[]", "This field is required"),
        ("{}", "This field is required"),
        ('"n01484850"', "a list of 1 to 5 class wnids"),
    ):
        refused = client.post(url, {"wnids": wnids, "scores": "null"})
        assert refused.status_code == 200 and error in refused.content.decode()
    assert client.post(url, {"wnids": '["n01484850", "n01443537"]', "scores": "null"}).status_code == 302
    prediction.refresh_from_db()
    assert prediction.top1_wnid == "n01484850"
    assert ReviewItem.objects.get(image=prediction.image, wnid="n01484850").model_count == 1
    assert_blocks_hold_the_predictions()
