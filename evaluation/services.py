"""Writes of evaluation phases: creating and editing a phase (drawing its sample), opening, answering, closing."""

import random
import secrets
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

import taxonomy
from annotate import prediction_blocks
from annotate.models import ClassifierModel, Dataset, Image, Prediction, PredictorKind, VerdictChange
from annotate.review_items import sync_review_items
from config.exceptions import ConflictError, DomainError
from evaluation.models import DEFAULT_INSTRUCTIONS, Participant, ParticipantImage, Phase, PhaseImage, PhaseState
from training.models import TrainingAnswer

MAX_NAME_LENGTH = 150
MAX_STRATUM_COUNT = 10_000
DATASETS_FORMAT = 'give datasets as {"name": N} or [{"dataset": name, "count": N}]'
SPLIT_CHOICES = tuple(split for split in taxonomy.SPLITS if split != "all")


class PhaseInputError(DomainError):
    """Input that cannot be used; `field` names what is at fault (for a 400 answer or a form error)."""

    def __init__(self, field, message):
        super().__init__(message, field=field)


# --- checking input ----------------------------------------------------------------------------------------


def _clean_name(name, phase=None):
    name = " ".join((name or "").split())
    if not name:
        raise PhaseInputError("name", "give the phase a name")
    if len(name) > MAX_NAME_LENGTH:
        raise PhaseInputError("name", f"the name is longer than {MAX_NAME_LENGTH} characters")
    if "/" in name or not name.isprintable():
        raise PhaseInputError("name", "the name may not contain '/' (it names the participants' human predictors)")
    others = Phase.objects.filter(name=name)
    if phase is not None:
        others = others.exclude(pk=phase.pk)
    if others.exists():
        raise PhaseInputError("name", f"a phase named {name!r} already exists")
    return name


def _clean_counts(datasets):
    """{dataset name: N} (or a list of {"dataset", "count"}) as [(Dataset, N)] for the strata with N > 0."""
    if isinstance(datasets, list | tuple):
        try:
            datasets = {row["dataset"]: row["count"] for row in datasets}
        except (KeyError, TypeError):
            raise PhaseInputError(
                "datasets", 'give datasets as {"name": N} or [{"dataset": name, "count": N}]'
            ) from None
    if not isinstance(datasets, dict):
        raise PhaseInputError("datasets", 'give datasets as {"name": N} or [{"dataset": name, "count": N}]')
    counts = []
    for name, count in datasets.items():
        try:
            count = int(count or 0)
        except (TypeError, ValueError):
            raise PhaseInputError("datasets", f"the number of images from {name!r} must be an integer") from None
        if not 0 <= count <= MAX_STRATUM_COUNT:
            raise PhaseInputError("datasets", f"the number of images from {name!r} must be 0 to {MAX_STRATUM_COUNT}")
        if count:
            counts.append((name, count))
    if not counts:
        raise PhaseInputError("datasets", "choose at least one dataset and how many images to draw from it")
    found = {dataset.name: dataset for dataset in Dataset.objects.filter(name__in=[name for name, _ in counts])}
    missing = [name for name, _ in counts if name not in found]
    if missing:
        raise PhaseInputError("datasets", f"no such dataset: {', '.join(map(str, missing))}")
    return [(found[name], count) for name, count in counts]


def _clean_splits(splits):
    if isinstance(splits, str):
        splits = [part for part in splits.replace(",", " ").split() if part]
    splits = list(dict.fromkeys(splits or ()))
    unknown = [split for split in splits if split not in SPLIT_CHOICES]
    if unknown:
        raise PhaseInputError("splits", f"unknown split {unknown[0]!r}; expected some of {', '.join(SPLIT_CHOICES)}")
    return splits


def _clean_participants(participants):
    """Users from usernames, user ids or users; at least one."""
    users = get_user_model().objects.all()
    names = [p for p in participants or () if isinstance(p, str)]
    ids = [p for p in participants or () if isinstance(p, int)]
    ids += [p.pk for p in participants or () if not isinstance(p, str | int)]
    found = list(users.filter(username__in=names)) + list(users.filter(pk__in=ids))
    missing = sorted(set(names) - {user.username for user in found}) + sorted(set(ids) - {u.pk for u in found})
    if missing:
        raise PhaseInputError("participants", f"no such user: {', '.join(map(str, missing))}")
    found = list({user.pk: user for user in found}.values())
    if not found:
        raise PhaseInputError("participants", "choose at least one participant")
    return sorted(found, key=lambda user: user.username)


