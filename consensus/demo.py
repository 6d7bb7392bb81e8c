"""The demo's crowd: a second copy of the demo images reviewed by five simulated reviewers of known reliability,
so that the consensus, adjudication, agreement and golden pages have something to show."""

import random

from django.contrib.auth import get_user_model

from accounts.services import reviewer_accounts
from annotate import labelling
from annotate.image_import import import_image_folder
from annotate.models import Dataset, ReviewItem, Verdict
from annotate.prediction_import import import_predictions
from annotate.services import set_verdict
from consensus import services

CROWD_DATASET = "demo-crowd"
# How often each simulated reviewer gives the right verdict.
CROWD_RELIABILITY = {"crowd-ana": 0.95, "crowd-ben": 0.9, "crowd-cai": 0.8, "crowd-dee": 0.7, "crowd-eli": 0.55}
GOLDEN_ITEMS = 3


def build_crowd_demo(folder, labels, predictions):
    """The crowd dataset from the demo's image folder, {file name: (wnid, ...)} labels and {model: file} of
    predictions, with the votes of simulated reviewers under majority of five: the items they split on wait for
    adjudication, every other image's for a fifth verdict. Does nothing where it exists."""
    if Dataset.objects.filter(name=CROWD_DATASET).exists():
        return
    import_image_folder(dataset_name=CROWD_DATASET, directory=folder)
    dataset = Dataset.objects.get(name=CROWD_DATASET)
    dataset.description = "Demo: the demo images judged by five simulated reviewers, majority of five."
    dataset.save(update_fields=["description"])
    for model, path in predictions.items():
        import_predictions(model_name=model, dataset_name=CROWD_DATASET, path=path)
    labelling.set_policy(dataset=dataset, rule="majority", overlap=len(CROWD_RELIABILITY), golden_rate=0.2)
    accounts, _ = reviewer_accounts(list(CROWD_RELIABILITY))
    reviewers = get_user_model().objects.in_bulk(accounts.values())
    rng = random.Random(5)
    items = list(ReviewItem.objects.filter(dataset=dataset).select_related("image").order_by("pk"))
    for item in items:
        truth = Verdict.CORRECT if labels[item.image.file_name][0] == item.wnid else Verdict.WRONG
        # The last reviewer skipped every other image: those wait for a fifth verdict, the demo reviewer's.
        voters = list(CROWD_RELIABILITY.items())[: None if item.image.position % 2 == 0 else -1]
        for username, reliability in voters:
            others = [v for v in (Verdict.CORRECT, Verdict.WRONG, Verdict.UNCLEAR) if v != truth]
            verdict = truth if rng.random() < reliability else rng.choice(others)
            set_verdict(item_id=item.pk, reviewer=reviewers[accounts[username]], value=verdict)
    admin = get_user_model().objects.get(username="admin")
    for item in items[:GOLDEN_ITEMS]:
        truth = "correct" if labels[item.image.file_name][0] == item.wnid else "wrong"
        services.mark_golden(item_id=item.pk, answer=truth, user=admin)
    labelling.aggregate(dataset=dataset)
