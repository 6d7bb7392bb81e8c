from django import forms

from config.forms import ServiceErrorsMixin
from evaluation.models import DEFAULT_INSTRUCTIONS


class DatasetCountsInput(forms.Widget):
    """The count inputs of the new-phase form, one per dataset and named count-<dataset name>, read as one value:
    {dataset name: the count as typed}."""

    dataset_names = ()

    def value_from_datadict(self, data, files, name):
        return {dataset: data.get(f"count-{dataset}", "") for dataset in self.dataset_names}


class DatasetCountsField(forms.Field):
    widget = DatasetCountsInput

    def to_python(self, value):
        return {dataset: count.strip() or 0 for dataset, count in (value or {}).items()}


class TextListField(forms.Field):
    """The values of a repeated input (checkboxes), as given."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value):
        return list(value or ())


class PhaseForm(ServiceErrorsMixin, forms.Form):
    """The admins' new-phase form on the phases page. Its fields are evaluation.services.create_phase's arguments,
    taken as they come: create_phase validates them, and its messages are the ones the page shows."""

    name = forms.CharField(required=False, strip=False)
    instructions = forms.CharField(required=False, strip=False, initial=DEFAULT_INSTRUCTIONS)
    datasets = DatasetCountsField(required=False, initial=dict)
    splits = TextListField(required=False, initial=list)
    seed = forms.CharField(required=False, empty_value=0, initial=0)
    participants = TextListField(required=False, initial=list)
    exclude_seen = forms.BooleanField(required=False)

    def __init__(self, *args, datasets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["datasets"].widget.dataset_names = [dataset.name for dataset in datasets]

    def shown_values(self):
        """What the fields show: the input as parsed (kept when create_phase refuses it), or the initial values."""
        return {name: field.to_python(self[name].value()) for name, field in self.fields.items()}
