"""How the near-duplicate API reads its input and writes its answers."""

from django.urls import reverse
from rest_framework import serializers

from annotate.serializers import ShardedJobProgress
from nearduplicates import services
from nearduplicates.index_choice import DEFAULT_NPROBE, MAX_NPROBE
from nearduplicates.models import Metric, Override, PairVerdict, SearchIndex


class SearchInput(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.values)
    against = serializers.ListField(
        child=serializers.CharField(),
        allow_empty=False,
        help_text="names of the datasets to search, e.g. the reference",
    )
    k = serializers.IntegerField(default=services.DEFAULT_K, min_value=1, max_value=services.MAX_K)
    architecture = serializers.CharField(
        default="",
        allow_blank=True,
        help_text=f"cnn only: torchvision model ({services.DEFAULT_ARCHITECTURE} if blank)",
    )
    weights = serializers.CharField(
        default="", allow_blank=True, help_text="cnn only: DEFAULT, a weights enum name or none (a blank: DEFAULT)"
    )
    batch_size = serializers.IntegerField(default=services.DEFAULT_BATCH_SIZE, min_value=1, max_value=4096)
    shard_size = serializers.IntegerField(
        default=services.DEFAULT_SEARCH_SHARD_SIZE,
        min_value=1,
        max_value=10_000_000,
        help_text="reference vectors per shard",
    )
    feature_shard_size = serializers.IntegerField(
        default=services.DEFAULT_FEATURE_SHARD_SIZE,
        min_value=1,
        max_value=100_000,
        help_text="images per feature shard",
    )
    index = serializers.ChoiceField(
        choices=SearchIndex.values,
        default=SearchIndex.AUTO,
        help_text="vector metrics: exact, ivf (approximate, each shard indexing its part), or auto by the reference's "
        "size",
    )
    nprobe = serializers.IntegerField(
        default=DEFAULT_NPROBE, min_value=1, max_value=MAX_NPROBE, help_text="ivf: lists visited per query"
    )

    def validate_weights(self, weights):
        # The web never names files on the server: checkpoints go through the command.
        if "/" in weights or weights.endswith((".pt", ".pth")):
            raise serializers.ValidationError("checkpoints are for the find_near_duplicates command; name weights")
        return weights


class FeatureJobProgress(ShardedJobProgress):
    dataset = serializers.CharField()


class SearchProgress(ShardedJobProgress):
    testset = serializers.CharField()
    metric = serializers.CharField()
    k = serializers.IntegerField()
    architecture = serializers.CharField(allow_blank=True)
    weights = serializers.CharField(allow_blank=True)
    index = serializers.CharField(help_text="auto until the search is planned, then exact or ivf: the one used")
    nprobe = serializers.IntegerField()
    shards_building = serializers.IntegerField(help_text="running shards building their IVF index")
    vectors_indexed = serializers.IntegerField(help_text="reference vectors added to the shards' IVF indexes")
    against = serializers.ListField(child=serializers.CharField())
    neighbours_written = serializers.IntegerField(allow_null=True)
    feature_jobs = FeatureJobProgress(many=True)
    finished = serializers.BooleanField()


class ThresholdInput(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="a distance; null: back to the proposal")

    def validate_value(self, value):
        # FloatField reads true as 1.0: a threshold of "true" is a mistake, not a distance.
        if isinstance(self.initial_data.get("value"), bool):
            raise serializers.ValidationError("a distance is a number, not true or false")
        return value


class ThresholdRow(serializers.Serializer):
    metric = serializers.CharField()
    value = serializers.FloatField()
    proposed = serializers.FloatField(help_text="from the nearest distances of the last search")
    set_by = serializers.CharField(allow_null=True)
    set_at = serializers.DateTimeField()
    under = serializers.IntegerField(help_text="neighbours at most this far")
    waiting = serializers.IntegerField(help_text="candidates with a neighbour under it that wants a verdict")


class ImageRef(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    dataset = serializers.CharField(source="dataset.name")
    wnid = serializers.CharField(source="original_wnid")
    display_url = serializers.SerializerMethodField()

    def get_display_url(self, image) -> str | None:
        return reverse("image-display", args=[image.pk]) if image.available else None


class NeighbourRow(serializers.Serializer):
    image = ImageRef()
    rank = serializers.IntegerField()
    distance = serializers.FloatField()
    under_threshold = serializers.BooleanField()
    verdict = serializers.CharField(allow_blank=True, help_text='duplicate, distinct, or "" when none')
    reviewed_by = serializers.CharField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)


class CandidateNeighbours(serializers.Serializer):
    candidate = serializers.IntegerField()
    image = ImageRef()
    wnid = serializers.CharField()
    source_id = serializers.CharField(allow_blank=True)
    date_taken = serializers.DateTimeField(allow_null=True)
    held_back = serializers.CharField(allow_null=True, help_text="why sampling may not take it; null when it may")
    override = serializers.CharField(allow_blank=True, help_text='keep, reject, or ""')
    neighbours = serializers.DictField(child=NeighbourRow(many=True), help_text="per metric, nearest first")


class ReviewQueue(serializers.Serializer):
    count = serializers.IntegerField()
    candidates = serializers.ListField(child=serializers.IntegerField(), help_text="nearest pairs first")


class PairVerdictInput(serializers.Serializer):
    image = serializers.IntegerField(min_value=1, help_text="the neighbour's image id")
    verdict = serializers.ChoiceField(choices=["", *PairVerdict.values], help_text='"" takes the verdict back')


class OverrideInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["", *Override.values], help_text='"" takes the override back')
    note = serializers.CharField(default="", allow_blank=True, max_length=2000)


class GroupMember(serializers.Serializer):
    candidate = serializers.IntegerField()
    file_name = serializers.CharField()
    survives = serializers.BooleanField()
    reason = serializers.CharField()
    related = serializers.IntegerField(allow_null=True, help_text="the reference image or kept candidate it names")


class DuplicateGroup(serializers.Serializer):
    members = GroupMember(many=True, help_text="a component of duplicates and shared source ids")
