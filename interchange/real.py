"""The ReaL format ("Are we done with ImageNet?", Beyer et al. 2020): a JSON list with one entry per image of the
dataset, in file-name order, each the sorted class indices (0-999) of the image's valid labels.

A list names every valid label of its image, so the image's label list is complete (Image.labels_complete): a class
it leaves out is not a valid label. An empty list says the image has no valid label: ReaL accuracy leaves such
images out, and so does Relabel, as problematic images (reason "no valid label"); a problematic image exports as an
empty list."""

import json

import numpy as np
from django.utils import timezone

import taxonomy
from annotate import rules
from annotate.errors import ImportFailed
from annotate.models import ProblematicFlag, ProblemReason, Verdict
from interchange import checks, selectors
from interchange.services import Flag, ImportPlan, Vote

NO_POSTERIOR = (np.nan, np.nan, np.nan)


def valid_class_indices(dataset):
    """[sorted class indices of the valid labels of each image], images in file-name order. An item is valid when
    its consensus posterior says so (annotate.rules.real_valid) and, where it has no posterior (one reviewer, an
    adjudication, a golden answer), when its label is correct."""
    labels_by_image = selectors.labels_by_image(dataset)
    images = selectors.images_by_file_name(dataset)
    labels = [label for image_id, _, _ in images for label in labels_by_image.get(image_id, ())]
    posterior = np.array([label.posterior or NO_POSTERIOR for label in labels], dtype=np.float64).reshape(-1, 3)
    has_posterior = np.array([label.posterior is not None for label in labels], dtype=bool)
    correct = np.array([label.label == Verdict.CORRECT for label in labels], dtype=bool)
    valid = np.where(has_posterior, rules.real_valid(posterior), correct)
    problematic = set(ProblematicFlag.objects.filter(image__dataset=dataset).values_list("image_id", flat=True))
    result, start = [], 0
    for image_id, _, _ in images:
        image_labels = labels_by_image.get(image_id, ())
        flags = valid[start : start + len(image_labels)]
        indices = (taxonomy.class_index(label.wnid) for label, ok in zip(image_labels, flags, strict=True) if ok)
        result.append([] if image_id in problematic else sorted(indices))
        start += len(image_labels)
    return result


def export_chunks(dataset):
    yield json.dumps(valid_class_indices(dataset)) + "\n"


def read(text, *, source, dataset, reviewer):
    """The ImportPlan of a ReaL file: `reviewer` says correct to each listed class of an image (the review item is
    created where missing) and wrong to the image's other review items; an image with an empty list is flagged
    problematic (no valid label); every image's label list becomes complete."""
    document = checks.json_document(text, source)
    if not isinstance(document, list):
        raise ImportFailed(f"{source}: expected a JSON list with one list of class indices per image")
    images = selectors.images_by_file_name(dataset)
    if len(document) != len(images):
        raise ImportFailed(
            f"{source}: the file has {len(document):,} entries but dataset {dataset.name!r} has {len(images):,} "
            "images; a ReaL file has one entry per image, in file-name order"
        )
    classes = taxonomy.class_wnids()
    existing = selectors.item_wnids_by_image(dataset)
    now = timezone.now()
    plan = ImportPlan(source=source, images=len(images))
    for position, ((image_id, name, _), indices) in enumerate(zip(images, document, strict=True)):
        where = f"{source}: entry {position} ({name})"
        if not isinstance(indices, list):
            raise ImportFailed(f"{where}: expected a list of class indices, not {indices!r}")
        for index in indices:
            # bool is an int to Python, not to JSON readers.
            if type(index) is not int or not 0 <= index < len(classes):
                raise ImportFailed(f"{where}: {index!r} is not a class index (0-{len(classes) - 1})")
        correct = {classes[index] for index in indices}
        if len(correct) < len(indices):
            raise ImportFailed(f"{where}: a class index is listed twice")
        plan.votes += [Vote(image_id, wnid, reviewer, Verdict.CORRECT.value, now) for wnid in sorted(correct)]
        wrong = sorted(existing.get(image_id, set()) - correct)
        plan.votes += [Vote(image_id, wnid, reviewer, Verdict.WRONG.value, now) for wnid in wrong]
        if not correct:
            plan.flags.append(Flag(image_id, ProblemReason.NO_VALID_LABEL.value, "", reviewer, now, now))
        plan.complete_images.add(image_id)
    return plan
