"""The demo on its embedded defaults (SQLite, tasks in-process), served by `manage.py runserver` as `make demo`
serves it: quick saves from several clients at once are all stored, none answered 503 "database is locked"."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
SAVES_PER_CLIENT = 6


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo-var")
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        RELABEL_VAR_DIR=str(var),
        MEDIA_ROOT=str(var / "media"),
        STATIC_ROOT=str(var / "static"),
        DEBUG="true",
    )

    def manage(*args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)

    manage("migrate", "--no-input", "-v", "0")
    manage("demo")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/login/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url, var / "relabel.sqlite3"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_quick_saves_from_several_clients_are_all_stored(demo_server):
    url, database = demo_server
    token = requests.post(f"{url}/api/auth/token/", data={"username": "reviewer", "password": "reviewer"}, timeout=10)
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Token {token.json()['token']}"}
    with sqlite3.connect(database) as connection:
        items = [pk for (pk,) in connection.execute("SELECT id FROM annotate_reviewitem ORDER BY id")]
    assert len(items) >= CLIENTS * SAVES_PER_CLIENT

    def save(client):
        session = requests.Session()
        answers = []
        for item in items[client * SAVES_PER_CLIENT : (client + 1) * SAVES_PER_CLIENT]:
            response = session.post(
                f"{url}/api/review-items/{item}/verdict/", json={"verdict": "correct"}, headers=headers, timeout=30
            )
            answers.append((item, response.status_code, response.text[:200]))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [answer for client in pool.map(save, range(CLIENTS)) for answer in client]
    refused = [answer for answer in answers if answer[1] != 200]
    assert not refused, refused
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        saved = connection.execute("SELECT COUNT(*) FROM annotate_reviewitem WHERE verdict = 'correct'").fetchone()[0]
    assert saved >= len(answers)
