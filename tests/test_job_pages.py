"""The jobs, job, models and model pages of the model testbed in Chromium."""

import re
from datetime import timedelta

import pytest
import torch
from django.utils import timezone
from playwright.sync_api import expect

from annotate import jobs, sharded_jobs
from annotate.image_import import import_image_folder
from annotate.inference import classification_models
from annotate.models import ClassifierModel, JobState, Prediction, PredictionJob, PredictionShard, ReviewItem
from annotate.selectors import model_summary
from annotate.services import set_verdict
from config import celery_app
from tests.conftest import BROWSER_DB, DATASET, build_dataset, jpeg_bytes

pytestmark = pytest.mark.browser

RANDOM_RESNET = "resnet18 (random weights)"
NO_PREDICTIONS = {}


def queued_job(shard_size=2):
    """A job over the dataset's three images whose shards no worker runs: it stays queued."""
    return jobs.start_prediction_job(
        architecture="resnet18",
        weights="none",
        dataset_name=DATASET,
        shard_size=shard_size,
        batch_size=4,
        enqueue=lambda job_id, shard_ids: None,
    )


def fill_job_form(page, model, weights="none", shard_size="2", dataset=DATASET, batch_size="4"):
    page.fill("#job-model", model)
    page.fill("#job-weights", weights)
    page.select_option("#job-dataset", dataset)
    page.fill("#job-batch-size", batch_size)
    page.fill("#job-shard-size", shard_size)
    page.get_by_role("button", name="Start job").click()


