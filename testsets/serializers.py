"""How the test sets' API reads its input and writes its answers."""

from rest_framework import serializers

from testsets.models import TaskImage

# The most images a task's answer may name: positions are small integers, and a grid shows tens of them.
MAX_SELECTED = 1000
TOKEN_LENGTH = TaskImage._meta.get_field("token").max_length


class AssignmentInput(serializers.Serializer):
    selected = serializers.ListField(
        child=serializers.CharField(max_length=TOKEN_LENGTH),
        allow_empty=True,
        max_length=MAX_SELECTED,
        help_text="the tokens of the images you selected (none: no image shows the class)",
    )
    started_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="when the task was put on your screen"
    )


class TaskProgress(serializers.Serializer):
    answered = serializers.IntegerField(help_text="tasks of this test set you answered")
    available = serializers.IntegerField(help_text="those plus the tasks open to you now")
    text = serializers.CharField(help_text='"12 of 40 tasks"')


class TaskSynset(serializers.Serializer):
    wnid = serializers.CharField()
    words = serializers.ListField(child=serializers.CharField(), help_text="the class's synonyms")
    gloss = serializers.CharField(allow_blank=True)
    guide_url = serializers.CharField(help_text="the class's page of the labeling guide")


class GridImage(serializers.Serializer):
    token = serializers.CharField(help_text="opaque: names this image in this task only")
    url = serializers.CharField(help_text="the image as a JPEG of the one size every task image has")


class GridTask(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    synset = TaskSynset()
    images = GridImage(many=True, help_text="in their order on the grid")


class NextTaskAnswer(serializers.Serializer):
    task = GridTask(allow_null=True, help_text="null when no task is left for you")
    instructions = serializers.CharField()
    progress = TaskProgress()
    detail = serializers.CharField(required=False, help_text="why no task is left (only then)")


class AssignmentAnswer(serializers.Serializer):
    task = serializers.IntegerField()
    progress = TaskProgress()


class TestSetSummary(serializers.Serializer):
    name = serializers.CharField()
    reference = serializers.CharField(help_text="the dataset it is built against")
    pool = serializers.CharField(help_text="the dataset holding its candidates")
    per_class = serializers.IntegerField()
    min_annotations = serializers.IntegerField()
    quality_threshold = serializers.FloatField()
    classes = serializers.IntegerField(help_text="classes with candidates")
    candidates = serializers.IntegerField()
    blacklisted = serializers.IntegerField()
    tasks = serializers.IntegerField()
    assignments = serializers.IntegerField()
    revisions = serializers.IntegerField()


class ClassCandidates(serializers.Serializer):
    candidates = serializers.IntegerField()
    blacklisted = serializers.IntegerField()


class TestSetStatus(TestSetSummary):
    classes_detail = serializers.DictField(child=ClassCandidates(), help_text="per class (wnid)")


class BlacklistInput(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text='why the candidate is left out; "" takes it back')
    note = serializers.CharField(allow_blank=True, required=False, default="")


class BlacklistAnswer(serializers.Serializer):
    candidate = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)


def _with_from(fields, from_field):
    """`fields` led by one named "from", a Python keyword that no class attribute can be called."""
    return {"from": from_field, **fields}


class SampleInput(serializers.Serializer):
    strategy = serializers.CharField(help_text="matched-frequency, threshold or top")
    per_class = serializers.IntegerField(required=False, allow_null=True, help_text="default: the test set's")
    seed = serializers.IntegerField(required=False, default=0, min_value=0)
    threshold = serializers.FloatField(required=False, allow_null=True, help_text="the threshold strategy's")
    thresholds = serializers.DictField(
        child=serializers.FloatField(), required=False, allow_null=True, help_text="per-class thresholds by wnid"
    )

    def get_fields(self):
        return _with_from(
            super().get_fields(),
            serializers.IntegerField(
                required=False, allow_null=True, help_text="the revision to start from (its number)"
            ),
        )


class ShortClass(serializers.Serializer):
    wanted = serializers.IntegerField()
    sampled = serializers.IntegerField()
    reason = serializers.CharField()


class SampledImage(serializers.Serializer):
    file_name = serializers.CharField()
    wnid = serializers.CharField()
    frequency = serializers.FloatField()
    bin = serializers.IntegerField()


class SampleAnswer(serializers.Serializer):
    revision = serializers.IntegerField(help_text="the new revision's number")
    upward = serializers.IntegerField(help_text="images taken from a higher bin than their own")
    short_classes = serializers.DictField(child=ShortClass(), help_text="classes that got fewer images than wanted")
    images = SampledImage(many=True)


class RevisionSummary(serializers.Serializer):
    number = serializers.IntegerField()
    strategy = serializers.CharField()
    parameters = serializers.DictField()
    seed = serializers.IntegerField()
    parent = serializers.IntegerField(source="parent.number", allow_null=True, help_text="its parent's number")
    upward = serializers.IntegerField()
    short_classes = serializers.DictField(child=ShortClass())
    created_at = serializers.DateTimeField()
    images = serializers.IntegerField(source="image_count")


class ClassChanges(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField(), help_text="file names")
    removed = serializers.ListField(child=serializers.CharField())
    kept = serializers.ListField(child=serializers.CharField())


class RevisionComparison(serializers.Serializer):
    to = serializers.IntegerField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    kept = serializers.IntegerField()
    classes = serializers.DictField(child=ClassChanges(), help_text="per class (wnid)")

    def get_fields(self):
        return _with_from(super().get_fields(), serializers.IntegerField())


class AnnotatorDay(serializers.Serializer):
    day = serializers.DateField()
    assignments = serializers.IntegerField()
    controls = serializers.IntegerField()
    controls_right = serializers.IntegerField()
    excluded = serializers.IntegerField(help_text="assignments under the quality threshold")
    accuracy = serializers.FloatField(allow_null=True, help_text="on controls; null without controls")


class AnnotatorQuality(AnnotatorDay):
    day = None
    annotator = serializers.CharField()
    days = AnnotatorDay(many=True, help_text="oldest first")
