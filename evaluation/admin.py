from django.contrib import admin

from evaluation.models import Participant, Phase


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    """Phases are created, edited, opened and closed on the evaluation pages or the API, which draw the sample."""

    list_display = ["name", "state", "image_count", "seed", "exclude_seen", "created_by", "created_at"]
    list_filter = ["state"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "state",
        "strata",
        "seed",
        "exclude_seen",
        "image_count",
        "created_by",
        "created_at",
        "opened_at",
        "closed_at",
    ]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["user", "phase", "image_count", "answered", "model"]
    list_select_related = ["user", "phase", "model"]
    readonly_fields = ["phase", "user", "model", "image_count", "answered"]