def _clean_seed(seed):
    try:
        seed = int(seed if seed not in (None, "") else 0)
    except (TypeError, ValueError):
        raise PhaseInputError("seed", "the seed must be an integer") from None
    if not -(2**63) <= seed < 2**63:
        raise PhaseInputError("seed", "the seed must fit in 64 bits")
    return seed


class PhaseStateError(ConflictError):
    """A change the phase's state does not allow (editing an open phase, answering a closed one)."""


def _require_state(phase, state, doing):
    if phase.state != state:
        raise PhaseStateError(
            f"phase {phase.name!r} is {phase.state}: {doing} needs the phase to be {state}", state=phase.state
        )


# --- drawing the sample --------------------------------------------------------------------------------------


def draw_sample(counts, splits, seed):
    """The strata and the drawn images: N images with files per dataset (and per class split, with
    splits), each stratum drawn by its own random generator seeded by (seed, dataset, split), so the same
    input draws the same sample. No photo is drawn twice: not by overlapping splits, nor where datasets (or one
    dataset) hold the same file (Image.sha256) under several images; of those, a stratum may draw the first by
    position only, and none once the sample has the file.

    Returns (strata, [(image id, dataset id, split)]) in drawing order.
    """
    strata, drawn, taken, taken_files = [], [], set(), set()
    for dataset, count in counts:
        for split in splits or [""]:
            images = Image.objects.filter(dataset=dataset).exclude(file="").order_by("position")
            if split:
                images = images.filter(original_wnid__in=taxonomy.split_classes(split))
            candidates, files = [], {}
            for pk, sha256 in images.values_list("pk", "sha256"):
                if pk in taken or sha256 in taken_files or sha256 in files:
                    continue
                candidates.append(pk)
                if sha256:
                    files[sha256] = pk
            where = f"dataset {dataset.name!r}" + (f", split {split!r}" if split else "")
            if len(candidates) < count:
                raise PhaseInputError(
                    "datasets",
                    f"{where} has {len(candidates)} images with files to draw from (each photo once, none already "
                    f"in the sample), fewer than {count}",
                )
            chosen = random.Random(f"{seed}:{dataset.name}:{split}").sample(candidates, count)
            picked = set(chosen)
            taken |= picked
            taken_files.update(sha256 for sha256, pk in files.items() if pk in picked)
            drawn.extend((pk, dataset.pk, split) for pk in chosen)
            strata.append({"dataset": dataset.name, "split": split, "count": count})
    return strata, drawn


def seen_pairs(user_ids, image_ids):
    """{(user id, image id)} for the images each user reviewed (gave a verdict on one of its review items)
    or met in training (answered in a training task), under their own id or any other that carries the same file:
    the same photo seen in another dataset was seen."""
    files = dict(Image.objects.filter(pk__in=image_ids).exclude(sha256="").values_list("pk", "sha256"))
    twins = defaultdict(list)
    for twin_id, sha256 in Image.objects.filter(sha256__in=set(files.values())).values_list("pk", "sha256"):
        twins[sha256].append(twin_id)
    images_of = defaultdict(set)  # an image someone may have met: the images of the sample it stands for
    for image_id in image_ids:
        images_of[image_id].add(image_id)
    for image_id, sha256 in files.items():
        for twin_id in twins[sha256]:
            images_of[twin_id].add(image_id)
    reviewed = VerdictChange.objects.filter(reviewer_id__in=user_ids, item__image_id__in=images_of)
    trained = TrainingAnswer.objects.filter(trainee_id__in=user_ids, image_id__in=images_of)
    met = set(reviewed.values_list("reviewer_id", "item__image_id").distinct().order_by())
    met.update(trained.values_list("trainee_id", "image_id").distinct().order_by())
    return {(user_id, image_id) for user_id, seen_id in met for image_id in images_of[seen_id]}


