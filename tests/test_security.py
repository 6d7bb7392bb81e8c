"""Security headers, production settings, uploaded files as browsers get them, manifest uris, list filters."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image as PILImage

from annotate.checks import check_source_uri
from annotate.errors import ImportFailed
from annotate.image_import import import_image_folder
from annotate.models import Dataset, Image, PredictionJob
from annotate.served_files import file_response
from tests.conftest import BROWSER_DB, build_dataset

ROOT = Path(__file__).resolve().parents[1]


# --- headers and production settings -------------------------------------------------------------


@pytest.mark.django_db
def test_pages_and_api_answers_carry_the_security_headers(client, reviewer):
    client.force_login(reviewer)
    for response in (client.get("/"), client.get("/api/datasets/"), client.get("/login/")):
        assert response.status_code == 200
        policy = dict(directive.split(" ", 1) for directive in response["Content-Security-Policy"].split("; "))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        # The demo and the docker-compose stack serve plain HTTP: no redirect, no HSTS.
        assert "Strict-Transport-Security" not in response


def manage(*args, **env):
    """manage.py in a fresh process with exactly this environment (and a PATH)."""
    environment = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def production_env(tmp_path, **overrides):
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "RELABEL_HTTPS": "true",
        "ALLOWED_HOSTS": "relabel.example.org",
        "DATABASE_URL": "postgres://relabel@db.example.org:5432/relabel",
        "RELABEL_VAR_DIR": str(tmp_path / "var"),
        **overrides,
    }


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = manage("check", "--deploy", **production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    issues = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert issues == set(), result.stdout + result.stderr
    security = manage("check", "--deploy", "--tag", "security", "--fail-level", "WARNING", **production_env(tmp_path))
    assert "System check identified no issues" in security.stdout, security.stdout + security.stderr
    # The production key comes from the environment only: nothing was generated on disk.
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_settings_are_https_only(tmp_path):
    script = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    result = manage("shell", "--no-imports", "-c", script, **production_env(tmp_path))
    assert result.stdout.split() == ["True", "31536000", "True", "True"], result.stderr


@pytest.mark.parametrize(
    "secret_key",
    [None, "short", "django-insecure-" + "x" * 50, "a" * 60],
    ids=["missing", "short", "django-default", "repetitive"],
)
def test_production_refuses_to_start_without_a_strong_secret_key(tmp_path, secret_key):
    env = production_env(tmp_path, SECRET_KEY=secret_key or "")
    result = manage("check", **env)
    assert result.returncode != 0
    assert "RELABEL_HTTPS=true (production) needs SECRET_KEY in the environment" in result.stderr


# --- uploaded files as browsers get them ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "served_as", "disposition"),
    [
        ("image/png", "image/png", 'inline; filename="a.png"'),
        ("image/tiff", "image/tiff", 'attachment; filename="a.png"'),
        ("text/html", "application/octet-stream", 'attachment; filename="a.png"'),
        ("image/svg+xml", "application/octet-stream", 'attachment; filename="a.png"'),
    ],
)
def test_file_responses_take_their_type_from_an_allow_list(content_type, served_as, disposition):
    response = file_response(b"<svg onload=alert(1)>", content_type=content_type, download_name="a.png")
    assert response["Content-Type"] == served_as
    assert response["Content-Disposition"] == disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@pytest.mark.django_db
def test_original_image_of_a_type_browsers_do_not_show_is_a_download(client, reviewer, tmp_path):
    folder = tmp_path / "scans" / "n01440764"
    folder.mkdir(parents=True)
    PILImage.new("RGB", (20, 10), (1, 2, 3)).save(folder / "scan<script>.tif")
    import_image_folder(dataset_name="scans", directory=folder.parent)
    client.force_login(reviewer)
    original = client.get(f"/images/{Image.objects.get().pk}/original")
    assert original["Content-Type"] == "image/tiff"
    assert original["Content-Disposition"] == 'attachment; filename="scan_script_.tif"'
    assert original["X-Content-Type-Options"] == "nosniff"


# --- manifest uris ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri", ["s3://imagenet/val/a.JPEG", "gs://bucket/a.jpg", "https://data.example.org/imagenet/a.JPEG"]
)
def test_manifest_uris_under_the_storage_roots_are_accepted(uri):
    assert check_source_uri(uri, "m.csv:1") == uri


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:///etc/passwd", "outside the allowed storage roots (s3://, gs://, https://)"),
        ("http://example.org/a.jpg", "outside the allowed storage roots"),
        ("gopher://example.org/a", "outside the allowed storage roots"),
        ("https://169.254.169.254/latest/meta-data/", "local or private network address"),
        ("https://127.0.0.1:8000/admin/", "local or private network address"),
        ("https://[::1]/a.jpg", "local or private network address"),
        ("https://10.0.0.7/a.jpg", "local or private network address"),
        ("https://localhost/a.jpg", "local or private network address"),
        ("https://metadata/computeMetadata/v1/", "local or private network address"),
        ("https://user:secret@example.org/a.jpg", "carries credentials"),
        ("s3://bucket/../other/a.jpg", "climbs out of its folder"),
        ("https://example.org:http/a.jpg", "is not a valid URI"),
        ("https://example.org/a b.jpg", "printable characters without spaces"),
        ("s3://bucket/" + "a" * 1000, "at most 1000"),
    ],
)
def test_manifest_uris_elsewhere_are_refused(uri, message):
    with pytest.raises(ImportFailed, match="^m.csv:1: ") as refused:
        check_source_uri(uri, "m.csv:1")
    assert message in str(refused.value)


def test_storage_roots_are_folders_not_name_prefixes(settings):
    settings.SOURCE_URI_ROOTS = ["https://data.example.org", "file:///srv/imagenet/"]
    assert check_source_uri("https://data.example.org/a.jpg", "w")
    assert check_source_uri("file:///srv/imagenet/val/a.jpg", "w")
    for uri in ("https://data.example.org.evil.example/a.jpg", "file:///srv/imagenet-private/a.jpg"):
        with pytest.raises(ImportFailed, match="outside the allowed storage roots"):
            check_source_uri(uri, "w")


@pytest.mark.django_db
def test_api_loads_checkpoints_only_from_the_checkpoint_roots(client, admin_user, image_folder, tmp_path, settings):
    import_image_folder(dataset_name="val", directory=image_folder())
    settings.CHECKPOINT_ROOTS = [str(tmp_path / "checkpoints")]
    client.force_login(admin_user)

    def start(weights):
        job = {"model": "resnet18", "dataset": "val", "weights": weights}
        return client.post("/api/prediction-jobs/", job, content_type="application/json").json()

    assert start(str(tmp_path / "checkpoints" / "ckpt.pth")) == {
        "detail": f"checkpoint {tmp_path / 'checkpoints' / 'ckpt.pth'} does not exist"
    }
    refused = start(str(tmp_path / "checkpoints" / ".." / "ckpt.pth"))["weights"][0]
    assert refused.startswith(f"checkpoints must lie under {tmp_path / 'checkpoints'};")
    assert not PredictionJob.objects.exists()


# --- list filters -------------------------------------------------------------------------------

# Lookups through relations that led to password hashes in other annotation tools (CVE-2023-47117).
HOSTILE_FILTERS = {
    "reviewer__password__startswith": "pbkdf2",
    "verdict_by__password__startswith": "md5",
    "created_by__password__regex": "^",
    "user__password__contains": "$",
    "ordering": "verdict_by__password",
    "search": "password",
    "filter": "password__startswith=md5",
}


def api_list_paths():
    """Every GET endpoint of the API without path parameters: the lists, searches and summaries."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/") and "<" not in route:
                yield "/" + route

    return sorted(set(walk(get_resolver().url_patterns)) - {"/api/schema/", "/api/docs/"})


