from django.contrib import admin

from annotate.admin import ReadOnlyAdmin
from training.models import TrainingAnswer, TrainingTask


@admin.register(TrainingTask)
class TrainingTaskAdmin(admin.ModelAdmin):
    """Tasks are created by the task form, the API or create_training_task, which select the images."""

    list_display = ["name", "source", "dataset", "image_count", "shuffled", "created_by", "created_at"]
    list_filter = ["source", "dataset"]
    search_fields = ["name", "description"]
    list_select_related = ["dataset", "created_by"]
    readonly_fields = [
        "source",
        "dataset",
        "offset_start",
        "offset_end",
        "node_wnid",
        "wnids",
        "shuffled",
        "image_ids",
        "image_count",
        "created_by",
        "created_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("image_ids")

    def has_add_permission(self, request):
        return False


@admin.register(TrainingAnswer)
class TrainingAnswerAdmin(ReadOnlyAdmin):
    """Answers are appended by trainees and never edited by hand."""

    list_display = ["task", "trainee", "image", "position", "wnid", "correct", "expected_wnid", "answered_at"]
    list_filter = ["correct", "task"]
    search_fields = ["trainee__username", "wnid", "expected_wnid"]
    list_select_related = ["task", "trainee", "image", "image__dataset"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("task__image_ids")
