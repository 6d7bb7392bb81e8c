"""The one error contract of the apps: a service refuses a request by raising DomainError (ConflictError where the
change was based on a state that is no longer current). The API answers it through api_exception_handler, and
management commands through as_command_errors, so that no view or command translates errors by hand.
"""

import functools

from django.core.management.base import CommandError
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback


class DomainError(ValueError):
    """A refusal whose message says what is wrong. `field` names the one input at fault; `errors` maps each of
    several inputs at fault to what is wrong with it (the message then lists them all)."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message="", *, field=None, errors=None):
        self.field = field
        self.errors = dict(errors or {})
        super().__init__(message or "; ".join(f"{name}: {problem}" for name, problem in self.errors.items()))

    def body(self):
        """The API's answer: each input at fault with what is wrong with it, or {"detail": message}."""
        return self.errors or {self.field or "detail": str(self)}


class ConflictError(DomainError):
    """A change based on a state of the object that has changed meanwhile, or that does not allow it. `details` go
    into the answer beside the message: what the client needs to show the state as it is now."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details

    def body(self):
        return {**super().body(), **self.details}


class NotFoundError(DomainError, Http404):
    """Something named that does not exist (a dataset, a model): 404 from the API and from pages alike."""

    status_code = status.HTTP_404_NOT_FOUND


def api_exception_handler(exc, context):
    """DRF's exception handler (settings.REST_FRAMEWORK), which also answers a DomainError with its body."""
    if isinstance(exc, DomainError):
        # As DRF does for its own exceptions: nothing of a refused request is written.
        set_rollback()
        return Response(exc.body(), status=exc.status_code)
    return exception_handler(exc, context)


def as_command_errors(handle):
    """Decorates a management command's handle(): a DomainError, or a file that cannot be read or written, ends
    the command with one line that says so."""

    @functools.wraps(handle)
    def handle_refusing(*args, **options):
        try:
            return handle(*args, **options)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            # A file to read that is missing, or one to write in a folder that is not there.
            raise CommandError(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from exc

    return handle_refusing
