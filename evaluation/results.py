"""Reads of the results page: from one load of the engine's inputs, the score rows, the drops from the first
dataset, the predictors (with the humans' time per image) and the mistake analysis."""

from collections import Counter

import numpy as np
from django.urls import reverse

import taxonomy
from annotate.models import ClassifierModel, Image
from evaluation import scores, scoring
from evaluation.models import Participant

MISTAKE_IMAGES = 48  # images shown per group of the mistake analysis; the count covers them all
VERDICT_NAMES = {scoring.CORRECT: "correct", scoring.WRONG: "wrong", scoring.UNCLEAR: "unclear"}


def results(dataset_names=()):
    """The results of the named datasets (all when none is named); the first is the reference of the drops."""
    inputs = scores.load_inputs(dataset_names)
    rows = scoring.score(inputs)
    reference = inputs.datasets[0] if inputs.datasets else None
    return {
        "datasets": inputs.datasets,
        "reference": reference,
        "decided_items": len(inputs.item_keys),
        "predictors": predictors(inputs),
        "rows": rows,
        "drops": scoring.drops(rows, reference) if len(inputs.datasets) > 1 else [],
        "mistakes": mistakes(inputs),
    }


def predictors(inputs):
    """Each predictor scored, in the engine's order, then the ensembles: name, kind, whether it votes, the model
    flags (simulated, random weights), and for the humans of phases the participant, the phase, how many of
    their answers were on images seen before, and the median seconds per image. Two queries."""
    flags = {
        name: (simulated, random_weights)
        for name, simulated, random_weights in ClassifierModel.objects.filter(name__in=inputs.predictors).values_list(
            "name", "simulated", "random_weights"
        )
    }
    participants = {
        model_name: (username, phase)
        for model_name, username, phase in Participant.objects.filter(model__name__in=inputs.predictors).values_list(
            "model__name", "user__username", "phase__name"
        )
    }
    voting = inputs.voting()
    found = []
    for p, (name, kind) in enumerate(zip(inputs.predictors, inputs.kinds, strict=True)):
        simulated, random_weights = flags.get(name, (False, False))
        entry = {"name": name, "kind": kind, "votes": bool(voting[p])}
        entry.update(simulated=simulated, random_weights=random_weights)
        if name in participants:
            seconds = inputs.seconds.get(name)
            timed = seconds[~np.isnan(seconds)] if seconds is not None else np.zeros(0)
            seen = inputs.seen.get(name)
            entry.update(
                participant=participants[name][0],
                phase=participants[name][1],
                answers=int(np.count_nonzero(inputs.top1[p] >= 0)),
                seen_answers=int(np.count_nonzero(seen & (inputs.top1[p] >= 0))) if seen is not None else 0,
                median_seconds=float(np.median(timed)) if len(timed) else None,
            )
        found.append(entry)
    for kind in (scoring.HUMAN, scoring.MODEL):
        voters = sum(1 for entry in found if entry["kind"] == kind and entry["votes"])
        if voters >= 2:
            name = scoring.ENSEMBLE_NAMES[kind]
            found.append({"name": name, "kind": scoring.ENSEMBLE, "votes": False, "voters": voters, "of": kind})
    return found


def _class(class_index):
    wnid = taxonomy.wnid_for_index(int(class_index))
    return {"wnid": wnid, "label": taxonomy.label(wnid)}


def _said(top1_column):
    """The classes predicted on one image by the rows of a top1 column, most often first: [{wnid, label, count}]."""
    votes = Counter(int(c) for c in top1_column if c >= 0)
    return [{**_class(c), "count": n} for c, n in sorted(votes.items(), key=lambda item: (-item[1], item[0]))]


def mistakes(inputs):
    """The images every voting model gets wrong, every human gets wrong, and both (scoring.mistakes): per group
    the members counted, how many images, and the first MISTAKE_IMAGES of them with their multi-label
    annotation and what the members predicted. One query (the images' names)."""
    voting = inputs.voting()
    members = {
        "models": [p for p, kind in enumerate(inputs.kinds) if kind == scoring.MODEL and voting[p]],
        "humans": [p for p, kind in enumerate(inputs.kinds) if kind == scoring.HUMAN],
    }
    found = scoring.mistakes(inputs)
    shown = {group: np.flatnonzero(mask)[:MISTAKE_IMAGES] for group, mask in found.items()}
    indices = sorted({int(i) for chosen in shown.values() for i in chosen})
    ids = [int(inputs.image_ids[i]) for i in indices]
    names = {
        pk: (file_name, dataset)
        for pk, file_name, dataset in Image.objects.filter(pk__in=ids).values_list("pk", "file_name", "dataset__name")
    }
    images = {}
    for index, pk in zip(indices, ids, strict=True):
        labels = scoring.multilabel(inputs, index)
        images[index] = {
            "id": pk,
            "file_name": names[pk][0],
            "dataset": names[pk][1],
            "display_url": reverse("image-display", args=[pk]),
            "original": _class(inputs.original[index]),
            **{VERDICT_NAMES[code]: [_class(c) for c in labels[code]] for code in VERDICT_NAMES},
            "models_said": _said(inputs.top1[members["models"], index]),
            "humans_said": _said(inputs.top1[members["humans"], index]),
        }
    return {
        "members": {group: len(rows) for group, rows in members.items()},
        "groups": [
            {"group": group, "count": int(np.count_nonzero(found[group])), "images": [images[int(i)] for i in chosen]}
            for group, chosen in shown.items()
        ],
    }
