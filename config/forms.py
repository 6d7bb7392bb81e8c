"""What page forms share: a service's refusal (config.exceptions.DomainError) shown on the fields it names."""


class ServiceErrorsMixin:
    """For a django.forms.Form whose input a service checks: add_service_error puts each input the error names on
    the field of that name (`error_fields` maps service names to other fields; None: the form as a whole)."""

    error_fields = {}

    def add_service_error(self, error):
        for name, problem in (error.errors or {error.field: str(error)}).items():
            field = self.error_fields.get(name, name)
            self.add_error(field if field in self.fields else None, problem)
