from django import forms

from annotate.models import Dataset
from config.forms import ServiceErrorsMixin
from training.models import DEFAULT_INSTRUCTIONS, TaskSource
from training.services import MAX_NAME_LENGTH

ORDER_CHOICES = [
    ("", "Default: dataset order for a slice, shuffled for classes"),
    ("dataset", "Dataset order"),
    ("shuffled", "Shuffled (a fixed order)"),
]
# Service fields whose errors belong to another form field.
ERROR_FIELDS = {"offset": "offset_start", "images": None}


class TaskForm(ServiceErrorsMixin, forms.Form):
    """The admins' page form for a new training task; training.services.create_training_task validates."""

    error_fields = ERROR_FIELDS

    name = forms.CharField(max_length=MAX_NAME_LENGTH)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    dataset = forms.ChoiceField()
    source = forms.ChoiceField(choices=TaskSource.choices, initial=TaskSource.SLICE, widget=forms.RadioSelect)
    offset_start = forms.IntegerField(required=False, min_value=0)
    offset_end = forms.IntegerField(required=False, min_value=1)
    node_wnid = forms.CharField(required=False, max_length=20)
    wnids = forms.CharField(required=False, max_length=2000)
    order = forms.ChoiceField(required=False, choices=ORDER_CHOICES)
    instructions = forms.CharField(
        required=False, initial=DEFAULT_INSTRUCTIONS, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [(name, name) for name in Dataset.objects.values_list("name", flat=True)]

    def service_arguments(self):
        data = self.cleaned_data
        order = data.get("order")
        return {
            "name": data["name"],
            "description": data["description"],
            "dataset_name": data["dataset"],
            "source": data["source"],
            "offset_start": data.get("offset_start"),
            "offset_end": data.get("offset_end"),
            "node_wnid": data.get("node_wnid", ""),
            "wnids": data.get("wnids", ""),
            "instructions": data.get("instructions", ""),
            "shuffle": None if not order else order == "shuffled",
        }
