"""The self-contained demo of `make demo`: accounts, the demo dataset with simulated models, its crowd of simulated
reviewers, a guide page and a training task. It stands above every app it fills (docs/architecture.md)."""

import random
import tempfile

from django.contrib.auth.models import User
from django.db import transaction

from annotate.demo import build_demo_dataset, create_demo_users
from consensus.demo import build_crowd_demo
from labelguide.demo import build_guide_demo
from training.demo import build_training_demo


def build_demo(seed=2020):
    """Create the demo; running it again changes nothing. Returns the accounts as (username, password, role)."""
    rng = random.Random(seed)
    with transaction.atomic():
        users = create_demo_users()
    with tempfile.TemporaryDirectory() as workdir:
        built = build_demo_dataset(rng, workdir)
        if built is not None:
            build_crowd_demo(*built)
    admin = User.objects.get(username="admin")
    build_guide_demo(admin)
    build_training_demo(admin)
    return users
