"""Annotator-only accounts (accounts.roles.annotator_only) open the views marked open_to_annotators and the login
and logout views; the home page sends them to settings.ANNOTATOR_HOME, their list of grids; every other page and
endpoint refuses them, as a 403 page or, under /api/, JSON."""

from django.conf import settings
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.shortcuts import redirect

from accounts.roles import annotator_only
from config.resilience import unavailable

AUTH_VIEWS = (LoginView, LogoutView)


class AnnotatorOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            if not annotator_only(request.user):
                return None
        except (OperationalError, InterfaceError) as exc:
            # Reading the session and the roles is this request's first query: a database gone for a moment
            # answers 503 here as it would in the view.
            return unavailable(exc)
        view_class = getattr(view_func, "view_class", None)
        if getattr(view_func, "open_to_annotators", False) or getattr(view_class, "open_to_annotators", False):
            return None
        if view_class in AUTH_VIEWS:
            return None
        if request.path == "/":
            return redirect(settings.ANNOTATOR_HOME)
        raise PermissionDenied("Annotator accounts open the tasks of new test sets only: /testsets/.")
