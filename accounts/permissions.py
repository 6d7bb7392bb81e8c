from rest_framework.permissions import BasePermission

from accounts.roles import can_annotate, can_review, is_admin


class IsReviewer(BasePermission):
    message = "Reviewing needs the reviewer or admin role."

    def has_permission(self, request, view):
        return can_review(request.user)


class IsAdmin(BasePermission):
    message = "Only admins may do this."

    def has_permission(self, request, view):
        return is_admin(request.user)


class IsAnnotator(BasePermission):
    message = "Answering selection-frequency tasks needs the annotator or admin role."

    def has_permission(self, request, view):
        return can_annotate(request.user)
