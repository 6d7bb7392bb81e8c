"""Stored files as browsers get them: a type from an allow-list, never sniffed, never run as a page.

A stored file's extension was chosen from its decoded format when it was checked (annotate.images),
never from the uploaded name. JPEG, PNG, WebP and GIF are shown inline; any other type is a download.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse

INLINE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
DOWNLOAD_TYPES = {"bmp": "image/bmp", "tif": "image/tiff"}
# A file opened on its own is a document: no scripts, no plugins, no requests, whatever the browser makes of it.
# Inline styles only for the browser's own image viewer, which centres the image it shows.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def safe_file_name(name, default="image"):
    """A file name fit for a Content-Disposition header: ASCII letters, digits, dot, dash, underscore."""
    stem = "".join(char if char.isascii() and (char.isalnum() or char in "._-") else "_" for char in name or "")
    stem = stem.strip("._")[:100]
    return stem or default


def content_type_of(storage_name):
    extension = storage_name.rsplit(".", 1)[-1].lower()
    return INLINE_TYPES.get(extension) or DOWNLOAD_TYPES.get(extension) or "application/octet-stream"


def file_response(data, *, content_type, download_name=None, max_age=86400):
    """`data` served as `content_type` if it is allow-listed (octet-stream otherwise), inline only for
    the image types every browser shows, with the given name made safe."""
    if content_type not in INLINE_TYPES.values() and content_type not in DOWNLOAD_TYPES.values():
        content_type = "application/octet-stream"
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    response["Cache-Control"] = f"private, max-age={max_age}"
    disposition = "inline" if content_type in INLINE_TYPES.values() else "attachment"
    # A file without a name stays nameless (an evaluation image must not give its file name away).
    if download_name is not None or disposition == "attachment":
        response["Content-Disposition"] = f'{disposition}; filename="{safe_file_name(download_name)}"'
    return response


def cached_rendition(image, folder, render):
    """`render(bytes of the image's file)` (a resized JPEG), kept in storage under cache/`folder` after the first
    time. By content, not by image: every image that carries the same file shares one rendition."""
    cached = f"cache/{folder}/{image.sha256[:2]}/{image.sha256}.jpg"
    if default_storage.exists(cached):
        with default_storage.open(cached) as handle:
            return handle.read()
    with image.file.open("rb") as handle:
        data = render(handle.read())
    default_storage.save(cached, ContentFile(data))
    return data
