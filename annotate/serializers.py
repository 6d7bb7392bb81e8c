from pathlib import Path

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

import taxonomy
from annotate import jobs
from annotate.models import (
    ClassifierModel,
    Dataset,
    ProblemReason,
    SuggestionResolution,
    Verdict,
)
from annotate.selectors import problematic_flag


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["name", "description", "created_at"]


class ClassifierModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassifierModel
        fields = ["name", "description", "simulated", "architecture", "weights", "random_weights", "created_at"]


class VerdictInput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    based_on = serializers.ChoiceField(
        choices=Verdict.choices,
        required=False,
        help_text="The verdict shown before this change: where the item has moved on since, the answer is 409.",
    )


class FlagBase(serializers.Serializer):
    based_on = serializers.ChoiceField(
        choices=[("", "not flagged"), *ProblemReason.choices],
        required=False,
        help_text="The flag's reason as shown before this change ('' for none): where it has moved on, 409.",
    )


class ProblematicInput(FlagBase):
    reason = serializers.ChoiceField(choices=ProblemReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ResolutionInput(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=SuggestionResolution.choices)


def item_data(item, own_verdict=None):
    """One review item; where the reviewer answers blind (see selectors.image_for_review), with their own verdict
    in place of the item's label and nobody's name."""
    synset = taxonomy.get(item.wnid)
    blind = own_verdict is not None
    return {
        "id": item.pk,
        "wnid": item.wnid,
        "words": list(synset.words),
        "gloss": synset.gloss,
        "is_original": item.is_original,
        "model_count": item.model_count,
        "verdict": own_verdict if blind else item.verdict,
        "verdict_by": None if blind or not item.verdict_by else item.verdict_by.username,
        "verdict_at": None if blind else item.verdict_at,
    }


def flag_data(flag):
    if flag is None:
        return None
    return {
        "reason": flag.reason,
        "note": flag.note,
        "reviewer": flag.reviewer.username,
        "time_marked": flag.time_marked,
        "time_reviewed": flag.time_reviewed,
    }


def image_review_data(image):
    """What the review page needs of one image (from `selectors.image_for_review`)."""
    return {
        "id": image.pk,
        "dataset": image.dataset.name,
        "position": image.position,
        "file_name": image.file_name,
        "original_wnid": image.original_wnid,
        "width": image.width,
        "height": image.height,
        "available": image.available,
        "display_url": reverse("image-display", args=[image.pk]) if image.available else None,
        "original_url": reverse("image-original", args=[image.pk]) if image.available else None,
        "items": [item_data(item, item.own_verdict) for item in image.items],
        "problematic": flag_data(problematic_flag(image)),
        "suggestions": [suggestion_data(suggestion) for suggestion in image.open_suggestions],
    }


def suggestion_data(suggestion):
    synset = taxonomy.get(suggestion.wnid) if suggestion.wnid else None
    return {
        "id": suggestion.pk,
        "image": suggestion.image_id,
        "kind": suggestion.kind,
        "wnid": suggestion.wnid or None,
        "words": list(synset.words) if synset else [],
        "reason": suggestion.reason or None,
        "note": suggestion.note,
        "suggested_by": suggestion.suggested_by.username,
        "created_at": suggestion.created_at,
        "resolution": suggestion.resolution or None,
        "resolved_at": suggestion.resolved_at,
    }


class PredictionJobInput(serializers.Serializer):
    model = serializers.CharField(help_text="torchvision classification model, e.g. resnet50")
    dataset = serializers.CharField()
    weights = serializers.CharField(default="DEFAULT", help_text="DEFAULT, an enum name, a checkpoint path or none")
    batch_size = serializers.IntegerField(default=jobs.DEFAULT_BATCH_SIZE, min_value=1, max_value=4096)
    shard_size = serializers.IntegerField(default=jobs.DEFAULT_SHARD_SIZE, min_value=1, max_value=100_000)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate_weights(self, weights):
        """A checkpoint named over HTTP must be a file under CHECKPOINT_ROOTS: the web never reads other files."""
        from annotate.inference import ModelSpec  # imports torch, as starting the job does anyway

        if not ModelSpec("", weights).checkpoint:
            return weights
        path = Path(weights).resolve()
        roots = [Path(root).resolve() for root in settings.CHECKPOINT_ROOTS]
        if not any(path.is_relative_to(root) for root in roots):
            raise ValidationError(f"checkpoints must lie under {', '.join(map(str, roots))}; {weights} does not")
        return weights


class ShardedJobProgress(serializers.Serializer):
    """A sharded job's progress (sharded_jobs.JobKind.progress), for the schema."""

    id = serializers.IntegerField()
    shard_size = serializers.IntegerField()
    state = serializers.CharField()
    error = serializers.CharField(allow_blank=True)
    shards_total = serializers.IntegerField()
    shards_done = serializers.IntegerField()
    images_total = serializers.IntegerField()
    images_done = serializers.IntegerField()
    images_failed = serializers.IntegerField()
    images_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class JobProgress(ShardedJobProgress):
    """A prediction job's progress (jobs.job_progress), for the schema."""

    model = serializers.CharField()
    architecture = serializers.CharField()
    weights = serializers.CharField()
    random_weights = serializers.BooleanField()
    batch_size = serializers.IntegerField()
    dataset = serializers.CharField()
    new_review_items = serializers.IntegerField(allow_null=True, help_text="null until the job finishes")


class ImportBatchSerializer(serializers.Serializer):
    """The schema of an import batch as batch_data gives it."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    source = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    overwrite = serializers.BooleanField()
    summary = serializers.DictField()
    undoes = serializers.IntegerField(allow_null=True)
    undone_by = serializers.IntegerField(allow_null=True)


class ListedImageSerializer(serializers.Serializer):
    """The schema of one image of the list as listed_image_data gives it."""

    id = serializers.IntegerField()
    position = serializers.IntegerField()
    file_name = serializers.CharField()
    original_wnid = serializers.CharField()
    original_label = serializers.CharField()
    display_url = serializers.CharField(allow_null=True, help_text="the display JPEG; none before the file arrives")
    reviewed = serializers.BooleanField(
        help_text="no item left to review and no suggestion open; where you answer blind, none awaits your answer"
    )
    suggested = serializers.BooleanField(help_text="an open suggestion from a trainee")
    problematic = serializers.CharField(allow_null=True, help_text="the reason of its problematic flag")
    latest_verdict_at = serializers.DateTimeField(allow_null=True, help_text="your latest verdict on it (sort=recent)")


class ImagePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True, help_text="images in the list; on its first page only")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ListedImageSerializer(many=True)
