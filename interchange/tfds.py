"""The TFDS `imagenet2012_multilabel` JSON: each image's correct, wrong and unclear wnids, problematic images and
the ImageNet-M slice."""

import json
import re
from collections import Counter, defaultdict

from django.utils import timezone

from annotate.errors import ImportFailed
from annotate.models import DECIDED_VERDICTS, Image, ProblematicFlag, ProblemReason, ReviewItem
from interchange import checks
from interchange.selectors import image_ids_by_name
from interchange.services import Flag, ImportPlan, Vote

IMAGENET_M = "imagenet-m"
EXPORTED_VERDICTS = tuple(str(v) for v in DECIDED_VERDICTS)
KEYS = ("initial_annots", "problematic_images", "imagenet_m")
FLAG_KEYS = ("reason", "reviewer", "time_marked", "time_reviewed")
CONNECTIVES = frozenset({"and", "or"})


def wording(text):
    """The words of a reason, lower case, without punctuation, "and" or "or": "Drawing, painting, sketch, cartoon,
    or render" and "drawing_painting_sketch_cartoon_render" read the same."""
    return " ".join(word for word in re.findall(r"[^\W_]+", text.casefold()) if word not in CONNECTIVES)


# Files written by hand or by other tools word the reasons in their own way; besides our values and labels, these
# are the obvious ones.
REASON_VARIANTS = (
    ("label wrong", ProblemReason.LABEL),
    ("label unclear", ProblemReason.LABEL),
    ("original label wrong", ProblemReason.LABEL),
    ("original label unclear", ProblemReason.LABEL),
    ("wrong label", ProblemReason.LABEL),
    ("edited", ProblemReason.EDITED),
    ("excessive editing", ProblemReason.EDITED),
)
REASONS_BY_WORDING = {
    wording(text): reason
    for text, reason in (
        *((reason.value, reason) for reason in ProblemReason),
        *((reason.label, reason) for reason in ProblemReason),
        *REASON_VARIANTS,
    )
}


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


def export_chunks(dataset, m_slice=IMAGENET_M):
    yield dumps(export_tfds(dataset, m_slice)) + "\n"


def read(text, *, source, dataset, reviewer):
    """The ImportPlan of a TFDS file: its verdicts become `reviewer`'s, as do its flags that name no reviewer.

    Unknown keys (at the top, which the TFDS builder does not read either, or in a problematic image's entry) are
    ignored, and a flag's reason is read whatever its wording (see _reason): the plan's warnings say what was."""
    document = checks.json_document(text, source)
    if not isinstance(document, dict):
        raise ImportFailed(f"{source}: expected a JSON object with {', '.join(repr(key) for key in KEYS)}")
    images = image_ids_by_name(dataset)
    now = timezone.now()
    plan = ImportPlan(source=source, images=0)
    unknown = checks.unknown_keys(document, KEYS)
    if unknown:
        plan.warnings.append(f"{source}: ignored the keys {', '.join(map(repr, unknown))}, which TFDS does not read")
    annotated = document.get("initial_annots") or {}
    if not isinstance(annotated, dict):
        raise ImportFailed(f"{source}: initial_annots must be an object {{file name: verdicts}}")
    for name, labels in annotated.items():
        where = f"{source}: initial_annots[{name!r}]"
        image_id = checks.image_named(images, name, dataset, where)
        if not isinstance(labels, dict) or set(labels) - set(EXPORTED_VERDICTS):
            raise ImportFailed(f"{where}: expected an object with keys among {', '.join(EXPORTED_VERDICTS)}")
        seen = set()
        for verdict, wnids in labels.items():
            for wnid in wnids if isinstance(wnids, list) else [wnids]:
                checks.class_wnid(wnid, f"{where}[{verdict!r}]")
                if wnid in seen:
                    raise ImportFailed(f"{where}: {wnid} has more than one verdict")
                seen.add(wnid)
                plan.votes.append(Vote(image_id, wnid, reviewer, verdict, now))
    flagged = document.get("problematic_images") or {}
    if not isinstance(flagged, dict):
        raise ImportFailed(f"{source}: problematic_images must be an object {{file name: flag}}")
    ignored, other_reasons = Counter(), Counter()
    for name, flag in flagged.items():
        where = f"{source}: problematic_images[{name!r}]"
        image_id = checks.image_named(images, name, dataset, where)
        if not isinstance(flag, dict):
            raise ImportFailed(f"{where}: expected an object with {', '.join(FLAG_KEYS)}")
        ignored.update(checks.unknown_keys(flag, FLAG_KEYS))
        reason, note = _reason(flag.get("reason"), f"{where}.reason")
        if note:
            other_reasons[note] += 1
        marked = checks.time(flag.get("time_marked"), f"{where}.time_marked")
        reviewed = checks.time(flag.get("time_reviewed", flag.get("time_marked")), f"{where}.time_reviewed")
        flagger = checks.username(flag.get("reviewer") or reviewer, f"{where}.reviewer")
        plan.flags.append(Flag(image_id, reason, note, flagger, marked, reviewed))
    if ignored:
        plan.warnings.append(
            f"{source}: problematic_images: ignored unknown keys, with how many images have each: "
            f"{checks.counted(ignored)}"
        )
    if other_reasons:
        plan.warnings.append(
            f"{source}: problematic_images: {other_reasons.total():,} reasons matched none of ours "
            f"({', '.join(ProblemReason.values)}) and were kept as reason other with their text as the note: "
            f"{checks.counted(other_reasons)}"
        )
    m_names = document.get("imagenet_m") or []
    if not isinstance(m_names, list):
        raise ImportFailed(f"{source}: imagenet_m must be a list of file names")
    if m_names:
        where = f"{source}: imagenet_m"
        plan.slices[IMAGENET_M] = [checks.image_named(images, name, dataset, where) for name in m_names]
    plan.images = len(set(annotated) | set(flagged) | set(m_names))
    return plan


def _reason(text, where):
    """(reason, note) of a flag's reason as a file words it: one of ours by its value or label, in any case and
    punctuation, or an obvious variant (REASON_VARIANTS); other text is reason other, the text its note. TFDS
    itself reads no reason, so a flag without one is other too."""
    if text is None:
        return ProblemReason.OTHER.value, ""
    if not isinstance(text, str):
        raise ImportFailed(f"{where}: {text!r} is not text")
    reason = REASONS_BY_WORDING.get(wording(text))
    return (reason.value, "") if reason else (ProblemReason.OTHER.value, text.strip())
