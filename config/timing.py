"""Server-Timing on every response where SERVER_TIMING is on: the time the app spent on the request, queueing in
the web server left out.

Browsers show it in their developer tools; bench/load.py turns it on and reads it to report server time apart from
the clients' round trips. It is off in production: to the tenth of a millisecond, it would tell apart requests
that answer alike, such as an image closed to the user and a missing one (annotate.access).
"""

import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed


class ServerTimingMiddleware:
    def __init__(self, get_response):
        if not settings.SERVER_TIMING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
