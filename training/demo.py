"""The demo's training task: the demo dataset's first 20 images, with feedback."""

from annotate.demo import DEMO_DATASET
from training.models import TaskSource, TrainingTask
from training.services import create_training_task

DEMO_TRAINING_TASK = "Demo: the first 20 images"


def build_training_demo(author):
    """The demo's training task, made by `author`; nothing where it is there already."""
    if not TrainingTask.objects.filter(name=DEMO_TRAINING_TASK).exists():
        create_training_task(
            name=DEMO_TRAINING_TASK,
            dataset_name=DEMO_DATASET,
            source=TaskSource.SLICE,
            offset_start=0,
            offset_end=20,
            description="Label the demo images with feedback after each answer.",
            created_by=author,
        )
