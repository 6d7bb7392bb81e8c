"""manage.py find_near_duplicates --testset NAME --against DATASET [DATASET ...] --metric phash|pixel|cnn|ssim
[--index auto|exact|ivf] [--nprobe N]"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotate.models import JobState
from annotate.tasks import runs_in_process
from config.exceptions import as_command_errors
from nearduplicates import services
from nearduplicates.index_choice import DEFAULT_NPROBE
from nearduplicates.models import Metric, SearchIndex
from nearduplicates.selectors import wait_for_search


class Command(BaseCommand):
    help = (
        "Find each candidate's k nearest neighbours under a metric among the images of the datasets named and the "
        "other candidates, computing the vectors it lacks on the Celery workers of queue 'gpu' first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--testset", required=True)
        parser.add_argument("--against", nargs="+", required=True, metavar="DATASET", help="e.g. the reference")
        parser.add_argument(
            "--metric",
            required=True,
            choices=Metric.values,
            help="phash: the fast first pass, for resized and re-encoded copies; pixel, cnn, then ssim: thorough",
        )
        parser.add_argument("--k", type=int, default=services.DEFAULT_K, help="neighbours kept per candidate")
        parser.add_argument(
            "--model", default="", help=f"cnn only: torchvision model (default {services.DEFAULT_ARCHITECTURE})"
        )
        parser.add_argument(
            "--weights", default="", help="cnn only: DEFAULT, a weights enum name, a checkpoint path, or none"
        )
        parser.add_argument("--batch-size", type=int, default=services.DEFAULT_BATCH_SIZE)
        parser.add_argument(
            "--shard-size",
            type=int,
            default=services.DEFAULT_SEARCH_SHARD_SIZE,
            help="reference vectors per search shard (one shard per worker at a time)",
        )
        parser.add_argument(
            "--feature-shard-size",
            type=int,
            default=services.DEFAULT_FEATURE_SHARD_SIZE,
            help="images per shard of the feature jobs",
        )
        parser.add_argument(
            "--index",
            choices=SearchIndex.values,
            default=SearchIndex.AUTO,
            help="exact, ivf (approximate: each shard indexes its part), or auto by the reference's size (default)",
        )
        parser.add_argument("--nprobe", type=int, default=DEFAULT_NPROBE, help="ivf: lists visited per query")
        parser.add_argument(
            "--wait", action="store_true", help="show progress until the search is done (always without a broker)"
        )

    @as_command_errors
    def handle(self, *args, **options):
        job = services.find_near_duplicates(
            testset_name=options["testset"],
            against=options["against"],
            metric=options["metric"],
            k=options["k"],
            architecture=options["model"],
            weights=options["weights"],
            batch_size=options["batch_size"],
            shard_size=options["shard_size"],
            feature_shard_size=options["feature_shard_size"],
            index=options["index"],
            nprobe=options["nprobe"],
        )
        waiting = job.feature_jobs.count()
        self.stdout.write(
            f"search {job.pk}: {job.metric} neighbours of {job.testset.name}"
            + (f", after {waiting} feature jobs" if waiting else "")
        )
        # Without a broker the jobs run in a thread of this command, which would end with it: wait then too.
        if not options["wait"] and not runs_in_process():
            return
        with tqdm(unit="img", file=self.stderr, disable=options["verbosity"] == 0) as bar:

            def show(progress):
                stages = [*progress["feature_jobs"], progress]
                bar.total = sum(stage["images_total"] for stage in stages)
                bar.update(sum(stage["images_done"] + stage["images_failed"] for stage in stages) - bar.n)
                if progress["shards_building"]:
                    bar.set_postfix_str(f"{progress['vectors_indexed']} vectors in IVF indexes")

            progress = wait_for_search(job.pk, on_progress=show)
        if progress["state"] != JobState.DONE:
            raise CommandError(f"search {job.pk} {progress['state']}: {progress['error'] or 'stopped'}")
        self.stdout.write(
            f"done: {progress['neighbours_written']} {job.metric} neighbours written ({progress['index']} search)"
        )
