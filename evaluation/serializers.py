"""How the evaluation API reads its input and writes its answers."""

from rest_framework import serializers

from evaluation import services


class PhaseInput(serializers.Serializer):
    name = serializers.CharField(max_length=services.MAX_NAME_LENGTH)
    datasets = serializers.JSONField(help_text='{"dataset name": N} or [{"dataset": name, "count": N}]')
    splits = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    seed = serializers.IntegerField(required=False, default=0)
    participants = serializers.ListField(child=serializers.CharField(), help_text="usernames")
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    exclude_seen = serializers.BooleanField(required=False, default=False)


class PhaseAnswerInput(serializers.Serializer):
    image = serializers.CharField(max_length=64, help_text="the image's token from the next-image answer")
    wnid = serializers.CharField(max_length=20)


class Progress(serializers.Serializer):
    images = serializers.IntegerField()
    answered = serializers.IntegerField()
    finished = serializers.BooleanField()
    text = serializers.CharField(help_text='"12 of 100"')


class PhaseSummary(serializers.Serializer):
    """A phase in the list (phase_data): the admin fields for admins only, progress for participants only."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)
    state = serializers.CharField()
    progress = Progress(required=False, help_text="yours, where you take part")
    strata = serializers.JSONField(required=False)
    seed = serializers.IntegerField(required=False)
    exclude_seen = serializers.BooleanField(required=False)
    images = serializers.IntegerField(required=False)
    created_at = serializers.DateTimeField(required=False)
    opened_at = serializers.DateTimeField(required=False, allow_null=True)
    closed_at = serializers.DateTimeField(required=False, allow_null=True)


class PhaseAnswer(serializers.Serializer):
    image = serializers.CharField(help_text="the image's token")
    position = serializers.IntegerField()
    wnid = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    seconds_taken = serializers.FloatField(allow_null=True)


class ParticipantImageRow(serializers.Serializer):
    participant = serializers.CharField()
    image = serializers.IntegerField()
    file_name = serializers.CharField()
    seen = serializers.BooleanField()
