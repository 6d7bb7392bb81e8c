"""The figures of the results API (scores, drops, the results page's data) from Django's cache: each is computed
once for its request's filters and the state of the data behind it (selectors.figures_fingerprint), and served
with the time it was computed.

A write that changes labels, predictions or flags moves the fingerprint, so the next request misses and computes
anew. Entries also expire after CACHE_SECONDS: two writers that commit in the other order than they took their
ids (concurrent imports, say) can leave the fingerprint where a request already saw it, and the expiry bounds how
long figures may then lag.
"""

import hashlib
import json

from django.core.cache import cache
from django.utils import timezone

from evaluation import selectors

CACHE_SECONDS = 600
KEY_PREFIX = "evaluation-figures"


def cached(kind, filters, compute):
    """(figures, computed_at): what compute() gives, or gave for the same kind of figures, filters (JSON-able) and
    fingerprint of the data. computed_at is when the computation started: the figures stand on the data then."""
    # Read before the figures are computed: they are then at least as new as the key they are kept under.
    fingerprint = selectors.figures_fingerprint()
    digest = hashlib.sha256(json.dumps([filters, fingerprint], default=str).encode()).hexdigest()
    key = f"{KEY_PREFIX}:{kind}:{digest}"
    found = cache.get(key)
    if found is None:
        computed_at = timezone.now()
        found = (compute(), computed_at)
        cache.set(key, found, CACHE_SECONDS)
    return found


def age_seconds(computed_at):
    """How old figures computed at computed_at are, in seconds."""
    return round((timezone.now() - computed_at).total_seconds(), 3)
