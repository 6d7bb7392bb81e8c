from rest_framework import serializers

from finalreview.models import MAX_NOTE_LENGTH
from nearduplicates.serializers import NeighbourRow
from testsets.serializers import BrowsedImage


class ClassMarks(serializers.Serializer):
    reviewed = serializers.BooleanField()
    problematic = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True)
    updated_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    marked_in = serializers.IntegerField(allow_null=True, help_text="the revision whose marks these are; null: none")
    carried = serializers.BooleanField(help_text="from an earlier revision whose images of the class are the same")


class ReviewClass(ClassMarks):
    wnid = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    sampled = serializers.IntegerField()
    blacklisted = serializers.IntegerField(help_text="sampled images blacklisted since the sampling")
    short = serializers.BooleanField(help_text="fewer images sampled than wanted")


class ReviewProgress(serializers.Serializer):
    classes = serializers.IntegerField()
    reviewed = serializers.IntegerField()
    problematic = serializers.IntegerField()
    blacklisted = serializers.IntegerField(help_text="sampled images blacklisted since the sampling, in all")


class ReviewClasses(serializers.Serializer):
    testset = serializers.CharField()
    revision = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True, help_text="the revision it was sampled from")
    progress = ReviewProgress()
    classes = ReviewClass(many=True)


class ReviewedImage(serializers.Serializer):
    candidate = serializers.IntegerField(help_text="the candidate's id (for its blacklist)")
    image = serializers.IntegerField()
    file_name = serializers.CharField()
    display_url = serializers.CharField(allow_null=True, help_text="the display JPEG; none before the file arrives")
    frequency = serializers.FloatField(help_text="as sampled")
    annotations = serializers.IntegerField(help_text="as sampled")
    bin = serializers.IntegerField()
    upward = serializers.BooleanField(help_text="taken for a lower bin that had run dry")
    source_id = serializers.CharField(allow_blank=True)
    date_taken = serializers.DateTimeField(allow_null=True)
    date_uploaded = serializers.DateTimeField(allow_null=True)
    blacklist_reason = serializers.CharField(allow_blank=True, help_text='"" while not blacklisted')
    blacklist_note = serializers.CharField(allow_blank=True)
    neighbours = serializers.DictField(child=NeighbourRow(many=True), help_text="per metric, the nearest few first")


class ClassReviewAnswer(serializers.Serializer):
    testset = serializers.CharField()
    revision = serializers.IntegerField()
    wnid = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    marks = ClassMarks()
    thresholds = serializers.DictField(child=serializers.FloatField(), help_text="per metric searched; {} before any")
    images = ReviewedImage(many=True, help_text="the highest frequency first")
    reference = BrowsedImage(many=True, help_text="a sample of the class's reference images, spread over frequencies")


class MarksInput(serializers.Serializer):
    reviewed = serializers.BooleanField(required=False)
    problematic = serializers.BooleanField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE_LENGTH, trim_whitespace=False)


class MarksAnswer(ClassMarks):
    wnid = serializers.CharField()
