"""How the training API reads its input and writes its answers."""

from rest_framework import serializers

from annotate.models import ProblemReason, SuggestionKind
from training import services
from training.models import TaskSource
from training.services import MAX_OFFSET


class TaskInput(serializers.Serializer):
    name = serializers.CharField(max_length=services.MAX_NAME_LENGTH)
    dataset = serializers.CharField()
    source = serializers.ChoiceField(choices=TaskSource.choices)
    offset_start = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_OFFSET)
    offset_end = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_OFFSET)
    node_wnid = serializers.CharField(required=False, allow_blank=True, default="")
    wnids = serializers.JSONField(
        required=False, default=list, help_text="a list of wnids, or one comma-separated text"
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    shuffle = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_wnids(self, value):
        if not isinstance(value, str | list) or (
            isinstance(value, list) and not all(isinstance(w, str) for w in value)
        ):
            raise serializers.ValidationError("give a list of wnids or one comma-separated text")
        return value


class AnswerInput(serializers.Serializer):
    image = serializers.IntegerField()
    wnid = serializers.CharField(max_length=20)
    seconds_taken = serializers.FloatField(
        required=False, allow_null=True, default=None, help_text="how long the image was on screen"
    )


class SuggestionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SuggestionKind.choices)
    reason = serializers.ChoiceField(choices=ProblemReason.choices, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