def _assign_images(phase):
    """Rebuild every participant's image list (no answers exist yet): the sample in an order of their own,
    each image flagged seen or, when the phase excludes seen images, left out."""
    participants = list(phase.participants.select_related("user"))
    sample = list(phase.images.order_by("position").values_list("pk", "image_id"))
    seen = seen_pairs([p.user_id for p in participants], [image_id for _, image_id in sample])
    ParticipantImage.objects.filter(participant__phase=phase).delete()
    rows = []
    for participant in participants:
        order = list(sample)
        random.Random(f"{phase.seed}:{participant.user.username}").shuffle(order)
        position = 0
        for phase_image_id, image_id in order:
            was_seen = (participant.user_id, image_id) in seen
            if was_seen and phase.exclude_seen:
                continue
            rows.append(
                ParticipantImage(
                    participant=participant, phase_image_id=phase_image_id, position=position, seen=was_seen
                )
            )
            position += 1
        participant.image_count, participant.answered = position, 0
    ParticipantImage.objects.bulk_create(rows, batch_size=2000)
    Participant.objects.bulk_update(participants, ["image_count", "answered"])


def _store_sample(phase, counts, splits):
    strata, drawn = draw_sample(counts, splits, phase.seed)
    phase.images.all().delete()
    PhaseImage.objects.bulk_create(
        [
            PhaseImage(
                phase=phase,
                image_id=image_id,
                dataset_id=dataset_id,
                split=split,
                position=position,
                token=secrets.token_urlsafe(18),
            )
            for position, (image_id, dataset_id, split) in enumerate(drawn)
        ],
        batch_size=2000,
    )
    phase.strata, phase.image_count = strata, len(drawn)


def _store_participants(phase, users):
    phase.participants.exclude(user__in=users).delete()
    have = set(phase.participants.values_list("user_id", flat=True))
    Participant.objects.bulk_create([Participant(phase=phase, user=user) for user in users if user.pk not in have])


# --- the phase's life ---------------------------------------------------------------------------------------


def create_phase(
    *,
    name,
    datasets,
    participants,
    splits=(),
    seed=0,
    instructions="",
    exclude_seen=False,
    created_by=None,
):
    """A draft phase with its sample drawn and each participant's image list made.

    datasets: {dataset name: N}; splits: class splits to stratify by (N per dataset and split).
    """
    name = _clean_name(name)
    counts = _clean_counts(datasets)
    splits = _clean_splits(splits)
    users = _clean_participants(participants)
    seed = _clean_seed(seed)
    try:
        with transaction.atomic():
            phase = Phase.objects.create(
                name=name,
                instructions=(instructions or "").strip() or DEFAULT_INSTRUCTIONS,
                strata=[],
                seed=seed,
                exclude_seen=bool(exclude_seen),
                created_by=created_by,
            )
            _store_sample(phase, counts, splits)
            phase.save(update_fields=["strata", "image_count"])
            _store_participants(phase, users)
            _assign_images(phase)
    except IntegrityError:
        raise PhaseInputError("name", f"a phase named {name!r} already exists") from None
    return phase


UNSET = object()


def update_phase(
    phase,
    *,
    name=UNSET,
    datasets=UNSET,
    splits=UNSET,
    seed=UNSET,
    participants=UNSET,
    instructions=UNSET,
    exclude_seen=UNSET,
):
    """Edit a draft phase; a change of datasets, splits or seed draws the sample again."""
    _require_state(phase, PhaseState.DRAFT, "editing")
    new = {}
    if name is not UNSET:
        new["name"] = _clean_name(name, phase)
    if instructions is not UNSET:
        new["instructions"] = (instructions or "").strip() or DEFAULT_INSTRUCTIONS
    if seed is not UNSET:
        new["seed"] = _clean_seed(seed)
    if exclude_seen is not UNSET:
        new["exclude_seen"] = bool(exclude_seen)
    redraw = datasets is not UNSET or splits is not UNSET or seed is not UNSET
    counts = _clean_counts(
        datasets if datasets is not UNSET else [{"dataset": s["dataset"], "count": s["count"]} for s in phase.strata]
    )
    if splits is UNSET:
        splits = list(dict.fromkeys(s["split"] for s in phase.strata if s["split"]))
    splits = _clean_splits(splits)
    users = _clean_participants(participants) if participants is not UNSET else None
    with transaction.atomic():
        phase = Phase.objects.select_for_update().get(pk=phase.pk)
        _require_state(phase, PhaseState.DRAFT, "editing")
        for field, value in new.items():
            setattr(phase, field, value)
        if redraw:
            _store_sample(phase, counts, splits)
        phase.save()
        if users is not None:
            _store_participants(phase, users)
        _assign_images(phase)
    return phase


