from django import forms
from django.contrib import admin

import taxonomy
from annotate import jobs, labelling, prediction_blocks
from annotate.models import (
    TOP_K,
    ClassifierModel,
    ConsensusPolicy,
    ConsensusPosterior,
    Dataset,
    FlagChange,
    Image,
    ImportBatch,
    Lease,
    Prediction,
    PredictionBlock,
    PredictionFailure,
    PredictionJob,
    PredictionShard,
    ProblematicFlag,
    ReplacedPrediction,
    ReviewerVerdict,
    ReviewItem,
    Slice,
    Suggestion,
    VerdictChange,
)
from annotate.policies import policy_for
from annotate.review_items import sync_review_items


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the app writes itself (histories, computed rows): shown, never edited by hand. The other apps'
    admins use it too."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["file_name", "dataset", "original_wnid", "position", "pending_items"]
    list_filter = ["dataset"]
    search_fields = ["file_name", "original_wnid"]
    raw_id_fields = ["dataset"]
    list_select_related = ["dataset"]


@admin.register(Slice)
class SliceAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset"]
    raw_id_fields = ["images"]


@admin.register(ClassifierModel)
class ClassifierModelAdmin(admin.ModelAdmin):
    list_display = ["name", "architecture", "weights", "random_weights", "simulated", "created_at"]
    list_filter = ["random_weights", "simulated"]
    search_fields = ["name", "architecture"]


