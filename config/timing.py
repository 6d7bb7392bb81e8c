"""Server-Timing on every response: the time the app spent on the request, queueing in the web server left out.

Browsers show it in their developer tools; bench/load.py reads it to report server time apart from the
clients' round trips.
"""

import time


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
