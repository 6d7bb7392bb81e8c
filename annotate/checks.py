"""Checks of the names and files that imports bring, and the readers of their CSV files."""

import csv
import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings

import taxonomy
from annotate.errors import ImportFailed
from taxonomy.wnids import WNID_PATTERN

DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


# Characters in one line of a CSV file: far above any real row, far below what would exhaust memory.
MAX_CSV_LINE = 64 * 1024


MAX_URI_LENGTH = 1000


def check_dataset_name(name):
    if not DATASET_NAME.match(name or ""):
        raise ImportFailed(f"dataset name {name!r} must be letters, digits, '-' or '_' (at most 100)")
    return name


def check_model_name(name):
    """Model names appear in URLs: 1-200 printable characters without '/'."""
    if not name or len(name) > 200 or "/" in name or not name.isprintable():
        raise ImportFailed(f"model name {name!r} must be 1 to 200 printable characters without '/'")
    return name


def file_name_problem(name):
    """What is wrong with an image's file name, or None: it is stored and shown, never used as a path."""
    if not name or name in {".", ".."} or any(c in name for c in "/\\\0") or not name.isprintable():
        return f"file name {name!r} must be a bare file name without path separators or control characters"
    if len(name) > 255:
        return f"file name is {len(name)} characters long; at most 255"
    return None


def check_file_name(name, where):
    problem = file_name_problem(name)
    if problem:
        raise ImportFailed(f"{where}: {problem}")
    return name


def check_source_uri(uri, where):
    """A manifest's uri says where an image's file lives. Nothing fetches it (files arrive by import_images),
    but it must still lie under one of SOURCE_URI_ROOTS and never point at this machine or its network."""
    if len(uri) > MAX_URI_LENGTH or not uri.isprintable() or any(c.isspace() for c in uri):
        raise ImportFailed(f"{where}: uri must be at most {MAX_URI_LENGTH} printable characters without spaces")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as exc:
        raise ImportFailed(f"{where}: uri {uri!r} is not a valid URI ({exc})") from None
    # A root names a folder: https://data.example.org must not admit https://data.example.org.evil.com.
    roots = [root if root.endswith("/") else f"{root}/" for root in settings.SOURCE_URI_ROOTS if root]
    if not any(uri.startswith(root) for root in roots):
        raise ImportFailed(f"{where}: uri {uri!r} is outside the allowed storage roots ({', '.join(roots)})")
    if parts.username is not None or parts.password is not None:
        raise ImportFailed(f"{where}: uri {uri!r} carries credentials; give storage access to the workers instead")
    if ".." in parts.path.split("/"):
        raise ImportFailed(f"{where}: uri {uri!r} climbs out of its folder with '..'")
    if parts.scheme in {"http", "https"} and _is_local_host(parts.hostname or ""):
        raise ImportFailed(f"{where}: uri {uri!r} points at a local or private network address")
    return uri


def _is_local_host(host):
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or "." not in host:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def parse_label(value, where):
    """A wnid or a class index (0-999) as the wnid of an ImageNet-1k class."""
    value = str(value).strip()
    if value.isdigit():
        index = int(value)
        if index >= len(taxonomy.class_wnids()):
            raise ImportFailed(f"{where}: class index {index} is out of range 0-{len(taxonomy.class_wnids()) - 1}")
        return taxonomy.wnid_for_index(index)
    if not taxonomy.is_class(value):
        raise ImportFailed(f"{where}: {value!r} is not the wnid or class index of an ImageNet-1k class")
    return value


def _bounded_lines(handle, source):
    """The lines of a text file, refusing one over MAX_CSV_LINE characters before reading all of it."""
    number = 0
    while line := handle.readline(MAX_CSV_LINE + 1):
        number += 1
        if len(line) > MAX_CSV_LINE:
            raise ImportFailed(f"{source}:{number}: the line is longer than {MAX_CSV_LINE:,} characters")
        yield line


def read_csv_rows(path, source=None):
    """Rows of a CSV file with their line numbers, skipping a header that starts with 'filename'. Messages name the
    file as `source` (an upload's own name: never the temporary path it was saved to), or else by its path."""
    source = source or path
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(_bounded_lines(handle, source)), start=1):
                if not row or (number == 1 and row[0].strip().lower() in {"filename", "file_name"}):
                    continue
                row = [cell.strip() for cell in row]
                if number == 1 and len(row) > 1 and not (WNID_PATTERN.match(row[1]) or row[1].isdigit()):
                    raise ImportFailed(
                        f"{source}:1: {row[1]!r} is neither a wnid nor a class index; a header row must start "
                        "with 'filename'"
                    )
                yield number, row
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{source}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise ImportFailed(f"{source}: not a valid CSV file ({exc})") from exc
