"""Prediction jobs run in-process (no broker), in a background thread: sharding, failures, idempotence, errors,
API. The thread reads committed rows only: these tests are transactional."""

import pytest
import torch
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from annotate import jobs, sharded_jobs
from annotate.errors import ImportFailed
from annotate.inference import Classifier, ModelSpec, hub_checkpoint
from annotate.models import (
    ClassifierModel,
    Image,
    JobState,
    Prediction,
    PredictionBlock,
    PredictionFailure,
    ReviewItem,
)
from annotate.selectors import model_summary
from annotate.services import set_verdict
from config.exceptions import DomainError
from tests.test_prediction_blocks import assert_blocks_hold_the_predictions
from tests.wnids import TENCH

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ten_image_dataset(make_dataset):
    """gen: img_0.jpg to img_9.jpg, 120 x 90 pixels, labelled tench, without predictions."""
    files = {f"img_{i}.jpg": (20 * i, 100, 50) for i in range(10)}
    return make_dataset(name="gen", predictions={}, files={TENCH: files}, size=(120, 90))


@pytest.fixture
def run():
    """Start a job and wait for the background thread to finish it."""

    def start(**options):
        defaults = {"architecture": "resnet18", "weights": "none", "dataset_name": "gen", "batch_size": 4}
        job = jobs.start_prediction_job(**{**defaults, "shard_size": 3, **options})
        sharded_jobs.background_jobs.wait()
        return job

    return start


def test_job_predicts_every_image_in_shards_and_feeds_the_queue(ten_image_dataset, run):
    job = run()
    job.refresh_from_db()
    progress = jobs.job_progress(job)
    assert (progress["state"], progress["shards_total"], progress["shards_done"]) == ("done", 4, 4)
    assert (progress["images_total"], progress["images_done"], progress["images_failed"]) == (10, 10, 0)
    assert progress["random_weights"] and job.model.name == "resnet18 (random weights)"
    predictions = Prediction.objects.filter(model=job.model)
    assert predictions.count() == 10
    prediction = predictions.first()
    assert len(prediction.wnids) == 5 and prediction.top1_wnid == prediction.wnids[0]
    assert prediction.scores == sorted(prediction.scores, reverse=True) and 0 < sum(prediction.scores) <= 1.0001
    new_items = ReviewItem.objects.filter(dataset__name="gen", is_original=False).count()
    assert job.new_review_items == new_items
    # The finished job packs the model's predictions for scoring.
    assert PredictionBlock.objects.filter(model=job.model).count() == 1
    assert_blocks_hold_the_predictions()
    assert ReviewItem.objects.filter(dataset__name="gen", model_count__gt=0).count() >= 1


def test_rerun_skips_done_images(ten_image_dataset, run):
    run()
    again = run()
    assert again.images_total == 0 and again.shards.count() == 0
    again.refresh_from_db()
    assert again.state == JobState.DONE and again.new_review_items == 0


def test_corrupt_file_is_recorded_as_failed_without_failing_the_shard(ten_image_dataset, run):
    broken = Image.objects.get(file_name="img_3.jpg")
    broken.file.save("broken/not-a-jpeg.jpg", ContentFile(b"not a jpeg any more"))
    job = run()
    failure = PredictionFailure.objects.get()
    assert failure.image == broken and "UnidentifiedImageError" in failure.reason
    assert Prediction.objects.filter(model=job.model).count() == 9
    job.refresh_from_db()
    assert job.state == JobState.DONE and jobs.job_progress(job)["images_failed"] == 1
    assert run().images_total == 0


def test_missing_hub_weights_fail_the_job_with_where_to_put_them(ten_image_dataset, run):
    spec = ModelSpec("resnet18", "IMAGENET1K_V1")
    if hub_checkpoint(spec.validate()).exists():
        pytest.skip("this machine has the weights in its torch hub cache")
    job = run(weights="IMAGENET1K_V1")
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "not in the local torch hub cache" in job.error and str(hub_checkpoint(spec.validate())) in job.error
    assert not Prediction.objects.exists()


def test_local_checkpoint_is_loaded(ten_image_dataset, tmp_path, run):
    model = ModelSpec("resnet18", "none")
    torch.manual_seed(1)
    reference = Classifier(model, device="cpu").model
    checkpoint = tmp_path / "ckpt.pth"
    torch.save({"state_dict": reference.state_dict()}, checkpoint)
    job = run(weights=str(checkpoint))
    assert job.model.name == "resnet18 (checkpoint ckpt.pth)" and not job.model.random_weights
    loaded = Classifier(ModelSpec("resnet18", str(checkpoint)), device="cpu").model
    assert torch.equal(loaded.fc.weight, reference.fc.weight)
    assert Prediction.objects.filter(model=job.model).count() == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"architecture": "fasterrcnn_resnet50_fpn"}, "is not a torchvision classification model"),
        ({"weights": "IMAGENET9K"}, "are not weights of resnet18; choose one of IMAGENET1K_V1"),
        ({"weights": "/nowhere/ckpt.pth"}, "checkpoint /nowhere/ckpt.pth does not exist"),
        ({"dataset_name": "missing"}, "dataset 'missing' does not exist"),
        ({"batch_size": 0}, "batch size must be 1-4096"),
    ],
)
def test_bad_job_requests_are_refused_clearly(ten_image_dataset, options, message, run):
    with pytest.raises(DomainError, match=message):
        run(**options)
    assert not ClassifierModel.objects.exists()


