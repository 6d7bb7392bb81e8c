"""Checks shared by the readers of import files; each raises ImportFailed saying where the problem is."""

import json
from datetime import UTC, datetime

import taxonomy
from annotate.errors import ImportFailed

MAX_USERNAME_LENGTH = 150  # django.contrib.auth's username column


def json_document(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{where}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ImportFailed(f"{where}: not valid JSON here (nested too deeply)") from None


def time(value, where):
    """An aware datetime from ISO-8601 text; a time without offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ImportFailed(f"{where}: {value!r} is not an ISO-8601 time") from None
    return in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), where)


def in_range(moment, where):
    """The aware datetime `moment`, if Python can hold it in UTC, as the database hands it back: a time such as
    0001-01-01T00:00+01:00 (year 0 in UTC) would be stored, then break every page that reads it."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ImportFailed(
            f"{where}: {moment.isoformat()!r} is out of range (it must fall in the years 1-9999 in UTC)"
        ) from None
    return moment


def username(value, where):
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_USERNAME_LENGTH
        or value != value.strip()
        or not value.isprintable()
    ):
        raise ImportFailed(
            f"{where}: {value!r} is not a username (1 to {MAX_USERNAME_LENGTH} printable characters, "
            "no spaces around them)"
        )
    return value


def class_wnid(value, where):
    if not isinstance(value, str) or not taxonomy.is_class(value):
        raise ImportFailed(f"{where}: {value!r} is not an ImageNet-1k wnid")
    return value


def image_named(images, name, dataset, where):
    """The id of the dataset's image called `name`, from {file name: id}."""
    if not isinstance(name, str) or name not in images:
        raise ImportFailed(f"{where}: no image named {name!r} in dataset {dataset.name!r}")
    return images[name]


def object_keys(value, required, optional, where):
    """Check that `value` is a JSON object with every required key and no key outside required and optional."""
    if not isinstance(value, dict):
        raise ImportFailed(f"{where}: expected an object with {', '.join(required)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise ImportFailed(f"{where}: missing {', '.join(missing)}")
    unknown = unknown_keys(value, (*required, *optional))
    if unknown:
        raise ImportFailed(f"{where}: unknown keys {', '.join(unknown)}")


def unknown_keys(value, known):
    """The keys of the JSON object `value` outside `known`, sorted."""
    return sorted(set(value) - set(known))


def counted(counts, limit=5):
    """Text like "'a' (3), 'b' (1) and 4 others" of the `limit` most common values of a Counter, with their counts."""
    shown = ", ".join(f"{value!r} ({count:,})" for value, count in counts.most_common(limit))
    return shown + (f" and {len(counts) - limit:,} others" if len(counts) > limit else "")
