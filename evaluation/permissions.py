from rest_framework.permissions import BasePermission

from evaluation import selectors

RESULTS_CLOSED = "Results are closed to you while an evaluation phase you take part in is open."
IMAGE_CLOSED = "This image is in an evaluation phase you take part in: it is closed to you until the phase closes."


class SeesResults(BasePermission):
    """Logged in, and not a participant of an open phase (admins always)."""

    message = RESULTS_CLOSED

    def has_permission(self, request, view):
        return request.user.is_authenticated and not selectors.results_closed_to(request.user)