def test_predict_command_waits_and_reports(ten_image_dataset, capsys):
    call_command("predict", "--model", "resnet18", "--weights", "none", "--dataset", "gen", "--wait", verbosity=0)
    out = capsys.readouterr().out
    assert "10 images" in out and "done: 10 predicted, 0 failed" in out
    # Without a broker the job runs in the command's own thread: the command waits for it even unasked.
    call_command("predict", "--model", "resnet18", "--weights", "none", "--dataset", "gen", "--name", "again")
    assert "done: 10 predicted, 0 failed" in capsys.readouterr().out
    with pytest.raises(CommandError, match="is not a torchvision classification model"):
        call_command("predict", "--model", "nope", "--dataset", "gen")


def test_model_summary_counts_reviewed_top1_and_added_items(ten_image_dataset, reviewer, run):
    job = run()
    job.refresh_from_db()
    top1 = Prediction.objects.filter(model=job.model).first()
    item = ReviewItem.objects.get(image=top1.image, wnid=top1.top1_wnid)
    set_verdict(item_id=item.pk, reviewer=reviewer, value="wrong")
    reviewed_images = Prediction.objects.filter(model=job.model, top1_wnid=top1.top1_wnid).values("image")
    reviewed = ReviewItem.objects.filter(image__in=reviewed_images, wnid=top1.top1_wnid, verdict="wrong").count()
    [summary] = model_summary(job.model)
    assert summary["dataset"] == "gen" and summary["predictions"] == 10
    assert summary["top1_reviewed"] == reviewed == 1
    assert summary["items_added_by_jobs"] == job.new_review_items


def test_job_api(client, admin_user, reviewer, ten_image_dataset):
    client.force_login(reviewer)
    body = {"model": "resnet18", "weights": "none", "dataset": "gen", "shard_size": 5}
    assert client.post("/api/prediction-jobs/", body, content_type="application/json").status_code == 403
    client.force_login(admin_user)
    response = client.post("/api/prediction-jobs/", body, content_type="application/json")
    assert response.status_code == 201
    assert (response.json()["shards_total"], response.json()["images_total"]) == (2, 10)
    sharded_jobs.background_jobs.wait()
    client.force_login(reviewer)
    job = client.get(f"/api/prediction-jobs/{response.json()['id']}/").json()
    assert (job["state"], job["shards_done"], job["images_done"]) == ("done", 2, 10)
    assert [j["id"] for j in client.get("/api/prediction-jobs/").json()] == [job["id"]]
    model = client.get("/api/models/resnet18 (random weights)/").json()
    assert model["random_weights"] is True and model["datasets"][0]["predictions"] == 10
    assert client.post(f"/api/prediction-jobs/{job['id']}/cancel/").status_code == 403
    client.force_login(admin_user)
    bad = client.post("/api/prediction-jobs/", {**body, "model": "nope"}, content_type="application/json")
    assert bad.status_code == 400 and "is not a torchvision classification model" in bad.json()["detail"]


def test_a_failed_job_leaves_no_empty_model_in_the_models_list(
    ten_image_dataset, run, client, reviewer, tmp_path, django_assert_max_num_queries
):
    run(name="computed")
    unfitting = tmp_path / "unfitting.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, unfitting)
    failed = run(weights=str(unfitting))
    failed.refresh_from_db()
    assert failed.state == JobState.FAILED and "does not fit resnet18" in failed.error
    assert not Prediction.objects.filter(model=failed.model).exists()
    # A model whose job has not finished yet is listed before its first predictions.
    jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name="gen", name="queued", enqueue=lambda *ids: None
    )

    client.force_login(reviewer)
    # Session, user, the user's roles (the top bar's links), models.
    with django_assert_max_num_queries(4):
        page = client.get("/models/").content.decode()
    listed = {model["name"] for model in client.get("/api/models/").json()["results"]}
    assert listed == {"computed", "queued"}
    assert 'data-model="computed"' in page and 'data-model="queued"' in page
    assert f'data-model="{failed.model.name}"' not in page
    # The failed job keeps its history, and its model's page.
    history = client.get("/api/prediction-jobs/").json()
    assert [(job["model"], job["state"]) for job in history if job["id"] == failed.pk] == [
        (failed.model.name, JobState.FAILED)
    ]
    assert client.get(f"/api/models/{failed.model.name}/").status_code == 200


def test_model_names_with_a_slash_are_refused(ten_image_dataset, run):
    with pytest.raises(ImportFailed, match="without '/'"):
        run(name="team/resnet")
