from django.contrib import admin

from annotate.admin import ReadOnlyAdmin
from consensus import services
from consensus.models import Adjudication, GoldenItem


@admin.register(GoldenItem)
class GoldenItemAdmin(admin.ModelAdmin):
    """Marking, changing and unmarking go through the services, which keep the item's label and the image's
    pending count right."""

    list_display = ["item", "answer", "created_by", "created_at"]
    list_filter = ["answer", "item__dataset"]
    search_fields = ["item__wnid", "item__image__file_name"]
    list_select_related = ["item", "created_by"]
    raw_id_fields = ["item"]
    fields = ["item", "answer"]

    def save_model(self, request, obj, form, change):
        obj.pk = services.mark_golden(item_id=obj.item_id, answer=obj.answer, user=request.user).golden.pk

    def delete_model(self, request, obj):
        services.unmark_golden(item_id=obj.item_id)

    def delete_queryset(self, request, queryset):
        for item_id in queryset.values_list("item_id", flat=True):
            services.unmark_golden(item_id=item_id)


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyAdmin):
    list_display = ["item", "value", "adjudicator", "created_at"]
    list_filter = ["value"]
    search_fields = ["item__wnid", "item__image__file_name"]
    list_select_related = ["item", "adjudicator"]
