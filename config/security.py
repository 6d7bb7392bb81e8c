"""What Django 5.2 does not do itself: a Content-Security-Policy header, a cap on request bodies, a
refusal of NUL characters in addresses, 400 answers that say what was wrong, and JSON 404 answers under /api/."""

import json
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY with every response that has no policy of its own
    (uploaded files set a stricter one)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


def content_security_policy(directives):
    """The header value of a {directive: [source, ...]} dict."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in directives.items())


class RequestBodyLimitMiddleware:
    """Refuse a body over its limit with 413 before anything reads it.

    Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only where it parses forms itself: DRF reads JSON bodies
    from the stream, and file uploads have no limit at all. Here every body is held to
    DATA_UPLOAD_MAX_MEMORY_SIZE, and multipart uploads (files) to MAX_UPLOAD_BYTES.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        uploading = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        limit = settings.MAX_UPLOAD_BYTES if uploading else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            what = "an upload" if uploading else "a request body"
            message = f"The request body is {length:,} bytes; {what} may be at most {limit:,} bytes."
            return error_response(request, 413, message)
        return self.get_response(request)


class NulInAddressMiddleware:
    """Answer 400 to a path or query string with a NUL character in it.

    PostgreSQL text cannot hold NUL, so a lookup with one (?q=%00, /models/a%00/) would fail with a
    server error wherever the value reaches a query. Request bodies go through forms and serializers,
    which refuse NUL themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            return error_response(request, 400, "The address holds a NUL character (%00), which no name or search has.")
        return self.get_response(request)


def error_response(request, status, message):
    """The message as the API answers errors ({"detail": ...}) under /api/, else as text."""
    if request.path.startswith("/api/"):
        return HttpResponse(json.dumps({"detail": message}), status=status, content_type="application/json")
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def bad_request(request, exception):
    """handler400: Django's own limits on request bodies say which limit it was; other 400s stay terse."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return error_response(request, 400, str(exception))
    return error_response(request, 400, "Bad request.")
