"""How the test sets' API reads its input and writes its answers."""

from rest_framework import serializers

from annotate.models import Dataset
from testsets.models import TaskImage
from testsets.revisions import MAX_SEED

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


class SamplePreview(serializers.Serializer):
    upward = serializers.IntegerField(help_text="images taken from a higher bin than their own")
    short_classes = serializers.DictField(child=ShortClass(), help_text="classes that got fewer images than wanted")
    images = SampledImage(many=True)


class SampleAnswer(SamplePreview):
    revision = serializers.IntegerField(help_text="the new revision's number")


class RevisionSummary(serializers.Serializer):
    number = serializers.IntegerField()
    strategy = serializers.CharField()
    parameters = serializers.DictField()
    seed = serializers.IntegerField()
    parent = serializers.IntegerField(source="parent.number", allow_null=True, help_text="its parent's number")
    upward = serializers.IntegerField()
    short_classes = serializers.DictField(child=ShortClass())
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, help_text="who sampled it")
    dataset = serializers.CharField(
        source="dataset.name", allow_null=True, help_text="the dataset it was made, once made (POST .../dataset/)"
    )
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


class ControlScore(serializers.Serializer):
    controls = serializers.IntegerField()
    controls_right = serializers.IntegerField()
    assignments = serializers.IntegerField(help_text="assignments that scored this")


class AnnotatorQuality(AnnotatorDay):
    day = None
    annotator = serializers.CharField()
    days = AnnotatorDay(many=True, help_text="oldest first")
    excluded_scores = ControlScore(many=True, help_text="why assignments were excluded: their scores, the worst first")


# The admins' writes that the commands have too: a test set created, its tasks created, a crowd's selections imported,
# a revision made a dataset.


class TestSetInput(serializers.Serializer):
    name = serializers.CharField(help_text="letters, digits, '-' or '_'")
    reference = serializers.SlugRelatedField(
        slug_field="name", queryset=Dataset.objects.all(), help_text="the original test set's dataset, by name"
    )
    per_class = serializers.IntegerField(required=False, help_text="images per class in a sample (default 10)")


class FrequencyTasksInput(serializers.Serializer):
    per_task = serializers.IntegerField(required=False, help_text="images per task (default 48)")
    positive_controls = serializers.IntegerField(
        required=False, help_text="reference images of the task's class (default 3)"
    )
    negative_controls = serializers.IntegerField(
        required=False, help_text="reference images of its most similar class (default 3)"
    )
    annotators = serializers.IntegerField(required=False, help_text="assignments wanted per task (default 10)")
    min_reference = serializers.IntegerField(
        required=False, help_text="reference images per class that must reach `annotators` annotations (default 20)"
    )
    seed = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_SEED, help_text="seed of the shuffles (default 0)"
    )


class TaskCounts(serializers.Serializer):
    candidates = serializers.IntegerField(help_text="tasks measuring candidates")
    reference = serializers.IntegerField(help_text="tasks measuring reference images")


class FrequencyTasksAnswer(serializers.Serializer):
    testset = serializers.CharField()
    tasks = TaskCounts(help_text="tasks created")
    images = serializers.IntegerField(help_text="task images created, controls included")
    candidates = serializers.IntegerField(help_text="candidates put in tasks")
    classes = serializers.IntegerField()
    short_of_reference = serializers.DictField(
        child=serializers.IntegerField(), help_text="classes with fewer reference images than min_reference: how many"
    )
    why_none = serializers.CharField(required=False, help_text="why no task was created (only then)")


class SelectionsAnswer(serializers.Serializer):
    testset = serializers.CharField()
    assignments = serializers.IntegerField(help_text="assignments imported")
    annotators = serializers.IntegerField()
    accounts_created = serializers.IntegerField(help_text="annotators who got an account")
    excluded = serializers.IntegerField(help_text="assignments under the quality threshold")
    frequencies = serializers.IntegerField(help_text="(image, class) frequencies after the recount")


class RevisionDatasetAnswer(serializers.Serializer):
    revision = serializers.IntegerField()
    dataset = serializers.CharField(help_text="the dataset's name: review, evaluation phases and scoring take it")


# ---- The admins' class overview and candidate browser (testsets/browse.py) ----------------------------------------


class ClassFigures(serializers.Serializer):
    wnid = serializers.CharField()
    label = serializers.CharField(allow_blank=True, help_text="the class's first name in the taxonomy")
    candidates = serializers.IntegerField()
    blacklisted = serializers.IntegerField()
    annotated = serializers.IntegerField(help_text="candidates with at least one annotation")
    eligible = serializers.IntegerField(help_text="candidates not blacklisted with at least min_annotations")
    unannotated = serializers.IntegerField(help_text="candidates not blacklisted with fewer than min_annotations")
    candidate_bins = serializers.ListField(
        child=serializers.IntegerField(), help_text="the eligible candidates per frequency bin (5 counts)"
    )
    reference = serializers.IntegerField(help_text="reference images with at least min_annotations")
    reference_bins = serializers.ListField(
        child=serializers.IntegerField(), help_text="those reference images per frequency bin (5 counts)"
    )
    short = serializers.BooleanField(help_text="fewer eligible candidates than per_class")


class TestSetClasses(serializers.Serializer):
    bin_edges = serializers.ListField(child=serializers.FloatField(), help_text="a frequency on an edge: the bin above")
    per_class = serializers.IntegerField()
    min_annotations = serializers.IntegerField()
    classes = ClassFigures(many=True, help_text="by wnid: the classes of the candidates and of the reference")


class BrowsedImage(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    display_url = serializers.CharField(allow_null=True, help_text="the display JPEG; none before the file arrives")
    annotations = serializers.IntegerField()
    selected = serializers.IntegerField()
    frequency = serializers.FloatField(allow_null=True, help_text="selected / annotations; null while unannotated")
    bin = serializers.IntegerField(allow_null=True, help_text="0-4; null while unannotated")


class BrowsedCandidate(BrowsedImage):
    id = serializers.IntegerField(help_text="the candidate's id (for its blacklist)")
    image = serializers.IntegerField(help_text="its image's id")
    uri = serializers.CharField(allow_blank=True)
    source_id = serializers.CharField(allow_blank=True)
    search_key = serializers.CharField(allow_blank=True)
    date_taken = serializers.DateTimeField(allow_null=True)
    date_uploaded = serializers.DateTimeField(allow_null=True)
    blacklist_reason = serializers.CharField(allow_blank=True, help_text='"" while not blacklisted')
    blacklist_note = serializers.CharField(allow_blank=True)
