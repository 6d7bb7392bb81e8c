"""Error pages: a 403 or 404 outside the API is a page of the app, in its layout, that says why and where to go
next; under /api/ it stays the API's JSON ({"detail": ...}).

Django answers a 404 with its technical page while DEBUG is on (as `make demo` runs): ErrorPagesMiddleware turns
the 404s and 403s that views raise into these pages whatever DEBUG says, and config.urls ends with a catch-all for
addresses that match nothing.
"""

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from config.security import error_response

LOOKUP_MISSED = re.compile(r"No (\w+) matches the given query\.")
TITLES = {403: "You can't open this page", 404: "There is no page here"}
REASONS = {
    403: "Your account does not have the role this page needs.",
    404: "Nothing is at this address: the link may be old, or the name may be mistyped.",
}


def error_page(request, status, exception=None):
    """The page (or, under /api/, the JSON) of a 403 or 404, with what the exception says where it says something
    a person can read: our own messages do; Django's resolver passes a dict of what it tried, which does not."""
    said = exception.args[0] if exception is not None and exception.args else ""
    message = said if isinstance(said, str) and said else REASONS[status]
    # get_object_or_404 says "No PredictionJob matches the given query.": name the thing as a person would.
    looked_up = LOOKUP_MISSED.fullmatch(message)
    if looked_up:
        thing = re.sub(r"(?<!^)(?=[A-Z])", " ", looked_up[1]).lower()
        message = f"There is no {thing} at this address: it may have been deleted, or the link may be mistyped."
    if request.path.startswith("/api/"):
        return error_response(request, status, message)
    referrer = request.META.get("HTTP_REFERER", "")
    back = referrer if url_has_allowed_host_and_scheme(referrer, {request.get_host()}) else ""
    context = {
        "status": status,
        "title": TITLES[status],
        "message": message,
        "back": back if back.rstrip("/") != request.build_absolute_uri().rstrip("/") else "",
        "login": f"{reverse('login')}?{urlencode({'next': request.path})}" if not request.user.is_authenticated else "",
    }
    return render(request, "frontend/error.html", context, status=status)


def page_not_found(request, exception=None):
    """handler404, and the catch-all at the end of config.urls. Under /api/ an address that nothing matches
    (/api/images/-1/, a name a slug cannot be) is answered like an object that does not exist."""
    if request.path.startswith("/api/"):
        return error_response(request, 404, "Not found: no address of the API is like this one.")
    return error_page(request, 404, exception)


def permission_denied(request, exception=None):
    """handler403."""
    return error_page(request, 403, exception)


class ErrorPagesMiddleware:
    """A view's Http404 or PermissionDenied becomes the app's error page, even while DEBUG is on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, Http404):
            return error_page(request, 404, exception)
        if isinstance(exception, PermissionDenied):
            return error_page(request, 403, exception)
        return None
