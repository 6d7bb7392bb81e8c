from django.urls import reverse
from rest_framework import serializers

import taxonomy
from annotate.models import ClassifierModel, Dataset, ProblemReason, SuggestionResolution, Verdict
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
