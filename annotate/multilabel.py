"""The TFDS `imagenet2012_multilabel` JSON: export and import of verdicts and problematic flags."""

import json
from collections import defaultdict
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate import taxonomy
from annotate.errors import ImportFailed
from annotate.models import (
    DECIDED_VERDICTS,
    FlagChange,
    Image,
    ProblematicFlag,
    ProblemReason,
    ReviewItem,
    Slice,
    Suggestion,
    VerdictChange,
)

FORMATS = ("tfds",)
IMAGENET_M = "imagenet-m"
IMPORTED_REVIEWER = "imported"
EXPORTED_VERDICTS = tuple(str(v) for v in DECIDED_VERDICTS)


def export_tfds(dataset, m_slice=IMAGENET_M):
    """The multi-label annotation of a dataset as the dict the TFDS builder reads."""
    annots = defaultdict(lambda: defaultdict(list))
    rows = (
        ReviewItem.objects.filter(dataset=dataset, verdict__in=EXPORTED_VERDICTS)
        .order_by("image__file_name", "wnid")
        .values_list("image__file_name", "verdict", "wnid")
    )
    for file_name, verdict, wnid in rows.iterator(chunk_size=20000):
        annots[file_name][verdict].append(wnid)
    problematic = {
        file_name: {
            "reason": reason,
            "reviewer": reviewer,
            "time_marked": marked.isoformat(),
            "time_reviewed": reviewed.isoformat(),
        }
        for file_name, reason, reviewer, marked, reviewed in ProblematicFlag.objects.filter(image__dataset=dataset)
        .order_by("image__file_name")
        .values_list("image__file_name", "reason", "reviewer__username", "time_marked", "time_reviewed")
    }
    result = {}
    if annots:
        result["initial_annots"] = {name: dict(verdicts) for name, verdicts in annots.items()}
    if problematic:
        result["problematic_images"] = problematic
    m_images = sorted(Image.objects.filter(dataset=dataset, slices__name=m_slice).values_list("file_name", flat=True))
    if m_images:
        result["imagenet_m"] = m_images
    return result


def dumps(document):
    return json.dumps(document, sort_keys=True, indent=1)


def _reviewer(username, cache):
    if username not in cache:
        user, created = get_user_model().objects.get_or_create(username=username[:150])
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        cache[username] = user
    return cache[username]


def _parse_time(value, where):
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ImportFailed(f"{where}: {value!r} is not an ISO-8601 time") from None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed, timezone.utc)


def read_tfds(text, source):
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{source}: not valid JSON ({exc})") from exc
    unknown = (
        set(document) - {"initial_annots", "problematic_images", "imagenet_m"} if isinstance(document, dict) else None
    )
    if unknown is None:
        raise ImportFailed(f"{source}: expected a JSON object with 'initial_annots'")
    if unknown:
        raise ImportFailed(f"{source}: unknown keys {sorted(unknown)}")
    return document


