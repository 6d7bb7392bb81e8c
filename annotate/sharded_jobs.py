"""Jobs split into shards of image ids, which workers take one at a time: their states, cancelling and failing,
progress, waiting, the in-process runner, and the shards a broker that lost its messages must be given again.

Each kind of job (predictions here; features and near-duplicate searches in higher apps) is a `JobKind` over a
`ShardedJob` model and its `JobShard` model, with the function that runs one shard. A shard writes all it made in one
transaction, and a shard redone after a killed worker finds its rows there already, so no kind leaves partial or
duplicate rows behind. Without a broker (no REDIS_URL) one background thread of the web process takes the shards.
"""

import logging
import queue
import socket
import threading
import time

from django.db import connections, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from annotate.models import FINISHED_JOB_STATES, JobState

logger = logging.getLogger(__name__)


class JobKind:
    """The jobs of one model pair: `run_shard(shard_id)` does a shard's work, `send(job_id, shard_ids)` hands
    shards to whatever runs them (Celery workers or the background thread), set when the app is ready."""

    def __init__(self, name, job_model, shard_model, run_shard):
        self.name = name
        self.job_model = job_model
        self.shard_model = shard_model
        self.run_shard = run_shard
        self.send = None
        KINDS.append(self)

    def create_shards(self, job, image_ids):
        """The job's shards over these image ids, `job.shard_size` each, in order."""
        size = job.shard_size
        self.shard_model.objects.bulk_create(
            self.shard_model(job=job, index=i, image_ids=image_ids[start : start + size])
            for i, start in enumerate(range(0, len(image_ids), size))
        )
        return list(job.shards.order_by("index").values_list("pk", flat=True))

    def queue_on_commit(self, job, shard_ids, finish, send=None):
        """Once the job is committed, send its shards (with `send(job_id, shard_ids)` where given); a job with
        nothing to do is finished at once, since no shard would ever finish it."""

        def queue_shards():
            if shard_ids:
                (send or self.send)(job.pk, shard_ids)
            else:
                finish(job.pk)

        transaction.on_commit(queue_shards)

    def start_shard(self, shard_id):
        """The shard, marked running (its job too) unless it or its job is finished; else None."""
        shard = self.shard_model.objects.select_related("job").get(pk=shard_id)
        if shard.job.state in FINISHED_JOB_STATES or shard.state in FINISHED_JOB_STATES:
            return None
        now = timezone.now()
        self.job_model.objects.filter(pk=shard.job_id, state=JobState.QUEUED).update(
            state=JobState.RUNNING, started_at=now
        )
        self.shard_model.objects.filter(pk=shard.pk).update(
            state=JobState.RUNNING, attempts=F("attempts") + 1, started_at=now, worker=socket.gethostname()[:200]
        )
        return shard

    def is_cancelled(self, job_id):
        return self.job_model.objects.filter(pk=job_id, state=JobState.CANCELLED).exists()

    def still_wanted(self, job_id):
        """The `on_batch` of a shard's model run: asked between batches, False once the job was cancelled, and
        what it last found kept in its `cancelled`."""
        return _StillWanted(self, job_id)

    def mark_shard_done(self, shard, done, failed=0):
        """Inside the transaction that writes the shard's rows."""
        self.shard_model.objects.filter(pk=shard.pk).update(
            state=JobState.DONE, images_done=done, images_failed=failed, finished_at=timezone.now()
        )

    def all_shards_done(self, job_id):
        return not self.shard_model.objects.filter(job_id=job_id).exclude(state=JobState.DONE).exists()

    def fail(self, job_id, error):
        with transaction.atomic():
            self.job_model.objects.filter(pk=job_id).exclude(state__in=FINISHED_JOB_STATES).update(
                state=JobState.FAILED, error=error, finished_at=timezone.now()
            )
            self.shard_model.objects.filter(job_id=job_id).exclude(state=JobState.DONE).update(state=JobState.CANCELLED)

    def cancel(self, job_id):
        """Stop a job: queued shards are skipped, a running shard stops at its next batch and writes nothing."""
        with transaction.atomic():
            updated = (
                self.job_model.objects.filter(pk=job_id)
                .exclude(state__in=FINISHED_JOB_STATES)
                .update(state=JobState.CANCELLED, finished_at=timezone.now())
            )
            self.shard_model.objects.filter(job_id=job_id).exclude(state=JobState.DONE).update(state=JobState.CANCELLED)
        return bool(updated)

    def unfinished_shard_ids(self):
        """The shards still to do of the jobs still going: what a broker that lost its messages must be given."""
        return list(
            self.shard_model.objects.filter(job__state__in=[JobState.QUEUED, JobState.RUNNING])
            .exclude(state__in=FINISHED_JOB_STATES)
            .order_by("job_id", "index")
            .values_list("pk", flat=True)
        )

    def progress(self, job):
        """Shards done of total, images done and failed, images/s and the ETA of a job."""
        shards = job.shards.aggregate(
            total=Count("pk"),
            done=Count("pk", filter=Q(state=JobState.DONE)),
            images=Sum("images_done", filter=Q(state=JobState.DONE), default=0),
            failed=Sum("images_failed", filter=Q(state=JobState.DONE), default=0),
        )
        processed = shards["images"] + shards["failed"]
        end = job.finished_at or timezone.now()
        elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
        rate = processed / elapsed if elapsed > 0 else None
        remaining = job.images_total - processed
        return {
            "id": job.pk,
            "shard_size": job.shard_size,
            "state": job.state,
            "error": job.error,
            "shards_total": shards["total"],
            "shards_done": shards["done"],
            "images_total": job.images_total,
            "images_done": shards["images"],
            "images_failed": shards["failed"],
            "images_per_second": round(rate, 2) if rate else None,
            "eta_seconds": round(remaining / rate) if rate and job.state not in FINISHED_JOB_STATES else None,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }

    def wait(self, job_id, describe, on_progress=None, poll_seconds=1.0, timeout=None):
        """Block until the job is finished, reporting its progress `describe(job_id)` (a dict with its "state") as
        it goes; returns the last one."""
        start = time.monotonic()
        while True:
            progress = describe(job_id)
            if on_progress:
                on_progress(progress)
            if progress["state"] in FINISHED_JOB_STATES:
                return progress
            if timeout is not None and time.monotonic() - start > timeout:
                raise TimeoutError(f"{self.name} job {job_id} is still {progress['state']} after {timeout} s")
            time.sleep(poll_seconds)


