"""The home, dataset and login pages in Chromium."""

import json

import pytest

from accounts import roles
from annotate.models import ClassifierModel
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user

pytestmark = pytest.mark.browser


@BROWSER_DB
def test_home_lists_datasets_with_figures(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto("/")
    card = page.locator(f'[data-testid=dataset-card][data-dataset="{DATASET}"]')
    assert card.is_visible()
    text = card.inner_text()
    assert "Images\n3" in text
    assert "Models\n2" in text
    # Candidates: a has 3, b and c 2 each.
    assert "0 of 7 items reviewed (0%)" in text
    assert card.get_by_role("link", name="Review", exact=True).get_attribute("href") == f"/datasets/{DATASET}/review/"
    assert page.locator("[data-testid=user-name]").inner_text() == reviewer.username
    card.get_by_role("link", name=DATASET).click()
    page.wait_for_url(f"**/datasets/{DATASET}/")


@BROWSER_DB
def test_home_empty_state_tells_how_to_import(logged_in_page, reviewer):
    page = logged_in_page(reviewer)
    page.goto("/")
    empty = page.locator("[data-testid=empty-datasets]")
    assert empty.is_visible()
    assert "No datasets yet" in empty.inner_text()
    assert "python manage.py import_images DIR --dataset NAME" in empty.inner_text()


@BROWSER_DB
def test_dataset_page_for_a_reviewer(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    ClassifierModel.objects.filter(name="vit-sim").update(simulated=True, description="Made-up predictions")
    page = logged_in_page(reviewer)
    page.goto(f"/datasets/{DATASET}/")

    figures = page.locator("[data-testid=dataset-figures]")
    assert figures.locator("[data-figure=images]").inner_text() == "3"
    assert figures.locator("[data-figure=review_items]").inner_text() == "7"
    assert figures.locator("[data-figure=reviewed_items]").inner_text() == "0"
    assert "Unreviewed 7" in page.locator("[data-testid=verdict-counts]").inner_text()
    models = page.locator("[data-testid=model-list]")
    assert models.locator('[data-model="vit-sim"] .badge').inner_text() == "simulated"
    assert models.locator('[data-model="resnet-sim"] .badge').count() == 0
    assert "0 items on 0 images" in page.locator("[data-testid=my-progress]").inner_text()
    assert "0 / 7 items (0%)" in page.locator("[data-testid=dataset-progress]").inner_text()
    assert page.locator("[data-testid=interchange]").count() == 0

    # The class picker searches the synsets and opens the filtered review page.
    page.locator("#class-search").fill("chihua")
    option = page.locator('#class-results [role=option][data-wnid="n02085620"]')
    option.wait_for(state="visible")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/?wnid=n02085620")
    assert "Chihuahua" in page.locator("#class-filter").inner_text()

    page.goto(f"/datasets/{DATASET}/")
    page.locator("[data-testid=start-review]").click()
    page.wait_for_url(f"**/datasets/{DATASET}/review/")
    page.wait_for_function("document.body.dataset.imageId")


@BROWSER_DB
def test_dataset_page_export_form_for_admins(logged_in_page, admin_user, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(admin_user)
    page.goto(f"/datasets/{DATASET}/")
    action = page.locator("[data-testid=export-form]").get_attribute("action")
    assert action == f"/api/datasets/{DATASET}/export/"
    assert page.locator("#export-format").input_value() == "tfds"
    response = page.request.get(f"{action}?format=tfds")
    assert response.status == 200
    assert json.loads(response.body()) == {}  # nothing reviewed yet


@BROWSER_DB
def test_login_with_username_and_password(browser, live_server):
    make_user("lena", roles.REVIEWER, password="a-long-secret")
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/")
        page.wait_for_url("**/login/?next=/")

        page.fill("#id_username", "lena")
        page.fill("#id_password", "not-the-password")
        page.get_by_role("button", name="Log in").click()
        assert page.locator("[data-testid=login-error]").is_visible()

        page.fill("#id_password", "a-long-secret")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        assert page.locator("[data-testid=user-name]").inner_text() == "lena"
        assert page.locator("[data-testid=empty-datasets]").is_visible()

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login/")
        page.goto("/")
        page.wait_for_url("**/login/?next=/")
    finally:
        context.close()
