"""Prediction jobs and near-duplicate searches on a real Celery worker process against a real Redis, with a
SIGKILL and a Redis restart mid-job."""

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count

from annotate import jobs
from annotate.models import ClassifierModel, JobState, Prediction, PredictionJob, PredictionShard, ReviewItem
from annotate.tasks import BROKER_MARKER, run_prediction_shard
from config import celery_app
from nearduplicates.models import FeatureBlock, FeatureSet, FeatureShard, Neighbour, SearchJob
from nearduplicates.services import find_near_duplicates
from tests.conftest import connect
from tests.test_near_duplicates import COPIED, nearest, planted_copies
from tests.wnids import TENCH

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def celery_broker():
    """Tasks go through the test settings' Redis to a worker, not in-process."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    celery_app.conf.task_always_eager = False
    yield settings.CELERY_BROKER_URL
    celery_app.conf.task_always_eager = True


@pytest.fixture
def worker(celery_broker, tmp_path):
    """Start and stop `celery -A config worker -Q gpu,default` processes on the test database."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "RELABEL_CELERY_EAGER": "0",
        "OMP_NUM_THREADS": "1",
    }
    processes = []

    def start(name, broker=celery_broker):
        log = (tmp_path / f"{name}.log").open("w")
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu,default"]
        command += ["--concurrency", "1", "--loglevel", "INFO", "-n", f"{name}@%h", "--without-mingle"]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "REDIS_URL": broker},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port(first):
    for port in range(first, first + 100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail(f"no free port in {first}-{first + 99}")


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own (the shared one stays untouched), without persistence: a restart loses
    every queued and unacknowledged message."""
    port = free_port(6390)
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path)]
    url = f"redis://127.0.0.1:{port}/0"

    def start():
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(
            lambda: redis.Redis.from_url(url).ping(), 10, f"redis-server on port {port}", errors=redis.ConnectionError
        )
        return process

    server = {"url": url, "process": start()}

    def restart():
        server["process"].terminate()
        server["process"].wait()
        server["process"] = start()

    yield url, restart
    server["process"].terminate()
    server["process"].wait()


def publish_shards(broker_url, job_id, shard_ids):
    """What the prediction kind's send does, to a broker other than this test process's."""
    with celery_app.connection_for_write(broker_url) as connection:
        for shard_id in shard_ids:
            run_prediction_shard.apply_async((shard_id,), queue="gpu", connection=connection)


@pytest.fixture
def forty_eight_image_dataset(make_dataset):
    """gen: img_000.jpg to img_047.jpg, 160 x 120 pixels, labelled tench, without predictions."""
    files = {f"img_{i:03d}.jpg": (i * 5 % 256, 80, 200 - i) for i in range(48)}
    return make_dataset(name="gen", predictions={}, files={TENCH: files}, size=(160, 120))


def wait_until(condition, timeout, what, errors=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except errors:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def rows_locked(model, pks):
    """Hold these rows locked FOR NO KEY UPDATE from a connection of the test's own: a worker that updates one of
    them or selects it FOR UPDATE waits until the block ends, so the shard doing it stays running however fast the
    worker is, while rows that merely refer to them (the test's own jobs) are still written."""
    holder = connect()
    try:
        with holder.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {model._meta.db_table} WHERE id = ANY(%s) FOR NO KEY UPDATE", [list(pks)])
        yield
    finally:
        holder.rollback()
        holder.close()


def random_resnet18():
    """The model the prediction jobs below make, made first so that the test can lock its row before they start:
    a shard writes its predictions only once it holds that row (annotate.prediction_blocks.forget)."""
    return ClassifierModel.objects.create(
        name="resnet18 (random weights)", architecture="resnet18", weights="none", random_weights=True
    )


def start_job(dataset, **options):
    """A prediction job of random resnet18 over the dataset: 6 shards of 8 images."""
    return jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name=dataset.name, batch_size=4, shard_size=8, **options
    )


def waiting_on(model):
    """Whether a session of the test database waits for a lock in a statement on the model's table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND query LIKE %s",
            [f'%"{model._meta.db_table}"%'],
        )
        return cursor.fetchone()[0] > 0


def shard_waiting(job):
    """A shard of the job is running and has got to its write, which waits on the test's lock."""
    return PredictionShard.objects.filter(job=job, state=JobState.RUNNING).exists() and waiting_on(ClassifierModel)


def assert_finished_exactly_once(job, dataset):
    predictions = Prediction.objects.filter(model=job.model)
    assert predictions.count() == 48
    assert not predictions.values("image").annotate(n=Count("pk")).filter(n__gt=1).exists()
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert not PredictionShard.objects.filter(job=job).exclude(state=JobState.DONE).exists()
    assert job.new_review_items == ReviewItem.objects.filter(dataset__name=dataset, is_original=False).count()
    assert job.new_review_items > 0


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_job_then_restarted_finishes_without_duplicates(worker, forty_eight_image_dataset, tmp_path):
    first = worker("first")
    with rows_locked(ClassifierModel, [random_resnet18().pk]):
        job = start_job(forty_eight_image_dataset)
        assert job.images_total == 48 and job.shards.count() == 6
        wait_until(lambda: shard_waiting(job), 120, "a shard running, its write waiting on the lock")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    interrupted = PredictionShard.objects.get(job=job, state=JobState.RUNNING)

    worker("second")
    wait_until(lambda: PredictionJob.objects.get(pk=job.pk).state == JobState.DONE, 180, "the job to finish")

    assert_finished_exactly_once(job, forty_eight_image_dataset.name)
    assert PredictionShard.objects.get(pk=interrupted.pk).attempts >= 2
    assert all(len(p.wnids) == 5 and len(p.scores) == 5 for p in Prediction.objects.filter(model=job.model))


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_job_stops_its_shards(worker, forty_eight_image_dataset):
    worker("only")
    with rows_locked(ClassifierModel, [random_resnet18().pk]):
        job = start_job(forty_eight_image_dataset)
        wait_until(lambda: shard_waiting(job), 120, "a shard running, its write waiting on the lock")
        assert jobs.cancel_job(job.pk)
    time.sleep(3)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    # The shard that had run its last batch before the cancel writes its predictions; no other shard starts.
    done = PredictionShard.objects.filter(job=job, state=JobState.DONE)
    assert done.count() == 1
    assert not PredictionShard.objects.filter(job=job, state=JobState.RUNNING).exists()
    assert Prediction.objects.filter(model=job.model).count() == sum(len(s.image_ids) for s in done)


@pytest.mark.django_db(transaction=True)
def test_redis_restarted_mid_job_without_its_data_the_job_still_finishes(
    worker, redis_server, forty_eight_image_dataset, tmp_path
):
    broker_url, restart_redis = redis_server
    worker("only", broker=broker_url)
    # The worker marks the broker once it has declared its queues: from then on messages reach it.
    wait_until(lambda: redis.Redis.from_url(broker_url).exists(BROKER_MARKER), 60, "the worker to connect")
    with rows_locked(ClassifierModel, [random_resnet18().pk]):
        job = start_job(forty_eight_image_dataset, enqueue=functools.partial(publish_shards, broker_url))
        wait_until(lambda: shard_waiting(job), 120, "a shard running, its write waiting on the lock")
        restart_redis()  # the queued shards and the running one's unacknowledged message are gone

    wait_until(lambda: PredictionJob.objects.get(pk=job.pk).state == JobState.DONE, 180, "the job to finish")
    assert_finished_exactly_once(job, forty_eight_image_dataset.name)
    # The job finished because the worker, back on the emptied broker, queued the unfinished shards again.
    assert "the broker had lost its data: " in (tmp_path / "only.log").read_text()


def feature_shard_running(search):
    return FeatureShard.objects.filter(job__in=search.feature_jobs.all(), state=JobState.RUNNING).exists()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_near_duplicate_search_leaves_no_duplicate_neighbour(worker, tmp_path):
    planted_copies(tmp_path)
    first = worker("first")
    search = find_near_duplicates(
        testset_name="v2",
        against=["val"],
        metric="cnn",
        architecture="resnet18",
        weights="none",
        batch_size=2,
        feature_shard_size=2,
        shard_size=5,
    )
    # The worker is still loading its model: from here every feature shard's write waits on the lock.
    with rows_locked(FeatureSet, search.feature_jobs.values_list("feature_set", flat=True)):
        wait_until(
            lambda: feature_shard_running(search) and waiting_on(FeatureSet),
            120,
            "a feature shard running, its write waiting on the lock",
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

    worker("second")
    wait_until(lambda: SearchJob.objects.get(pk=search.pk).state == JobState.DONE, 240, "the search to finish")

    assert FeatureShard.objects.filter(job__in=search.feature_jobs.all(), attempts__gte=2).exists()
    # One block per feature shard, each image's vector in one block only: 12 references and 8 candidates.
    assert FeatureBlock.objects.count() == FeatureShard.objects.count()
    assert sum(FeatureBlock.objects.values_list("count", flat=True)) == 20
    neighbours = Neighbour.objects.filter(search=search)
    assert neighbours.count() == 8 * 19
    assert not neighbours.values("candidate", "image").annotate(n=Count("pk")).filter(n__gt=1).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_a_near_duplicate_search_and_its_merged_lists_find_the_copies(worker, tmp_path):
    planted_copies(tmp_path)
    worker("left")
    worker("right")
    wait_until(
        lambda: all("ready." in (tmp_path / f"{name}.log").read_text() for name in ("left", "right")),
        60,
        "both workers to be ready",
    )
    # 20 images in 10 feature shards, the 20 vectors searched in 5 shards of 4: each worker takes some of each.
    search = find_near_duplicates(
        testset_name="v2", against=["val"], metric="pixel", feature_shard_size=2, shard_size=4
    )
    wait_until(lambda: SearchJob.objects.get(pk=search.pk).state == JobState.DONE, 240, "the search to finish")

    assert search.shards.count() == 5
    for name in ("left", "right"):
        log = (tmp_path / f"{name}.log").read_text()
        assert "run_search_shard" in log and "run_feature_shard" in log, f"{name} ran no shard of both kinds"
    found = nearest("pixel")
    assert {copy: found[copy][0] for copy in COPIED} == COPIED
    neighbours = Neighbour.objects.filter(search=search)
    assert neighbours.count() == 8 * 19
    assert not neighbours.values("candidate", "image").annotate(n=Count("pk")).filter(n__gt=1).exists()
