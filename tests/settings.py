"""Test settings: the real PostgreSQL and Redis of this machine unless the environment names others."""

import os
import tempfile
import zlib

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/relabel")
# Runs against different databases (parallel checkouts) get different Redis databases, so that their
# Celery workers never take each other's tasks.
os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{1 + zlib.crc32(os.environ['DATABASE_URL'].encode()) % 15}")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="relabel-test-media-"))
# Compiling a model takes longer than the few images a test runs; test_inference.py compiles once.
os.environ.setdefault("RELABEL_TORCH_COMPILE", "0")
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="relabel-test-static-"))

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run tasks in-process unless a test starts real workers (tests/test_workers.py).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("RELABEL_CELERY_EAGER", "1") == "1"
# Each test process keeps its own cache; tests/conftest.py empties it before every test.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