@pytest.mark.django_db
def without_age(response):
    """The body, less how old cached figures are (it moves between two requests)."""
    body = response.json()
    if isinstance(body, dict):
        body.pop("age_seconds", None)
    return body


def test_list_endpoints_ignore_lookups_that_are_not_theirs(client, admin_user, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    client.force_login(admin_user)
    paths = api_list_paths()
    assert {"/api/datasets/", "/api/models/", "/api/guide/pages/", "/api/training/tasks/"} <= set(paths)
    for path in paths:
        plain = client.get(path)
        hostile = client.get(path, HOSTILE_FILTERS)
        assert hostile.status_code == plain.status_code, path
        assert without_age(hostile) == without_age(plain), path
    # No filter backend reads the query string for lookups.
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_FILTER_BACKENDS == []


@pytest.mark.django_db
def test_admin_refuses_lookups_through_relations(client, admin_user, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    for url in ("/admin/annotate/reviewitem/", "/admin/annotate/verdictchange/", "/admin/labelguide/revision/"):
        assert client.get(url).status_code == 200, url
        for lookup in ("verdict_by__password__startswith", "reviewer__password__startswith", "author__password"):
            # 400 for a lookup through a relation; a field the model lacks sends back to the list with ?e=1.
            response = client.get(url, {lookup: "md5"})
            assert response.status_code == 400 or response.url.endswith("?e=1"), (url, lookup)


# --- the CSP in a browser -----------------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_every_page_works_under_the_content_security_policy(logged_in_page, image_folder, tmp_path):
    from evaluation.services import create_phase, open_phase
    from labelguide.models import GuidePage
    from training.models import TrainingTask

    call_command("demo", verbosity=0)
    admin = User.objects.get(username="admin")
    dataset = Dataset.objects.get(name="demo")
    guide = GuidePage.objects.get(kind="comparison")
    task = TrainingTask.objects.get()
    phase = create_phase(name="CSP check", datasets={"demo": 4}, participants=[admin], created_by=admin)
    open_phase(phase)
    job = PredictionJob.objects.create(model=dataset.images.first().predictions.first().model, dataset=dataset)
    image = dataset.images.first()
    pages = {
        "/": "[data-testid=dataset-card]",
        f"/datasets/{dataset.name}/": "h1",
        f"/datasets/{dataset.name}/review/": "#candidates li",
        "/models/": "h1",
        f"/models/{job.model.name}/": "h1",
        "/jobs/": "h1",
        f"/jobs/{job.pk}/": "h1",
        "/guide/": "h1",
        "/guide/classes/": "h1",
        f"/guide/{guide.slug}/": "h1",
        f"/guide/{guide.slug}/edit/": "h1",
        f"/guide/{guide.slug}/history/": "h1",
        "/guide/new/": "h1",
        "/training/": "h1",
        "/training/tasks/new/": "h1",
        f"/training/tasks/{task.pk}/label/": "#training-app:not([data-state=loading])",
        "/training/stats/": "h1",
        "/evaluation/": "h1",
        f"/evaluation/phases/{phase.pk}/": "h1",
        f"/evaluation/phases/{phase.pk}/label/": "#evaluation-app:not([data-state=loading])",
        f"/images/{image.pk}/display": "img",
        "/admin/": "#content",
        "/admin/annotate/reviewitem/": "#result_list",
        "/api/docs/": ".opblock",
    }
    page = logged_in_page(admin, enforce_csp=True)
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    page.on("pageerror", lambda error: refused.append(str(error)))
    for path, selector in pages.items():
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"] or path.startswith("/images/")
        page.wait_for_selector(selector, state="attached")
        page.wait_for_load_state("networkidle")
        assert refused == [], (path, refused)
    # The API docs page rendered the operations from the schema.
    page.goto("/api/docs/")
    token_operations = page.locator('.opblock-summary-path[data-path="/api/auth/token/"]')
    token_operations.first.wait_for()
    assert token_operations.count() == 2
    assert refused == []
