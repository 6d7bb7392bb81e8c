"""Query parameters, parsed in one place: a value that is not a whole number in its range, or a text longer than its
limit, is answered 400 with a message that names the parameter, never passed on to a query where it would fail
(500), take seconds, or mean nothing."""

import re

from rest_framework.exceptions import ValidationError

# The largest id or count a query parameter may carry: PostgreSQL's integer, the type of every id in the project.
MAX_ID = 2**31 - 1
DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _parse(name, raw, minimum, maximum):
    text = raw.strip()
    digits = text.removeprefix("-")
    # int() would also take "+5", "1_000" and non-ASCII digits: an address carries plain decimal digits only.
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError({name: f"must be a whole number from {minimum} to {maximum}; got {raw[:40]!r}"})
    value = int(text) if len(digits) <= 30 else None
    if value is None or not minimum <= value <= maximum:
        raise ValidationError({name: f"must be a whole number from {minimum} to {maximum}; got {text[:40]}"})
    return value


def query_int(request, name, *, default=None, minimum=0, maximum=MAX_ID):
    """The integer query parameter `name` within [minimum, maximum]; `default` when absent or empty."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    return _parse(name, raw, minimum, maximum)


def query_ints(request, name, *, minimum=0, maximum=MAX_ID, max_count=100):
    """Every value of the repeated integer query parameter `name` (empty values skipped), each in range."""
    raws = [raw for raw in request.query_params.getlist(name) if raw.strip()]
    if len(raws) > max_count:
        raise ValidationError({name: f"may be given at most {max_count} times; got {len(raws)}"})
    return [_parse(name, raw, minimum, maximum) for raw in raws]


def query_float(request, name, *, minimum, maximum):
    """The decimal query parameter `name` within [minimum, maximum]; None when absent or empty. Plain decimals only
    ("0.25", ".5", "1"): no exponent, nan or infinity."""
    raw = request.query_params.get(name, "")
    text = raw.strip()
    if not text:
        return None
    if not DECIMAL.fullmatch(text) or not minimum <= float(text) <= maximum:
        raise ValidationError({name: f"must be a number from {minimum} to {maximum}; got {raw[:40]!r}"})
    return float(text)


def query_choice(params, name, choices, default):
    """The query parameter `name` of `params` (a QueryDict), one of `choices`; `default` when absent or empty."""
    value = params.get(name, "").strip()
    if not value:
        return default
    if value not in choices:
        raise ValidationError({name: f"must be one of {', '.join(choices)}; got {value[:40]!r}"})
    return value


def query_text(params, name, *, max_length):
    """The text query parameter `name` of `params` (a QueryDict), stripped; "" when absent."""
    text = params.get(name, "").strip()
    if len(text) > max_length:
        raise ValidationError({name: f"must be at most {max_length} characters; got {len(text)}"})
    return text


def text_schema(max_length):
    """The OpenAPI schema of such a parameter."""
    return {"type": "string", "maxLength": max_length}


def number_schema(minimum, maximum):
    """The OpenAPI schema of a query_float parameter."""
    return {"type": "number", "minimum": minimum, "maximum": maximum}


def int_schema(minimum=0, maximum=MAX_ID):
    """The OpenAPI schema of such a parameter."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum}