class PredictionForm(forms.ModelForm):
    """A prediction changed by hand holds what an import would accept: 1 to TOP_K distinct class wnids, best
    first; its top-1 is the first of them."""

    class Meta:
        model = Prediction
        fields = ["wnids", "scores"]

    def clean_wnids(self):
        wnids = self.cleaned_data["wnids"]
        if not isinstance(wnids, list) or not 1 <= len(wnids) <= TOP_K:
            raise forms.ValidationError(f"a list of 1 to {TOP_K} class wnids, best first")
        unknown = [wnid for wnid in wnids if not isinstance(wnid, str) or not taxonomy.is_class(wnid)]
        if unknown:
            raise forms.ValidationError(f"{unknown[0]!r} is not an ImageNet class wnid")
        if len(set(wnids)) != len(wnids):
            raise forms.ValidationError("each class at most once")
        return wnids


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    """Predictions come from files and jobs; one changed or deleted by hand is packed again for scoring
    (annotate.prediction_blocks), and stays the model's prediction of its image."""

    form = PredictionForm
    list_display = ["model", "image", "top1_wnid"]
    readonly_fields = ["model", "image", "top1_wnid", "top5"]
    list_select_related = ["model", "image"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        obj.top1_wnid = obj.wnids[0]
        super().save_model(request, obj, form, change)
        self._predictions_changed(obj.model, {obj.image.dataset})

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._predictions_changed(obj.model, {obj.image.dataset})

    def delete_queryset(self, request, queryset):
        changed = [
            (prediction.model, prediction.image.dataset)
            for prediction in queryset.select_related("model", "image__dataset")
        ]
        super().delete_queryset(request, queryset)
        for model in {model for model, _ in changed}:
            self._predictions_changed(model, {dataset for of, dataset in changed if of == model})

    @staticmethod
    def _predictions_changed(model, datasets):
        """The review queue and the packed predictions follow the change (as after an import)."""
        for dataset in datasets:
            sync_review_items(dataset=dataset, model=model, removed_predictions=True)
        prediction_blocks.rebuild(model.pk)


@admin.register(PredictionBlock)
class PredictionBlockAdmin(admin.ModelAdmin):
    """Packed by the app, never edited; deleted with their model or dataset (the admin asks for that permission)."""

    list_display = ["model", "dataset"]
    list_select_related = ["model", "dataset"]
    fields = ["model", "dataset"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ["image", "wnid", "verdict", "verdict_by", "model_count", "is_original"]
    list_filter = ["verdict", "dataset"]
    search_fields = ["wnid", "image__file_name"]
    raw_id_fields = ["image", "dataset", "verdict_by"]
    readonly_fields = ["verdict", "verdict_by", "verdict_at"]
    list_select_related = ["image", "image__dataset", "verdict_by"]


@admin.register(VerdictChange)
class VerdictChangeAdmin(ReadOnlyAdmin):
    list_display = ["item", "reviewer", "old", "new", "created_at"]
    list_filter = ["new"]
    list_select_related = ["item", "reviewer"]


@admin.register(ReviewerVerdict)
class ReviewerVerdictAdmin(ReadOnlyAdmin):
    list_display = ["item", "reviewer", "value", "updated_at"]
    list_filter = ["value"]
    list_select_related = ["item", "reviewer"]


@admin.register(ProblematicFlag)
class ProblematicFlagAdmin(admin.ModelAdmin):
    list_display = ["image", "reason", "reviewer", "time_marked"]
    list_filter = ["reason"]
    raw_id_fields = ["image", "reviewer"]


@admin.register(FlagChange)
class FlagChangeAdmin(ReadOnlyAdmin):
    list_display = ["image", "reviewer", "reason", "created_at"]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    """Imports are undone on the dataset page, the API or with undo_import, which put back what they changed."""

    list_display = ["pk", "dataset", "kind", "source", "created_by", "created_at", "undoes"]
    list_filter = ["kind"]
    list_select_related = ["dataset", "created_by"]


@admin.register(ReplacedPrediction)
class ReplacedPredictionAdmin(ReadOnlyAdmin):
    list_display = ["batch", "model", "image", "top1_wnid"]
    list_select_related = ["model", "image"]


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    """Resolved through the review page, which keeps the image's pending count right; read-only here."""

    list_display = ["image", "kind", "wnid", "reason", "suggested_by", "created_at", "resolution", "resolved_by"]
    list_filter = ["kind", "resolution"]
    search_fields = ["wnid", "image__file_name", "suggested_by__username"]
    list_select_related = ["image", "image__dataset", "suggested_by", "resolved_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # An open suggestion is one of its image's pending_items: deleting it would leave the count too high.
        return super().has_delete_permission(request, obj) and (obj is None or obj.resolved_at is not None)


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ["image", "reviewer", "expires_at"]
    raw_id_fields = ["image", "reviewer"]


@admin.register(PredictionJob)
class PredictionJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "model", "dataset", "state", "images_total", "new_review_items", "created_at"]
    list_filter = ["state"]
    list_select_related = ["model", "dataset"]
    raw_id_fields = ["model", "dataset", "created_by"]
    readonly_fields = ["state", "images_total", "new_review_items", "error", "started_at", "finished_at"]
    actions = ["cancel"]

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        cancelled = sum(jobs.cancel_job(job.pk) for job in queryset)
        self.message_user(request, f"Cancelled {cancelled} job(s).")


@admin.register(PredictionShard)
class PredictionShardAdmin(ReadOnlyAdmin):
    list_display = ["job", "index", "state", "attempts", "images_done", "images_failed", "worker"]
    list_filter = ["state"]


@admin.register(PredictionFailure)
class PredictionFailureAdmin(ReadOnlyAdmin):
    list_display = ["model", "image", "reason", "created_at"]
    list_select_related = ["model", "image"]


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ConsensusPolicy
        fields = ["dataset", "rule", "overlap", "golden_rate"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                labelling.check_policy(data["rule"], data["overlap"], data["golden_rate"])
            except labelling.ConsensusError as exc:
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
        labelling.set_policy(
            dataset=obj.dataset, rule=obj.rule, overlap=obj.overlap, golden_rate=obj.golden_rate, user=request.user
        )
        obj.pk = policy_for(obj.dataset_id).pk  # the admin links to what it saved

    def has_delete_permission(self, request, obj=None):
        # Deleting would make the dataset single-reviewer without relabelling its items.
        return False


@admin.register(ConsensusPosterior)
class ConsensusPosteriorAdmin(ReadOnlyAdmin):
    list_display = ["item", "p_correct", "p_wrong", "p_unclear"]
    list_select_related = ["item"]
