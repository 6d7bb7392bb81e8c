"""Roles are Django groups; superusers count as admins."""

from django.core.exceptions import PermissionDenied

ADMIN = "admin"
GUIDE_EDITOR = "guide_editor"
REVIEWER = "reviewer"
TRAINEE = "trainee"
ANNOTATOR = "annotator"
ROLES = (ADMIN, GUIDE_EDITOR, REVIEWER, TRAINEE, ANNOTATOR)


def _role_names(user):
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_names = names
    return names


def has_role(user, *roles):
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    names = _role_names(user)
    return bool(names.intersection(roles)) or (ADMIN in names)


def annotator_only(user):
    """An account that is an annotator and nothing else: a crowd worker, who sees the grids and nothing more
    (accounts.middleware), so that no reference image, file name or id can give the hidden controls away."""
    return user.is_authenticated and not (user.is_superuser or user.is_staff) and _role_names(user) == {ANNOTATOR}


def open_to_annotators(view):
    """Mark a view (function or class) as one that annotator-only accounts may open."""
    view.open_to_annotators = True
    return view


def is_admin(user):
    return has_role(user, ADMIN)


def can_review(user):
    return has_role(user, REVIEWER, ADMIN)


def can_annotate(user):
    """Whether the user may answer selection-frequency tasks (testsets)."""
    return has_role(user, ANNOTATOR, ADMIN)


def can_edit_guide(user):
    return has_role(user, GUIDE_EDITOR, ADMIN)


def require_role(user, check, why):
    """The one role check of pages: a user whom `check` (is_admin, can_review, can_edit_guide) refuses gets a 403
    page that says `why`."""
    if not check(user):
        raise PermissionDenied(why)
