from django import forms
from django.contrib import admin

from annotate.admin import ReadOnlyAdmin
from consensus import services
from consensus.models import Adjudication, ConsensusPolicy, ConsensusPosterior, GoldenItem
from consensus.selectors import policy_for


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ConsensusPolicy
        fields = ["dataset", "rule", "overlap", "golden_rate"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                services.check_policy(data["rule"], data["overlap"], data["golden_rate"])
            except services.ConsensusError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(ConsensusPolicy)
class ConsensusPolicyAdmin(admin.ModelAdmin):
    """Saving goes through set_policy, which recomputes every label of the dataset under the new rule."""

    form = PolicyForm
    list_display = ["dataset", "rule", "overlap", "golden_rate", "updated_by", "updated_at"]
    list_filter = ["rule"]
    list_select_related = ["dataset", "updated_by"]
    raw_id_fields = ["dataset"]

    def get_readonly_fields(self, request, obj=None):
        return ["dataset"] if obj else []

    def save_model(self, request, obj, form, change):
        services.set_policy(
            dataset=obj.dataset, rule=obj.rule, overlap=obj.overlap, golden_rate=obj.golden_rate, user=request.user
        )
        obj.pk = policy_for(obj.dataset_id).pk  # the admin links to what it saved

    def has_delete_permission(self, request, obj=None):
        # Deleting would make the dataset single-reviewer without relabelling its items.
        return False


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


@admin.register(ConsensusPosterior)
class ConsensusPosteriorAdmin(ReadOnlyAdmin):
    list_display = ["item", "p_correct", "p_wrong", "p_unclear"]
    list_select_related = ["item"]
