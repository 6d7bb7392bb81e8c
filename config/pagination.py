"""The API's pagination: DRF's limit and offset, bounded.

DRF's LimitOffsetPagination passes any limit on to the database when it has no max_limit (?limit=2**63 fails there
with a server error) and quietly replaces a limit or offset it cannot read with its default. Here both are parsed
like every integer query parameter of the API (config.query): out of range or not a number is a 400 naming it.
"""

from rest_framework import pagination

from config.query import MAX_ID, int_schema, query_int

MAX_LIMIT = 1000


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return query_int(request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=MAX_LIMIT)

    def get_offset(self, request):
        return query_int(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_ID)

    def get_schema_operation_parameters(self, view):
        bounds = {self.limit_query_param: int_schema(1, MAX_LIMIT), self.offset_query_param: int_schema(0, MAX_ID)}
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = bounds.get(parameter["name"], parameter["schema"])
        return parameters
