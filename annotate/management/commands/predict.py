from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotate import jobs
from annotate.models import JobState
from annotate.tasks import runs_in_process
from config.exceptions import as_command_errors


class Command(BaseCommand):
    help = "Compute a torchvision model's predictions on a dataset with the Celery workers of queue 'gpu'."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="torchvision classification model, e.g. resnet50")
        parser.add_argument("--dataset", required=True)
        parser.add_argument(
            "--weights",
            default="DEFAULT",
            help="DEFAULT, a weights enum name (IMAGENET1K_V2), a checkpoint path, or none",
        )
        parser.add_argument("--batch-size", type=int, default=jobs.DEFAULT_BATCH_SIZE)
        parser.add_argument("--shard-size", type=int, default=jobs.DEFAULT_SHARD_SIZE, help="images per shard")
        parser.add_argument("--name", help="name of the classifier model in the registry")
        parser.add_argument(
            "--wait", action="store_true", help="show progress until the job is finished (always without a broker)"
        )

    @as_command_errors
    def handle(self, *args, **options):
        job = jobs.start_prediction_job(
            architecture=options["model"],
            dataset_name=options["dataset"],
            weights=options["weights"],
            batch_size=options["batch_size"],
            shard_size=options["shard_size"],
            name=options["name"],
        )
        self.stdout.write(f"job {job.pk}: {job.model.name} on {job.dataset.name}, {job.images_total} images")
        # Without a broker the job runs in a thread of this command, which would end with it: wait then too.
        if not options["wait"] and not runs_in_process():
            return
        with tqdm(total=job.images_total, unit="img", file=self.stderr, disable=options["verbosity"] == 0) as bar:

            def show(progress):
                bar.update(progress["images_done"] + progress["images_failed"] - bar.n)
                bar.set_postfix_str(f"shards {progress['shards_done']}/{progress['shards_total']}")

            progress = jobs.wait_for_job(job.pk, on_progress=show)
        if progress["state"] != JobState.DONE:
            raise CommandError(f"job {job.pk} {progress['state']}: {progress['error'] or 'stopped'}")
        self.stdout.write(
            f"done: {progress['images_done']} predicted, {progress['images_failed']} failed, "
            f"{progress['new_review_items']} new review items"
        )
