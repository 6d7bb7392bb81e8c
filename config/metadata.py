"""The API's answer to OPTIONS: DRF's, for generic views that read their input by hand too.

DRF's SimpleMetadata describes the POST and PUT input of every generic view through its get_serializer() (and its
get_object() for PUT). A generic view without a serializer_class or queryset, which reads its input with serializers
of its own, fails there with a server error on any OPTIONS request, with a body or without. The input of every view
is in the OpenAPI schema (/api/schema/); OPTIONS names the view, its renderers and parsers, and the input fields of
the views that declare both.
"""

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    def determine_actions(self, request, view):
        if getattr(view, "serializer_class", None) is None or getattr(view, "queryset", None) is None:
            return {}
        return super().determine_actions(request, view)