@pytest.fixture
def with_workers():
    """A deployment with a broker: jobs go to Celery workers (none runs in these tests)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


@BROWSER_DB
def test_admin_starts_a_job_and_its_page_follows_it_to_the_end(logged_in_page, admin_user, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path, predictions=NO_PREDICTIONS)
    page = logged_in_page(admin_user)
    page.goto("/jobs/")
    assert page.locator("[data-testid=empty-jobs]").is_visible()
    assert page.locator("#job-weights").input_value() == "DEFAULT"
    assert "IMAGENET1K_V2" in page.locator("#job-weights-help").inner_text()
    assert page.locator('#job-architectures option[value="resnet18"]').count() == 1

    fill_job_form(page, "resnet18")
    # Without a broker the job runs in a thread of the web server; its page follows it until it is done.
    page.wait_for_url("**/jobs/*/")
    job = PredictionJob.objects.get()
    assert page.url.endswith(f"/jobs/{job.pk}/")
    assert job.shard_size == 2 and job.batch_size == 4 and job.created_by == admin_user

    expect(page.locator("[data-testid=job-state]")).to_have_text("done", timeout=30_000)
    job.refresh_from_db()
    assert page.locator("[data-testid=job-model]").inner_text() == RANDOM_RESNET
    assert page.locator("[data-testid=random-weights]").is_visible()
    figures = page.locator("[data-testid=job-figures]")
    assert figures.locator("[data-field=shards]").inner_text() == "2 / 2"
    assert figures.locator("[data-field=images]").inner_text() == "3 / 3"
    assert figures.locator("[data-field=failed]").inner_text() == "0"
    new_items = figures.locator("[data-field=new_review_items]")
    assert new_items.is_visible()
    assert job.new_review_items is not None and job.new_review_items > 0
    assert new_items.inner_text() == str(job.new_review_items)
    assert page.locator("[data-field=eta]").inner_text() == "—"
    assert "3 of 3 images processed (100%)" in page.locator("[data-field=caption]").inner_text()
    assert page.locator("[data-testid=cancel-job]").is_hidden()
    assert page.locator("[data-live]").is_hidden()
    assert page.locator("[data-testid=job-error]").is_hidden()

    # The list shows it, with a link back to its page.
    page.goto("/jobs/")
    row = page.locator(f'[data-testid=job-list] tr[data-job="{job.pk}"]')
    assert row.locator("[data-field=state]").inner_text().lower() == "done"
    assert row.locator("[data-field=shards]").inner_text() == "2 / 2"
    assert row.locator("[data-field=images]").inner_text() == "3 / 3"
    assert "random weights" in row.inner_text()
    row.locator("[data-testid=job-link]").click()
    page.wait_for_url(f"**/jobs/{job.pk}/")

    # The dataset page links the new model, with its badge, and offers admins the form.
    page.goto(f"/datasets/{DATASET}/")
    item = page.locator(f'[data-testid=model-list] [data-model="{RANDOM_RESNET}"]')
    assert item.locator(".badge").inner_text() == "random weights"
    item.get_by_role("link", name=RANDOM_RESNET).click()
    page.wait_for_url("**/models/*/")
    assert page.locator("[data-testid=model-name]").inner_text() == RANDOM_RESNET
    page.goto(f"/datasets/{DATASET}/")
    page.locator("[data-testid=compute-predictions]").click()
    page.wait_for_url(f"**/jobs/?dataset={DATASET}#compute")
    assert page.locator("#job-dataset").input_value() == DATASET


@BROWSER_DB
def test_bad_input_shows_the_api_message_on_the_form(logged_in_page, admin_user, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path, predictions=NO_PREDICTIONS)
    page = logged_in_page(admin_user)
    page.goto("/jobs/")

    fill_job_form(page, "resnet-nonexistent")
    error = page.locator("[data-testid=job-form-error]")
    expect(error).to_be_visible()
    assert "'resnet-nonexistent' is not a torchvision classification model" in error.inner_text()
    assert page.url.endswith("/jobs/")
    assert page.get_by_role("button", name="Start job").is_enabled()

    page.fill("#job-model", "resnet18")
    page.fill("#job-weights", "NOT_WEIGHTS")
    page.get_by_role("button", name="Start job").click()
    expect(error).to_contain_text("'NOT_WEIGHTS' are not weights of resnet18")

    # A field the serializer refuses is marked on the form.
    page.fill("#job-weights", "none")
    page.fill("#job-batch-size", "5000")
    page.get_by_role("button", name="Start job").click()
    expect(error).to_contain_text("batch_size")
    assert page.locator("#job-batch-size").get_attribute("aria-invalid") == "true"

    # Checked before sending: an empty architecture.
    page.fill("#job-model", "")
    page.get_by_role("button", name="Start job").click()
    expect(error).to_contain_text("Enter a torchvision architecture")
    assert page.url.endswith("/jobs/")
    assert not PredictionJob.objects.exists()


@BROWSER_DB
def test_reviewer_sees_jobs_without_form_or_cancel(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    job = queued_job()
    page = logged_in_page(reviewer)
    page.goto("/jobs/")
    assert page.locator("[data-testid=job-form]").count() == 0
    assert page.get_by_role("heading", name="Compute predictions").count() == 0
    row = page.locator(f'[data-testid=job-list] tr[data-job="{job.pk}"]')
    assert row.locator("[data-field=state]").inner_text().lower() == "queued"
    assert row.locator("[data-field=shards]").inner_text() == "0 / 2"
    assert row.locator("[data-field=images]").inner_text() == "0 / 3"

    row.locator("[data-testid=job-link]").click()
    page.wait_for_url(f"**/jobs/{job.pk}/")
    assert page.locator("[data-testid=job-state]").inner_text().lower() == "queued"
    assert page.locator("[data-testid=cancel-job]").count() == 0
    # In-process mode (no broker): nobody is told to start a worker.
    note = page.locator("[data-show-when=queued]").inner_text()
    assert "the web server runs one job at a time" in note and "celery" not in note

    page.goto(f"/datasets/{DATASET}/")
    assert page.locator("[data-testid=compute-predictions]").count() == 0


@BROWSER_DB
def test_model_page_shows_figures_per_dataset(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    # A transactional test: the shards run in a background thread once the job's transaction commits.
    job = jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name=DATASET, shard_size=2, batch_size=4
    )
    sharded_jobs.background_jobs.wait()
    job.refresh_from_db()
    assert job.state == JobState.DONE
    model = job.model
    prediction = Prediction.objects.filter(model=model).order_by("image__position").first()
    item = ReviewItem.objects.get(image=prediction.image, wnid=prediction.top1_wnid)
    set_verdict(item_id=item.pk, reviewer=reviewer, value="correct")
    [summary] = model_summary(model)

    page = logged_in_page(reviewer)
    page.goto("/models/")
    row = page.locator(f'[data-testid=models-table] tr[data-model="{RANDOM_RESNET}"]')
    assert row.locator(".badge").inner_text() == "random weights"
    assert "resnet18" in row.inner_text() and "none" in row.inner_text()
    sim = page.locator('[data-testid=models-table] tr[data-model="resnet-sim"]')
    assert "imported predictions" in sim.inner_text()
    row.get_by_role("link", name=RANDOM_RESNET).click()
    page.wait_for_url("**/models/*/")

    assert page.locator("[data-testid=model-name]").inner_text() == RANDOM_RESNET
    assert page.locator("[data-testid=random-weights]").is_visible()
    assert page.locator("[data-testid=model-architecture]").inner_text() == "resnet18"
    assert page.locator("[data-testid=model-weights]").inner_text() == "none"
    figures = page.locator(f'[data-testid=model-datasets] tr[data-dataset="{DATASET}"]')

    def figure(name):
        return figures.locator(f"[data-field={name}]").inner_text()

    assert figure("predictions") == "3"
    assert figure("top1_reviewed") == "1"
    assert figure("top1_unreviewed") == "2"
    assert figure("items_added_by_jobs") == str(job.new_review_items)
    assert figure("items_only_from_this_model") == str(summary["items_only_from_this_model"])
    assert figure("failed_images") == "0"
    job_row = page.locator(f'[data-testid=model-jobs] tr[data-job="{job.pk}"]')
    assert "done" in job_row.inner_text().lower()
    job_row.get_by_role("link", name=f"#{job.pk}").click()
    page.wait_for_url(f"**/jobs/{job.pk}/")

    # A model with imported predictions only: no job figures.
    page.goto("/models/resnet-sim/")
    sim_row = page.locator(f'[data-testid=model-datasets] tr[data-dataset="{DATASET}"]')
    assert sim_row.locator("[data-field=predictions]").inner_text() == "3"
    assert sim_row.locator("[data-field=items_added_by_jobs]").inner_text() == "—"


@BROWSER_DB
def test_running_job_updates_without_reload_and_can_be_cancelled(logged_in_page, admin_user, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path, predictions=NO_PREDICTIONS)
    job = queued_job()
    page = logged_in_page(admin_user)

    # The list follows the jobs that are not finished.
    page.goto("/jobs/")
    row = page.locator(f'[data-testid=job-list] tr[data-job="{job.pk}"]')
    expect(row.locator("[data-field=state]")).to_have_text("queued")
    PredictionJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, started_at=timezone.now() - timedelta(seconds=10)
    )
    expect(row.locator("[data-field=state]")).to_have_text("running", timeout=6000)

    page.goto(f"/jobs/{job.pk}/")
    state = page.locator("[data-testid=job-state]")
    shards = page.locator("[data-testid=job-figures] [data-field=shards]")
    assert state.inner_text().lower() == "running"
    assert shards.inner_text() == "0 / 2"
    assert page.locator("[data-live]").is_visible()

    first = job.shards.order_by("index").first()
    PredictionShard.objects.filter(pk=first.pk).update(state=JobState.DONE, images_done=2)
    expect(shards).to_have_text("1 / 2", timeout=6000)
    figures = page.locator("[data-testid=job-figures]")
    assert figures.locator("[data-field=images]").inner_text() == "2 / 3"
    assert "2 of 3 images processed (67%)" in page.locator("[data-field=caption]").inner_text()
    assert figures.locator("[data-field=rate]").inner_text() != "—"
    # About 0.2 images/s with one image to go: seconds, spelled out.
    expect(figures.locator("[data-field=eta]")).to_have_text(re.compile(r"^(\d+ s|\d+ min( \d+ s)?)$"))
    assert figures.locator("[data-field=new_review_items]").inner_text() == "—"

    # Dismissing the confirmation changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("[data-testid=cancel-job]").click()
    page.wait_for_timeout(300)
    assert PredictionJob.objects.get(pk=job.pk).state == JobState.RUNNING

    polls = []
    api_url = f"/api/prediction-jobs/{job.pk}/"
    page.on("request", lambda request: request.url.endswith(api_url) and polls.append(request.url))
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.locator("[data-testid=cancel-job]").click()
    expect(state).to_have_text("cancelled")
    assert "Cancel this job?" in messages[0]
    assert PredictionJob.objects.get(pk=job.pk).state == JobState.CANCELLED
    assert page.locator("[data-testid=cancel-job]").is_hidden()
    expect(page.locator("[data-live]")).to_be_hidden()

    # Polling stops once the job is finished.
    settled = len(polls)
    page.wait_for_timeout(2600)
    assert len(polls) == settled


@BROWSER_DB
def test_failed_job_shows_its_error(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path, predictions=NO_PREDICTIONS)
    job = queued_job()
    jobs.fail_job(job.pk, "weights IMAGENET1K_V1 are not in the local torch hub cache")
    page = logged_in_page(reviewer)
    page.goto(f"/jobs/{job.pk}/")
    assert page.locator("[data-testid=job-state]").inner_text().lower() == "failed"
    error = page.locator("[data-testid=job-error]")
    assert error.is_visible()
    assert "not in the local torch hub cache" in error.inner_text()


@BROWSER_DB
def test_empty_jobs_and_models_pages(logged_in_page, reviewer):
    page = logged_in_page(reviewer)
    page.goto("/jobs/")
    empty = page.locator("[data-testid=empty-jobs]")
    assert empty.is_visible()
    text = empty.inner_text()
    assert "No prediction jobs yet" in text
    assert "python manage.py predict --model resnet50 --dataset NAME --wait" in text
    assert "run inside the web server, one job at a time: there is no worker to start" in text
    assert "celery" not in text and "inside the web server" in page.locator("[data-testid=jobs-intro]").inner_text()
    assert page.locator("[data-testid=job-form]").count() == 0
    assert page.locator(".topnav a[aria-current=page]").inner_text() == "Jobs"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.wait_for_url("**/models/")
    empty = page.locator("[data-testid=empty-models]")
    assert empty.is_visible()
    assert "No models yet" in empty.inner_text()
    assert "python manage.py import_predictions FILE --model MODEL --dataset NAME" in empty.inner_text()
    assert page.locator(".topnav a[aria-current=page]").inner_text() == "Models"


@BROWSER_DB
def test_jobs_pages_tell_how_to_start_workers_where_jobs_need_them(logged_in_page, reviewer, with_workers):
    page = logged_in_page(reviewer)
    page.goto("/jobs/")
    assert "celery -A config worker -Q gpu --concurrency 1" in page.locator("[data-testid=empty-jobs]").inner_text()
    assert "on the GPU workers" in page.locator("[data-testid=jobs-intro]").inner_text()


def many_images(tmp_path, count):
    """A dataset of `count` tiny images: each takes as long to predict as a photo, after a faster import."""
    folder = tmp_path / "many" / "n01440764"
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"tiny_{i:04d}.jpg").write_bytes(jpeg_bytes(color=(i % 256, i // 256 * 60, 90), size=(8, 8)))
    import_image_folder(dataset_name="many", directory=folder.parent)
    return "many"


@BROWSER_DB
def test_job_started_without_a_broker_runs_in_the_background_with_progress_and_cancel(
    logged_in_page, admin_user, tmp_path
):
    dataset = many_images(tmp_path, 800)
    page = logged_in_page(admin_user)
    page.goto("/jobs/")
    fill_job_form(page, "resnet50", dataset=dataset, shard_size="8", batch_size="2")

    # The POST answers at once: the job's page opens while the job is still going.
    page.wait_for_url("**/jobs/*/")
    job = PredictionJob.objects.get()
    state = page.locator("[data-testid=job-state]")
    assert state.inner_text().lower() in {"queued", "running"}
    figures = page.locator("[data-testid=job-figures]")
    shards = figures.locator("[data-field=shards]")
    assert shards.inner_text().endswith(" / 100")

    # Shards finish one by one and the page follows them: images/s and an ETA, as with workers.
    # Generous waits: the whole suite loads this machine's two cores while the job runs beside the browser.
    expect(shards).not_to_have_text("0 / 100", timeout=60_000)
    expect(state).to_have_text("running", timeout=30_000)
    expect(figures.locator("[data-field=rate]")).not_to_have_text("—", timeout=30_000)
    expect(figures.locator("[data-field=eta]")).to_have_text(re.compile(r"^(\d+ s|\d+ min( \d+ s)?)$"), timeout=30_000)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-testid=cancel-job]").click()
    expect(state).to_have_text("cancelled", timeout=30_000)
    sharded_jobs.background_jobs.wait()

    # The remaining shards were skipped; the finished ones keep their predictions.
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    done = PredictionShard.objects.filter(job=job, state=JobState.DONE)
    assert 1 <= done.count() < 100
    assert not PredictionShard.objects.filter(job=job, state=JobState.RUNNING).exists()
    assert Prediction.objects.filter(model=job.model).count() == sum(len(shard.image_ids) for shard in done)


@BROWSER_DB
def test_failed_job_leaves_no_empty_model_in_the_models_list(
    logged_in_page, admin_user, image_folder, tmp_path, settings
):
    build_dataset(image_folder, tmp_path)
    settings.CHECKPOINT_ROOTS = [str(tmp_path)]
    unfitting = tmp_path / "unfitting.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, unfitting)
    page = logged_in_page(admin_user)
    page.goto("/jobs/")
    fill_job_form(page, "resnet18", weights=str(unfitting))
    page.wait_for_url("**/jobs/*/")

    expect(page.locator("[data-testid=job-state]")).to_have_text("failed", timeout=30_000)
    expect(page.locator("[data-testid=job-error]")).to_contain_text("does not fit resnet18")
    failed = PredictionJob.objects.get()
    assert failed.model.name == "resnet18 (checkpoint unfitting.pth)"

    page.goto("/models/")
    listed = page.locator("[data-testid=models-table] tr[data-model]")
    expect(listed).to_have_count(2)
    assert {row.get_attribute("data-model") for row in listed.all()} == {"resnet-sim", "vit-sim"}
    # The job keeps its history.
    page.goto("/jobs/")
    row = page.locator(f'[data-testid=job-list] tr[data-job="{failed.pk}"]')
    assert row.locator("[data-field=state]").inner_text().lower() == "failed"
    assert failed.model.name in row.inner_text()
    assert ClassifierModel.objects.filter(pk=failed.model_id).exists()


@BROWSER_DB
@pytest.mark.parametrize("width", [1280, 1440])
def test_architecture_and_weights_show_their_underscores_and_fit(
    logged_in_page, admin_user, image_folder, tmp_path, width
):
    build_dataset(image_folder, tmp_path, predictions=NO_PREDICTIONS)
    page = logged_in_page(admin_user)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/jobs/")
    longest = max(classification_models(), key=len)
    for field, value in (("#job-model", longest), ("#job-weights", "IMAGENET1K_V2")):
        box = page.locator(field)
        box.fill(value)
        assert box.evaluate("input => input.scrollWidth <= input.clientWidth"), f"{value} overflows {field}"
        with_underscores = box.screenshot()
        box.fill(value.replace("_", " "))
        # The same pixels with spaces would mean that the underscores are not drawn.
        assert box.screenshot() != with_underscores, f"the underscores of {value} are not visible in {field}"
