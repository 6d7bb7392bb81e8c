import io
import os
from pathlib import Path

import psycopg2
import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from PIL import Image as PILImage

from accounts import roles
from annotate import sharded_jobs
from annotate.image_import import import_image_folder
from annotate.models import Dataset
from annotate.prediction_import import import_predictions
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, JAPANESE_SPANIEL, TENCH, TIGER_SHARK

SHARED_DATA = Path(os.environ.get("RELABEL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shared_data(relative):
    """A path under ../shared/data, or a skip when that real data is not on this machine."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


JPEG_SIZE = (64, 48)


def jpeg_bytes(color=(200, 30, 30), size=JPEG_SIZE):
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def empty_cache():
    """Login attempt counts and other cached values of one test never reach the next."""
    cache.clear()


@pytest.fixture(autouse=True)
def background_jobs_end_with_the_test():
    """A prediction job run in the background (in-process mode) ends before its test's database is emptied."""
    yield
    sharded_jobs.background_jobs.wait()


def connect(name=None):
    """A psycopg2 connection of the test's own, outside Django's, to the database `name` of the test database's
    server (the test database itself by default)."""
    database = connection.settings_dict
    return psycopg2.connect(
        dbname=name or database["NAME"],
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        password=database["PASSWORD"],
    )


def client_for(user):
    """A test client logged in as `user`, or anonymous for None."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def make_user(username, *role_names, password="pw-for-tests"):
    user = User.objects.create_user(username=username, password=password)
    # get_or_create: a transactional test's flush removes the groups the data migration made.
    user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in role_names))
    return user


@pytest.fixture
def reviewer(db):
    return make_user("rita", roles.REVIEWER)


@pytest.fixture
def admin_user(db):
    return make_user("ada", roles.ADMIN)


@pytest.fixture
def trainee(db):
    return make_user("tom", roles.TRAINEE)


@pytest.fixture
def image_folder(tmp_path):
    """A DIR/<wnid>/<file> folder of JPEGs of the given colours: by default three small ones in two classes."""

    def build(files=None, size=JPEG_SIZE):
        files = files or {
            TENCH: {"a.JPEG": (10, 120, 10), "b.JPEG": (10, 10, 120)},
            CHIHUAHUA: {"c.JPEG": (120, 120, 10)},
        }
        root = tmp_path / "images"
        for wnid, names in files.items():
            (root / wnid).mkdir(parents=True, exist_ok=True)
            for name, color in names.items():
                (root / wnid / name).write_bytes(jpeg_bytes(color, size))
        return root

    return build


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in the test thread, where the ORM calls of the tests
    # and the flush after each transactional test are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def logged_in_page(browser, live_server, client):
    """A browser page whose session belongs to the given user."""
    contexts = []

    def open_as(user, enforce_csp=False):
        client.force_login(user)
        # Playwright's wait_for_function evaluates its predicate with eval(), which the app's CSP refuses: only
        # the test of the CSP itself keeps the policy on.
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=not enforce_csp
        )
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_as
    for context in contexts:
        context.close()


BROWSER_DB = pytest.mark.django_db(transaction=True)
DATASET = "review-set"

# Original labels (from the folder): a, b = tench; c = Chihuahua. Top-1 predictions of two models:
# a gets goldfish and tiger shark (3 candidates), b great white shark, c Japanese spaniel (2 each).
MODEL_PREDICTIONS = {
    "resnet-sim": f"filename,top1\na.JPEG,{GOLDFISH}\nb.JPEG,{GREAT_WHITE}\nc.JPEG,{JAPANESE_SPANIEL}\n",
    "vit-sim": f"filename,top1\na.JPEG,{TIGER_SHARK}\nb.JPEG,{GREAT_WHITE}\nc.JPEG,{JAPANESE_SPANIEL}\n",
}


def build_dataset(image_folder, tmp_path, name=DATASET, predictions=MODEL_PREDICTIONS, files=None, size=JPEG_SIZE):
    """A dataset imported from image_folder, with each model's predictions imported from a CSV."""
    import_image_folder(dataset_name=name, directory=image_folder(files, size))
    for model, rows in predictions.items():
        path = tmp_path / f"{name}-{model}.csv"
        path.write_text(rows)
        import_predictions(model_name=model, dataset_name=name, path=path)
    return Dataset.objects.get(name=name)


@pytest.fixture
def make_dataset(db, image_folder, tmp_path):
    """build_dataset for this test's image folder: make_dataset(name=..., predictions=..., files=..., size=...)."""

    def build(**options):
        return build_dataset(image_folder, tmp_path, **options)

    return build


@pytest.fixture
def dataset(make_dataset):
    """review-set: a, b (tench) and c (Chihuahua) with the top-1 predictions of MODEL_PREDICTIONS's two models."""
    return make_dataset()


@pytest.fixture
def unpredicted_dataset(make_dataset):
    """val: a, b (tench) and c (Chihuahua) with their original labels only."""
    return make_dataset(name="val", predictions={})


@pytest.fixture
def one_model_dataset(make_dataset):
    """val: a, b (tench) and c (Chihuahua), with model m's top-1 predictions: goldfish for a, tench for b and c."""
    return make_dataset(name="val", predictions={"m": f"a.JPEG,{GOLDFISH}\nb.JPEG,{TENCH}\nc.JPEG,{TENCH}\n"})


def evaluation_people(second_reviewer="rita"):
    """The users of the evaluation tests by username: the admin (ada), the trainee pat and two reviewers, paula and
    second_reviewer."""
    return {
        "admin": make_user("ada", roles.ADMIN),
        "pat": make_user("pat", roles.TRAINEE),
        "paula": make_user("paula", roles.REVIEWER),
        second_reviewer: make_user(second_reviewer, roles.REVIEWER),
    }


@pytest.fixture
def people(db):
    return evaluation_people()
