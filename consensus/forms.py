from django import forms

POLICY_FIELDS = ("rule", "overlap", "golden_rate")


class NumberField(forms.Field):
    """A number that `kind` (int or float) parses; what else is given is refused, named as `what`."""

    def __init__(self, kind, what, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        self.what = what

    def to_python(self, value):
        try:
            return self.kind(value)
        except (TypeError, ValueError):
            raise forms.ValidationError(f"{self.what} must be a number, not {value!r}") from None


class PolicyPageForm(forms.Form):
    """The consensus page's forms: a dataset's policy, which annotate.labelling.set_policy validates, or the
    "Recompute now" button, which posts no policy. (annotate.admin.PolicyForm is the admin's: a ModelForm that
    also chooses the dataset.)"""

    recompute = forms.BooleanField(required=False)
    rule = forms.CharField(required=False, strip=False)
    overlap = NumberField(int, "overlap")
    golden_rate = NumberField(float, "golden rate")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self["recompute"].data:
            for name in POLICY_FIELDS:
                del self.fields[name]

    def policy_arguments(self):
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}

    def error_texts(self):
        return [message for messages in self.errors.values() for message in messages]
