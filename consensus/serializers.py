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


class AnswerInput(serializers.Serializer):
    answer = serializers.ChoiceField(choices=DecidedVerdict.choices)


class GoldenAnswer(serializers.Serializer):
    reviewer = serializers.CharField()
    verdict = serializers.CharField()
    at = serializers.DateTimeField()


class GoldenItem(serializers.Serializer):
    """A golden item as golden_data answers it, for the schema."""

    item = serializers.IntegerField()
    image = serializers.IntegerField()
    file_name = serializers.CharField()
    wnid = serializers.CharField()
    words = serializers.ListField(child=serializers.CharField())
    answer = serializers.ChoiceField(choices=DecidedVerdict.choices)
    answered = serializers.IntegerField(help_text="reviewers who gave a decided verdict")
    right = serializers.IntegerField(help_text="of them, those who gave the known answer")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    answers = GoldenAnswer(many=True, required=False, help_text="each reviewer's verdict")


class ReviewerAccuracy(serializers.Serializer):
    reviewer = serializers.CharField()
    right = serializers.IntegerField()
    answered = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True, help_text="right / answered; null where nothing is answered")
    dont_know = serializers.IntegerField()
