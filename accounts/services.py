"""Accounts: logging in with a password, held to a number of attempts per username and client address; reviewer
and annotator accounts made for people whose answers are imported."""

import functools
import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from accounts.roles import ANNOTATOR, REVIEWER
from config.exceptions import DomainError


class LoginLocked(DomainError):
    """Too many failed attempts for this username from this address; wait before the next one."""

    def __init__(self, username, retry_after):
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many failed logins for {username!r} from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


def client_address(request):
    """The client's address: the peer's, or, where the peer is one of TRUSTED_PROXIES, the last address in
    X-Forwarded-For that is not a trusted proxy (the one the outermost trusted proxy saw). A header from any other
    peer is ignored: a client could write anything there."""
    address = request.META.get("REMOTE_ADDR", "")
    if not _trusted(address):
        return address
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _trusted(hop):
            return hop
    return address


def _trusted(address):
    """Whether the address is one of TRUSTED_PROXIES (addresses or networks such as 10.0.0.0/8)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted_networks(settings.TRUSTED_PROXIES))


@functools.cache
def _trusted_networks(proxies):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _attempts_key(username, address):
    digest = hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()
    return f"login-attempts:{digest}"


def authenticate_within_limit(*, request, username, password):
    """The user with these credentials, or None. Every attempt counts, before the password is checked, so
    that parallel guesses cannot overtake the count; a success starts afresh. Raises LoginLocked past
    LOGIN_FAILURE_LIMIT attempts in a LOGIN_FAILURE_WINDOW (seconds) that starts at the first one."""
    key = _attempts_key(username, client_address(request))
    window = settings.LOGIN_FAILURE_WINDOW
    if cache.add(key, 0, timeout=window):
        cache.set(f"{key}:ends", time.time() + window, timeout=window)
    try:
        attempts = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=window)
        attempts = 1
    if attempts > settings.LOGIN_FAILURE_LIMIT:
        ends = cache.get(f"{key}:ends") or time.time() + window
        raise LoginLocked(username, retry_after=max(1, math.ceil(ends - time.time())))
    user = authenticate(request, username=username, password=password)
    if user is not None:
        cache.delete_many([key, f"{key}:ends"])
    return user


def token_for(user):
    """The user's API token, made on first use (and again after a revocation)."""
    return Token.objects.get_or_create(user=user)[0]


def revoke_tokens_after_password_change(sender, instance, **kwargs):
    """post_save of a user: a new password (set_password, whichever page, command or admin set it) ends the
    user's API token, as it ends their other sessions, and so does having no usable password (the admin's way to
    lock an account out). A hash upgraded at login keeps the password and the token."""
    if instance._password is not None or not instance.has_usable_password():
        Token.objects.filter(user_id=instance.pk).delete()


def revoke_token(user):
    """Delete the user's API token: requests with it get 401 from now on. True if there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def accounts_with_role(usernames, role):
    """({username: user id}, how many were created): accounts missing are created with the role and no usable
    password (their owner sets one, or an admin does, before they log in). Accounts already there keep their
    roles."""
    user_model = get_user_model()
    found = dict(user_model.objects.filter(username__in=usernames).values_list("username", "pk"))
    new = [user_model(username=name) for name in sorted(set(usernames) - found.keys())]
    for user in new:
        user.set_unusable_password()
    user_model.objects.bulk_create(new)
    if new:
        created = user_model.objects.filter(username__in=[user.username for user in new]).values_list("username", "pk")
        found.update(created)
        # get_or_create: the data migration's groups are gone after a transactional test's flush.
        Group.objects.get_or_create(name=role)[0].user_set.add(*(pk for _, pk in created))
    return found, len(new)


def reviewer_accounts(usernames):
    """accounts_with_role for people whose verdicts are imported: new accounts are reviewers."""
    return accounts_with_role(usernames, REVIEWER)


def annotator_accounts(usernames):
    """accounts_with_role for people whose selections are imported (testsets): new accounts are annotators."""
    return accounts_with_role(usernames, ANNOTATOR)
