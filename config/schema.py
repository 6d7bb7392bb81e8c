"""The OpenAPI schema's error answers, added to each operation by rule rather than by hand on every view.

Each operation documents the errors DRF itself answers with, from what the operation has:

- 400 where it takes a body or query or header parameters (a field at fault, or a detail);
- 401 and 403 where it needs a logged-in user (no valid credentials; a role or state that does not allow it);
- 404 where its path names an object;
- 415 where it takes a body, sent as a media type it does not read.

A view declares any other error it answers in its extend_schema: `responses={..., 404: None}` for a 404 that a
query parameter leads to, or `409: None` for a conflict. A 4xx declared without a body gets the body DRF answers it
with ({"detail": ...}, or the fields at fault for 400); one declared with a body of its own keeps it.
"""

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# DRF's validation errors: {"field": ["message", ...], ...}, {"detail": "message"} or nested fields.
VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {},
    "description": "Each field at fault with what is wrong with it (or 'detail' with the problem as a whole).",
}
ERRORS = {
    "400": ("ValidationError", VALIDATION_ERROR, "The request is invalid; nothing was changed."),
    "401": ("Error", ERROR, "No valid credentials: log in, or send 'Authorization: Token <token>'."),
    "403": ("Error", ERROR, "Your role, or your part in an evaluation phase, does not allow this."),
    "404": ("Error", ERROR, "There is no such object (or none you may see)."),
    "409": ("Error", ERROR, "The object changed meanwhile, or is not in a state that allows this."),
    "415": ("Error", ERROR, "The body is not of a media type this operation reads."),
}
OTHER_ERROR = ("Error", ERROR, "The request was refused.")


def list_of(properties, required=()):
    """The schema of a JSON list of objects with these properties (OpenAPI schemas by name)."""
    return {"type": "array", "items": {"type": "object", "properties": properties, "required": list(required)}}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        places = {parameter["in"] for parameter in operation.get("parameters", [])}
        needs_login = bool(operation.get("security")) and {} not in operation["security"]
        applies = {
            "400": "requestBody" in operation or bool(places & {"query", "header"}),
            "401": needs_login,
            "403": needs_login,
            "404": "path" in places,
            "415": "requestBody" in operation,
        }
        responses = operation["responses"]
        for code in [code for code, applied in applies.items() if applied and code not in responses]:
            responses[code] = {}
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                name, schema, description = ERRORS.get(code, OTHER_ERROR)
                response["description"] = description
                response["content"] = {"application/json": {"schema": self._component(name, schema)}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _component(self, name, schema):
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref
