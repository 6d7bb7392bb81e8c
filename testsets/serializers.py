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
