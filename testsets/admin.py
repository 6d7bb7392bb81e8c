from django.contrib import admin

from annotate.admin import ReadOnlyAdmin
from testsets.models import (
    Assignment,
    BlacklistChange,
    Candidate,
    FrequencyTask,
    Revision,
    SelectionFrequency,
    TestSet,
)


@admin.register(TestSet)
class TestSetAdmin(admin.ModelAdmin):
    """Settings only: candidates, tasks and revisions are made by the commands and pages, which keep them
    consistent."""

    list_display = ["name", "reference", "per_class", "min_annotations", "quality_threshold", "created_at"]
    fields = ["name", "reference", "pool", "per_class", "min_annotations", "quality_threshold"]
    list_select_related = ["reference"]

    def get_readonly_fields(self, request, obj=None):
        return ["name", "reference", "pool"]

    def has_add_permission(self, request):
        return False


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ["image", "wnid", "source_id", "date_taken", "blacklist_reason"]
    list_filter = ["testset", "blacklist_reason"]
    search_fields = ["wnid", "image__file_name", "source_id"]
    list_select_related = ["image"]


@admin.register(BlacklistChange)
class BlacklistChangeAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "reason", "changed_by", "changed_at"]
    list_select_related = ["candidate", "changed_by"]


@admin.register(FrequencyTask)
class FrequencyTaskAdmin(ReadOnlyAdmin):
    list_display = ["testset", "number", "wnid", "assignments_wanted", "created_at"]
    list_filter = ["testset"]
    search_fields = ["wnid"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["task", "annotator", "controls_right", "controls", "source", "submitted_at"]
    list_filter = ["source"]
    list_select_related = ["task", "annotator"]


@admin.register(SelectionFrequency)
class SelectionFrequencyAdmin(ReadOnlyAdmin):
    list_display = ["image", "wnid", "selected", "annotations"]
    list_select_related = ["image"]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["testset", "number", "strategy", "seed", "upward", "valid", "created_at"]
    list_filter = ["testset", "strategy"]
