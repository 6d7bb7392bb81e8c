"""Logging in: attempts limited per username and address, API tokens that can be revoked."""

import time

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts import roles
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


def log_in(client, username, password, address="203.0.113.7"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_login_page_locks_a_username_after_too_many_failures_from_one_address(client, reviewer, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        response = log_in(client, "rita", "guess")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    locked = log_in(client, "rita", PASSWORD)
    assert locked.status_code == 200 and "_auth_user_id" not in client.session
    message = locked.context["form"].non_field_errors()[0]
    assert message == "Too many failed logins for 'rita' from your address. Try again in 15 minutes."
    assert "Too many failed logins for &#x27;rita&#x27; from your address" in locked.text

    # Another address, or another username from this address, is not held back.
    assert log_in(Client(), "rita", PASSWORD, address="198.51.100.2").status_code == 302
    assert log_in(Client(), "nobody", "guess").context["form"].non_field_errors()[0].startswith("Please enter")


def test_a_successful_login_starts_the_count_afresh(client, reviewer, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    log_in(client, "rita", "guess")
    log_in(client, "rita", "guess")
    assert log_in(client, "rita", PASSWORD).status_code == 302
    client.logout()
    log_in(client, "rita", "guess")
    log_in(client, "rita", "guess")
    assert log_in(client, "rita", PASSWORD).status_code == 302


def test_lock_ends_with_its_window(client, reviewer, settings):
    settings.LOGIN_FAILURE_LIMIT = 1
    settings.LOGIN_FAILURE_WINDOW = 1
    log_in(client, "rita", "guess")
    assert "Too many failed logins" in log_in(client, "rita", PASSWORD).text
    time.sleep(1.1)
    assert log_in(client, "rita", PASSWORD).status_code == 302


def test_token_endpoint_shares_the_limit_and_answers_429(client, reviewer, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    bad = {"username": "Rita ", "password": "guess"}
    assert client.post("/api/auth/token/", bad).status_code == 400
    assert log_in(client, "rita", "guess", address="127.0.0.1").status_code == 200
    locked = client.post("/api/auth/token/", {"username": "rita", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["detail"].startswith("Too many failed logins for 'rita' from your address.")
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    assert not Token.objects.exists()


def test_revoked_token_gets_401_and_a_new_one_can_be_made(client, reviewer):
    token = client.post("/api/auth/token/", {"username": "rita", "password": PASSWORD}).json()["token"]
    scripted = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert scripted.get("/api/datasets/").status_code == 200

    assert scripted.delete("/api/auth/token/").status_code == 204
    assert scripted.get("/api/datasets/").status_code == 401
    assert scripted.delete("/api/auth/token/").status_code == 401
    assert not Token.objects.filter(user=reviewer).exists()

    fresh = client.post("/api/auth/token/", {"username": "rita", "password": PASSWORD}).json()["token"]
    assert fresh != token
    assert Client(HTTP_AUTHORIZATION=f"Token {fresh}").get("/api/datasets/").status_code == 200


def test_revoking_needs_a_login_and_a_browser_session_may_revoke(client, reviewer):
    assert client.delete("/api/auth/token/").status_code in (401, 403)
    Token.objects.create(user=reviewer)
    client.force_login(reviewer)
    assert client.delete("/api/auth/token/").status_code == 204
    assert not Token.objects.exists()


def test_token_endpoints_are_in_the_openapi_schema(client, reviewer):
    client.force_login(reviewer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = schema["paths"]["/api/auth/token/"]
    assert set(operations) == {"post", "delete"}
    assert "Revoke your API token" in operations["delete"]["summary"]
    assert "204" in operations["delete"]["responses"]
    token_output = operations["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert schema["components"]["schemas"][token_output.rsplit("/", 1)[-1]]["properties"] == {
        "token": {"type": "string"}
    }


@pytest.mark.parametrize(
    "path, status",
    [
        ("/api/datasets/", 403),
        ("/datasets/val/", 403),
        ("/models/", 403),
        ("/api/synsets/?q=tench", 403),
        ("/guide/", 200),
        ("/testsets/", 200),
    ],
)
def test_an_annotator_only_account_opens_the_grids_and_the_guide_and_nothing_else(db, path, status):
    client = Client()
    client.force_login(make_user("crowd", roles.ANNOTATOR))
    assert client.get(path).status_code == status
    home = client.get("/")
    assert (home.status_code, home["Location"]) == (302, "/testsets/")


def test_an_annotator_with_another_role_gets_that_role_elsewhere(db):
    client = Client()
    client.force_login(make_user("both", roles.ANNOTATOR, roles.TRAINEE))
    assert client.get("/api/datasets/").status_code == 200
    assert client.get("/").status_code == 200