class _StillWanted:
    def __init__(self, kind, job_id):
        self.kind, self.job_id = kind, job_id
        self.cancelled = False

    def __call__(self):
        self.cancelled = self.kind.is_cancelled(self.job_id)
        return not self.cancelled


KINDS = []


def read_image_files(images):
    """(image id, file bytes) of each image of the queryset; an unreadable file gives a message instead, which
    the models' decoding reports as that image's failure."""
    for image in images.iterator(chunk_size=500):
        try:
            with image.file.open("rb") as handle:
                yield image.pk, handle.read()
        except OSError as exc:
            yield image.pk, f"unreadable file: {exc}".encode()


def unfinished_shards():
    """(kind, shard ids) of every kind with shards still to do."""
    return [(kind, ids) for kind in KINDS if (ids := kind.unfinished_shard_ids())]


class BackgroundJobs:
    """In-process mode (no broker): jobs queue up for one daemon thread of this process, which runs their shards
    one after another as a single worker would, so that starting a job returns at once and its page follows it.
    A daemon thread: stopping the server does not wait for a job, which then stays unfinished until cancelled."""

    def __init__(self):
        self._jobs = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def submit(self, kind, job_id, shard_ids):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="sharded-jobs", daemon=True)
                self._thread.start()
        self._jobs.put((kind, job_id, shard_ids))

    def wait(self):
        """Block until every job submitted so far is finished (tests; a shutdown that should let jobs end)."""
        self._jobs.join()

    def _work(self):
        while True:
            kind, job_id, shard_ids = self._jobs.get()
            try:
                for shard_id in shard_ids:
                    kind.run_shard(shard_id)  # a cancelled job's remaining shards return at once
            except Exception as exc:
                logger.exception("%s job %s failed in the background", kind.name, job_id)
                connections.close_all()  # the error may have been the connection's: fail the job on a new one
                kind.fail(job_id, f"{type(exc).__name__}: {exc}")
            finally:
                # Between jobs the thread holds no database connection.
                connections.close_all()
                self._jobs.task_done()


background_jobs = BackgroundJobs()