def open_phase(phase, at=None):
    """draft → open: the participants' lists are made again (what they have seen may have changed)."""
    with transaction.atomic():
        phase = Phase.objects.select_for_update().get(pk=phase.pk)
        _require_state(phase, PhaseState.DRAFT, "opening")
        if not phase.image_count:
            raise PhaseInputError("images", "the phase has no images")
        if not phase.participants.exists():
            raise PhaseInputError("participants", "the phase has no participants")
        _assign_images(phase)
        phase.state, phase.opened_at = PhaseState.OPEN, at or timezone.now()
        phase.save(update_fields=["state", "opened_at"])
    return phase


def human_model_name(phase, user):
    return f"human {user.get_username()} ({phase.name})"


def close_phase(phase, at=None):
    """open → closed: each participant's answers become the human predictions of their own classifier
    model (kind "human"), and their new (image, wnid) pairs become review items in the reviewers' queue.

    Returns how many review items were added.
    """
    added = 0
    with transaction.atomic():
        phase = Phase.objects.select_for_update().get(pk=phase.pk)
        _require_state(phase, PhaseState.OPEN, "closing")
        phase.state, phase.closed_at = PhaseState.CLOSED, at or timezone.now()
        phase.save(update_fields=["state", "closed_at"])
        dataset_ids = set(phase.images.values_list("dataset_id", flat=True).distinct().order_by())
        datasets = list(Dataset.objects.filter(pk__in=dataset_ids))
        for participant in phase.participants.select_related("user"):
            answers = list(
                ParticipantImage.objects.filter(participant=participant, answered_at__isnull=False).values_list(
                    "phase_image__image_id", "wnid"
                )
            )
            if not answers:
                continue
            name = human_model_name(phase, participant.user)
            model, _ = ClassifierModel.objects.get_or_create(
                name=name,
                defaults={
                    "kind": PredictorKind.HUMAN,
                    "description": f"Answers of {participant.user.get_username()} in evaluation phase {phase.name}.",
                },
            )
            if model.kind != PredictorKind.HUMAN:
                raise PhaseInputError("participants", f"classifier model {name!r} exists and is not a human predictor")
            Prediction.objects.filter(model=model).delete()
            Prediction.objects.bulk_create(
                [
                    Prediction(model=model, image_id=image_id, top1_wnid=wnid, wnids=[wnid], scores=None)
                    for image_id, wnid in answers
                ],
                batch_size=2000,
            )
            participant.model = model
            participant.save(update_fields=["model"])
            for dataset in datasets:
                added += sync_review_items(dataset=dataset, model=model)
            prediction_blocks.rebuild(model.pk)
    return added


# --- participants' work -------------------------------------------------------------------------------------


def start_next_image(*, phase, participant, at=None):
    """The participant's first unanswered image, its start time set to now (each time it is put on
    screen: after a break, the clock starts again). None when every image is answered."""
    _require_state(phase, PhaseState.OPEN, "labeling")
    with transaction.atomic():
        item = (
            ParticipantImage.objects.select_for_update()
            .filter(participant=participant, answered_at__isnull=True)
            .select_related("phase_image")
            .order_by("position")
            .first()
        )
        if item is None:
            return None
        item.started_at = at or timezone.now()
        item.save(update_fields=["started_at"])
    return item


def record_answer(*, phase, participant, token, wnid, at=None):
    """The participant's class for one image of their list (by its token); final, no feedback."""
    _require_state(phase, PhaseState.OPEN, "answering")
    wnid = (wnid or "").strip()
    if not taxonomy.is_class(wnid):
        raise PhaseInputError("wnid", f"{wnid!r} is not an ImageNet class wnid")
    at = at or timezone.now()
    with transaction.atomic():
        item = (
            ParticipantImage.objects.select_for_update()
            .filter(participant=participant, phase_image__token=token, phase_image__phase=phase)
            .first()
        )
        if item is None:
            raise PhaseInputError("image", f"image {token!r} is not in your list for this phase")
        if item.answered_at is not None:
            raise PhaseInputError("image", "you already answered this image")
        if item.started_at is None:
            raise PhaseInputError("image", "this image was not shown to you yet: ask for the next image first")
        item.wnid, item.answered_at = wnid, max(at, item.started_at)
        item.save(update_fields=["wnid", "answered_at"])
        Participant.objects.filter(pk=participant.pk).update(answered=F("answered") + 1)
    participant.answered += 1
    return item
