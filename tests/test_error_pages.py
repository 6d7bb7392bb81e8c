"""Error pages: a 403 or 404 outside the API is a page in the app's layout that says why and where to go next,
with DEBUG on (as `make demo` runs) or off; the API keeps answering JSON; /datasets/ is the list of datasets."""

import pytest
from django.test import override_settings

from tests.conftest import BROWSER_DB, make_user

pytestmark = BROWSER_DB


def open_error(page, path, status):
    response = page.goto(path)
    assert response.status == status
    error = page.get_by_test_id("error-page")
    assert error.get_attribute("data-status") == str(status)
    assert page.locator("header.topbar .brand").is_visible()  # the app's layout, not a bare page
    return error


def test_an_address_that_matches_nothing_is_a_page_of_the_app(logged_in_page, reviewer, unpredicted_dataset):
    page = logged_in_page(reviewer)
    error = open_error(page, "/no/such/page/", 404)
    assert "There is no page here" in error.inner_text()
    assert page.locator("nav.topnav").is_visible()
    page.get_by_test_id("error-home").click()
    page.wait_for_url("**/")
    assert page.get_by_test_id("dataset-card").count() == 1


def test_a_missing_dataset_and_a_missing_image_say_so(logged_in_page, reviewer, unpredicted_dataset):
    page = logged_in_page(reviewer)
    error = open_error(page, "/datasets/nope/", 404)
    assert page.get_by_test_id("error-message").inner_text() == "dataset 'nope' does not exist"
    assert error.get_by_test_id("error-home").is_visible()
    open_error(page, "/jobs/999999/", 404)
    assert page.get_by_test_id("error-message").inner_text().startswith("There is no prediction job at this address")


def test_a_page_the_role_may_not_open_says_which_role_it_needs(logged_in_page, trainee, unpredicted_dataset):
    page = logged_in_page(trainee)
    page.goto(f"/datasets/{unpredicted_dataset.name}/")
    error = open_error(page, f"/datasets/{unpredicted_dataset.name}/review/", 403)
    assert page.get_by_test_id("error-message").inner_text() == "Reviewing needs the reviewer or admin role."
    assert trainee.username in error.inner_text()
    # The Training link of the page is open to a trainee.
    error.get_by_role("link", name="Training").click()
    page.wait_for_url("**/training/")


def test_an_anonymous_visitor_is_offered_the_login(browser, live_server, unpredicted_dataset):
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        open_error(page, "/no/such/page/", 404)
        page.get_by_test_id("error-login").click()
        page.wait_for_url("**/login/?next=%2Fno%2Fsuch%2Fpage%2F")
    finally:
        context.close()


def test_datasets_lists_the_datasets(logged_in_page, reviewer, unpredicted_dataset):
    page = logged_in_page(reviewer)
    response = page.goto("/datasets/")
    assert response.status == 200
    assert page.get_by_test_id("dataset-card").count() == 1
    assert page.locator("nav.topnav a[aria-current=page]").inner_text() == "Datasets"


@pytest.mark.parametrize("debug", [False, True])
def test_error_pages_whatever_debug_says_and_json_under_the_api(client, unpredicted_dataset, debug):
    client.force_login(make_user("rev", "reviewer"))
    with override_settings(DEBUG=debug):
        for path in ("/no/such/page/", "/datasets/nope/", "/no/such/page"):
            response = client.get(path, follow=True)
            assert response.status_code == 404, path
            assert b'data-testid="error-page"' in response.content, path
        api = client.get("/api/no/such/thing/")
        assert api.status_code == 404
        if not debug:  # with DEBUG on, Django's technical 404 page tells a developer which addresses there are
            assert api.json() == {"detail": "Not found: no address of the API is like this one."}
