"""docker-compose.yml is accepted by Debian's docker-compose (no engine runs here) and wires the stack."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV = {"SECRET_KEY": "not-a-real-key", "POSTGRES_PASSWORD": "not-a-real-password"}


def compose(*args, env=None):
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is missing: the test command installs Debian's docker-compose package")
    clean = {k: v for k, v in os.environ.items() if k not in ENV}
    return subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_compose_file_is_valid():
    result = compose("-q", env=ENV)
    assert result.returncode == 0, result.stderr


def test_secrets_are_required_not_defaulted():
    result = compose("-q", env={"POSTGRES_PASSWORD": "x"})
    assert result.returncode != 0 and "set SECRET_KEY" in result.stderr


def test_services_queues_health_checks_and_volumes():
    config = yaml.safe_load(compose(env=ENV).stdout)
    services = config["services"]
    assert set(services) == {"web", "worker-gpu", "worker", "postgres", "redis"}
    assert "-Q gpu --concurrency 1" in services["worker-gpu"]["command"]
    assert "-Q default" in services["worker"]["command"]
    assert "gunicorn config.wsgi" in services["web"]["command"]
    assert services["worker-gpu"]["runtime"] == "nvidia"
    assert services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for name, service in services.items():
        assert "healthcheck" in service, name
    for name in ("web", "worker-gpu", "worker"):
        mounts = {volume.split(":")[1] for volume in services[name]["volumes"]}
        assert mounts == {"/var/lib/relabel/media", "/var/cache/torch"}, name
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
