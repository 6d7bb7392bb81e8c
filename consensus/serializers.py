from django.urls import reverse
from rest_framework import serializers

import taxonomy
from annotate.labelling import MAX_OVERLAP
from annotate.models import DecidedVerdict, Rule
from annotate.serializers import item_data


class PolicyInput(serializers.Serializer):
    rule = serializers.ChoiceField(choices=Rule.choices)
    overlap = serializers.IntegerField(min_value=1, max_value=MAX_OVERLAP)
    golden_rate = serializers.FloatField(min_value=0, max_value=1, required=False)


class AggregateInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=Rule.choices, required=False, help_text="default: the dataset's rule")


class AdjudicationInput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=DecidedVerdict.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def policy_data(policy):
    return {
        "dataset": policy.dataset.name,
        "rule": policy.rule,
        "overlap": policy.overlap,
        "golden_rate": policy.golden_rate,
        "updated_at": policy.updated_at,
    }


def posterior_data(item):
    posterior = getattr(item, "posterior", None)
    if posterior is None:
        return None
    return {"correct": posterior.p_correct, "wrong": posterior.p_wrong, "unclear": posterior.p_unclear}


def adjudication_item_data(item):
    """An item of the adjudication queue: what the senior reviewer needs to decide it."""
    original = taxonomy.get(item.image.original_wnid)
    return {
        **item_data(item),
        "source": item.source,
        "posterior": posterior_data(item),
        "votes": [
            {"reviewer": vote.reviewer.username, "verdict": vote.value, "at": vote.updated_at} for vote in item.votes
        ],
        "image": {
            "id": item.image_id,
            "file_name": item.image.file_name,
            "position": item.image.position,
            "original_wnid": item.image.original_wnid,
            "original_words": list(original.words),
            "display_url": reverse("image-display", args=[item.image_id]) if item.image.available else None,
        },
    }