def import_tfds(*, dataset, document, source="file"):
    """Apply a TFDS multi-label file to a dataset's registered images; all or nothing."""
    images = dict(Image.objects.filter(dataset=dataset).values_list("file_name", "pk"))
    verdicts, flags = [], []
    for name, labels in (document.get("initial_annots") or {}).items():
        where = f"{source}: initial_annots[{name!r}]"
        if name not in images:
            raise ImportFailed(f"{where}: no image of that name in dataset {dataset.name!r}")
        if not isinstance(labels, dict) or set(labels) - set(EXPORTED_VERDICTS):
            raise ImportFailed(f"{where}: expected an object with keys among {', '.join(EXPORTED_VERDICTS)}")
        seen = set()
        for verdict, wnids in labels.items():
            for wnid in wnids if isinstance(wnids, list) else [None]:
                if not isinstance(wnid, str) or not taxonomy.is_class(wnid):
                    raise ImportFailed(f"{where}[{verdict!r}]: {wnid!r} is not an ImageNet-1k wnid")
                if wnid in seen:
                    raise ImportFailed(f"{where}: {wnid} has more than one verdict")
                seen.add(wnid)
                verdicts.append((images[name], wnid, verdict))
    for name, flag in (document.get("problematic_images") or {}).items():
        where = f"{source}: problematic_images[{name!r}]"
        if name not in images:
            raise ImportFailed(f"{where}: no image of that name in dataset {dataset.name!r}")
        if not isinstance(flag, dict) or flag.get("reason") not in ProblemReason.values:
            raise ImportFailed(f"{where}: 'reason' must be one of {', '.join(ProblemReason.values)}")
        marked = _parse_time(flag.get("time_marked"), f"{where}.time_marked")
        reviewed = _parse_time(flag.get("time_reviewed", flag.get("time_marked")), f"{where}.time_reviewed")
        flags.append((images[name], flag["reason"], str(flag.get("reviewer") or IMPORTED_REVIEWER), marked, reviewed))
    m_names = document.get("imagenet_m") or []
    missing = [name for name in m_names if name not in images]
    if missing:
        raise ImportFailed(f"{source}: imagenet_m lists {missing[0]!r}, which is not an image of {dataset.name!r}")

    with transaction.atomic():
        _apply_verdicts(dataset, verdicts)
        _apply_flags(flags)
        if m_names:
            m_slice, _ = Slice.objects.get_or_create(dataset=dataset, name=IMAGENET_M)
            m_slice.images.add(*[images[name] for name in m_names])
    return {"verdicts": len(verdicts), "problematic_images": len(flags), "imagenet_m": len(m_names)}


def _apply_verdicts(dataset, verdicts):
    now = timezone.now()
    importer = _reviewer(IMPORTED_REVIEWER, {})
    pairs = {(image_id, wnid) for image_id, wnid, _ in verdicts}
    image_ids = {image_id for image_id, _ in pairs}
    items = {
        (item.image_id, item.wnid): item
        for item in ReviewItem.objects.filter(image_id__in=image_ids).only("pk", "image_id", "wnid", "verdict")
    }
    originals = dict(Image.objects.filter(pk__in=image_ids).values_list("pk", "original_wnid"))
    ReviewItem.objects.bulk_create(
        [
            ReviewItem(image_id=image_id, dataset=dataset, wnid=wnid, is_original=originals[image_id] == wnid)
            for image_id, wnid in pairs - set(items)
        ],
        batch_size=5000,
    )
    items = {
        (item.image_id, item.wnid): item
        for item in ReviewItem.objects.filter(image_id__in=image_ids).only("pk", "image_id", "wnid", "verdict")
    }
    changes, changed = [], []
    for image_id, wnid, verdict in verdicts:
        item = items[(image_id, wnid)]
        if item.verdict == verdict:
            continue
        changes.append(VerdictChange(item=item, reviewer=importer, old=item.verdict, new=verdict, created_at=now))
        item.verdict, item.verdict_by, item.verdict_at = verdict, importer, now
        changed.append(item)
    VerdictChange.objects.bulk_create(changes, batch_size=5000)
    ReviewItem.objects.bulk_update(changed, ["verdict", "verdict_by", "verdict_at"], batch_size=2000)
    _recount_pending(image_ids)


def _recount_pending(image_ids):
    """Unreviewed items plus open suggestions (see Image.pending_items)."""
    pending = (
        ReviewItem.objects.filter(image=OuterRef("pk"))
        .values("image")
        .annotate(n=Count("pk", filter=Q(verdict="unreviewed")))
        .values("n")
    )
    suggestions = (
        Suggestion.objects.filter(image=OuterRef("pk"), resolved_at__isnull=True)
        .values("image")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Image.objects.filter(pk__in=image_ids).update(pending_items=Subquery(pending) + Coalesce(Subquery(suggestions), 0))


def _apply_flags(flags):
    reviewers = {}
    for image_id, reason, username, marked, reviewed in flags:
        reviewer = _reviewer(username, reviewers)
        FlagChange.objects.create(image_id=image_id, reviewer=reviewer, reason=reason, created_at=reviewed)
        ProblematicFlag.objects.update_or_create(
            image_id=image_id,
            defaults={"reason": reason, "reviewer": reviewer, "time_marked": marked, "time_reviewed": reviewed},
        )
