from django.core.management.base import BaseCommand, CommandError

from config.exceptions import as_command_errors
from training.models import TaskSource
from training.services import create_training_task


def offset_range(text):
    start, sep, end = text.partition(":")
    if not sep:
        raise ValueError
    return int(start), int(end)


class Command(BaseCommand):
    help = "Create a training task from a dataset slice (offsets), the classes under a node, or a confusion group."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--dataset", required=True)
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--offset", metavar="A:B", help="images at offsets A to B (B exclusive) in dataset order")
        source.add_argument("--classes", metavar="WNID", help="the classes under this hierarchy node, e.g. n02084071")
        source.add_argument("--wnids", metavar="W1,W2,...", help="a confusion group of two or more classes")
        parser.add_argument("--description", default="")
        parser.add_argument("--instructions", default="", help="instead of the default instructions")
        order = parser.add_mutually_exclusive_group()
        order.add_argument("--shuffle", dest="shuffle", action="store_true", default=None)
        order.add_argument("--no-shuffle", dest="shuffle", action="store_false")

    @as_command_errors
    def handle(self, *args, name, **options):
        arguments = {"name": name, "dataset_name": options["dataset"], "shuffle": options["shuffle"]}
        arguments.update(description=options["description"], instructions=options["instructions"])
        if options["offset"]:
            try:
                start, end = offset_range(options["offset"])
            except ValueError:
                raise CommandError(f"--offset {options['offset']!r}: expected A:B, two integers") from None
            arguments.update(source=TaskSource.SLICE, offset_start=start, offset_end=end)
        elif options["classes"]:
            arguments.update(source=TaskSource.CLASSES, node_wnid=options["classes"])
        else:
            arguments.update(source=TaskSource.CONFUSION_GROUP, wnids=options["wnids"])
        task = create_training_task(**arguments)
        self.stdout.write(
            f"training task {task.pk} {task.name!r}: {task.image_count} images in {task.part_count} parts "
            f"({task.source_text} of {task.dataset.name})"
        )
