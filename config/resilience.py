"""A database that went away for a moment (a restart, a failover) answers 503 with Retry-After, not 500.

Clients (the review page's save queue, bench/load.py) retry a 503; the next request reconnects, as
CONN_HEALTH_CHECKS checks a kept connection before using it. A transaction cut short by the lost connection
was rolled back by PostgreSQL, so nothing of the failed request was written.
"""

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

RETRY_AFTER_SECONDS = 2


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            return unavailable(exception)
        return None


def unavailable(exc):
    response = JsonResponse(
        {"detail": f"The database is unavailable for a moment ({type(exc).__name__}); try again."}, status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
