"""The final review page of a revision: who may open it, what it costs, the link from the revision page; and in
Chromium, by keyboard alone: moving between the sampled images, blacklisting one and undoing it, marking the class
reviewed and problematic, going to the next class, each step read back from the database; and its empty states."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from finalreview.models import ClassReview
from tests import test_final_review
from tests.conftest import BROWSER_DB, client_for, make_user
from tests.wnids import GOLDFISH, TENCH
from testsets.models import Candidate

pytestmark = BROWSER_DB

# v2 against val, its revision 1 (top, two per class): tench t2, t1 and goldfish g1, g2, with files.
testset = test_final_review.testset
PAGE = "/testsets/v2/revisions/1/review/"


@pytest.mark.parametrize(
    "role, expected",
    [(None, 302), (roles.TRAINEE, 403), (roles.REVIEWER, 403), (roles.GUIDE_EDITOR, 403), (roles.ANNOTATOR, 403)]
    + [(roles.ADMIN, 200)],
)
def test_only_admins_open_the_final_review(testset, role, expected):
    user = make_user("someone", role) if role else None
    response = client_for(user).get(PAGE)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/login/")


def test_a_missing_revision_has_no_final_review_and_the_revision_page_links_it(testset):
    client = client_for(make_user("ada", roles.ADMIN))
    assert client.get("/testsets/v2/revisions/9/review/").status_code == 404
    assert client.get("/testsets/nope/revisions/1/review/").status_code == 404
    assert f'href="{PAGE}"' in client.get("/testsets/v2/revisions/1/").content.decode()
    page = client.get(PAGE).content.decode()
    assert 'data-classes-url="/api/testsets/v2/revisions/1/review/classes/"' in page
    assert 'data-blacklist-url="/api/testsets/v2/candidates/0/blacklist/"' in page


def test_the_page_costs_a_fixed_number_of_queries(testset):
    client = client_for(make_user("ada", roles.ADMIN))
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PAGE).status_code == 200
    # Session, user, roles, test set (with its datasets), revision.
    assert len(captured) <= 5


# ---- In Chromium ----------------------------------------------------------------------------------------------------


def shown(page):
    return page.evaluate(
        """() => {
          const app = document.getElementById('final-review');
          return {state: app.dataset.state, wnid: app.dataset.wnid, address: window.location.search,
                  progress: document.getElementById('review-progress').textContent,
                  focused: document.activeElement.dataset.candidate || null,
                  tiles: [...document.querySelectorAll('#sampled-grid .fr-tile')].map((tile) => ({
                    candidate: Number(tile.dataset.candidate), reason: tile.dataset.reason,
                    neighbours: tile.querySelectorAll('.fr-neighbour').length,
                    under: tile.querySelectorAll('.fr-neighbour.is-under').length})),
                  reference: document.querySelectorAll('#reference-list li').length,
                  noSearch: !document.getElementById('no-search').hidden,
                  reviewed: document.getElementById('mark-reviewed').getAttribute('aria-pressed'),
                  problematic: document.getElementById('mark-problematic').getAttribute('aria-pressed')};
        }"""
    )


def wait_class(page, wnid):
    page.wait_for_function(
        f"""() => {{ const app = document.getElementById('final-review');
                    return app.dataset.state === 'ready' && app.dataset.wnid === '{wnid}'; }}"""
    )


def wait_saved(page):
    page.wait_for_function("() => document.getElementById('final-review').dataset.pending === '0'")


def reason_of(name):
    return Candidate.objects.get(image__file_name=name).blacklist_reason


def marks(wnid):
    review = ClassReview.objects.filter(revision__number=1, wnid=wnid).first()
    return (review.reviewed, review.problematic) if review else None


@pytest.mark.browser
def test_an_admin_reviews_a_revision_by_keyboard_alone(testset, logged_in_page):
    pool = list(Candidate.objects.filter(wnid=GOLDFISH).values_list("image", flat=True))
    test_final_review.neighbours_for(
        testset, list(Candidate.objects.filter(wnid=TENCH)), list(testset.pool.images.filter(pk__in=pool))
    )
    t2, t1 = (Candidate.objects.get(image__file_name=name).pk for name in ("t2.jpg", "t1.jpg"))
    admin = make_user("ada", roles.ADMIN)
    page = logged_in_page(admin)
    page.goto(PAGE)
    wait_class(page, TENCH)
    state = shown(page)
    assert [tile["candidate"] for tile in state["tiles"]] == [t2, t1]
    assert state["focused"] == str(t2)
    # Two neighbours each (the goldfish candidates), the nearest under the threshold; no notice of a missing search.
    assert [(tile["neighbours"], tile["under"]) for tile in state["tiles"]] == [(2, 1), (2, 1)]
    assert (state["reference"], state["noSearch"]) == (1, False)
    assert state["progress"] == "0 of 2 classes reviewed · 0 problematic"

    # → then 2: t1 is blacklisted as the wrong class; the list and the progress count it.
    page.keyboard.press("ArrowRight")
    assert shown(page)["focused"] == str(t1)
    page.keyboard.press("2")
    wait_saved(page)
    assert reason_of("t1.jpg") == "wrong_class"
    assert shown(page)["tiles"][1]["reason"] == "wrong_class"
    assert "1 image blacklisted since sampling" in shown(page)["progress"]
    assert page.get_by_test_id("resample-note").is_visible()

    # z takes it back.
    page.keyboard.press("z")
    wait_saved(page)
    assert reason_of("t1.jpg") == ""
    assert shown(page)["tiles"][1]["reason"] == ""

    # r and p mark the class.
    page.keyboard.press("r")
    wait_saved(page)
    assert marks(TENCH) == (True, False)
    page.keyboard.press("p")
    wait_saved(page)
    assert marks(TENCH) == (True, True)
    state = shown(page)
    assert (state["reviewed"], state["problematic"]) == ("true", "true")
    assert state["progress"] == "1 of 2 classes reviewed · 1 problematic"
    assert "marked in r1 by ada" in page.get_by_test_id("marks-origin").text_content()

    # ] goes to the next class, whose address can be reloaded.
    page.keyboard.press("]")
    wait_class(page, GOLDFISH)
    state = shown(page)
    assert state["address"] == f"?class={GOLDFISH}"
    assert (state["reviewed"], state["problematic"]) == ("false", "false")
    # A search was made: these have no neighbours found, and no notice says none was searched.
    assert ([tile["neighbours"] for tile in state["tiles"]], state["noSearch"]) == ([0, 0], False)
    # z undoes the last change even of another class: tench is no longer problematic.
    page.keyboard.press("z")
    wait_saved(page)
    assert marks(TENCH) == (True, False)
    assert shown(page)["progress"] == "1 of 2 classes reviewed · 0 problematic"

    # ? shows the keys, Escape hides them.
    page.keyboard.press("?")
    assert page.locator("#keys-sheet").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#keys-sheet").is_hidden()

    # The filter lives in the address: not reviewed yet leaves tench out of the list.
    page.goto(f"{PAGE}?show=unreviewed")
    wait_class(page, GOLDFISH)
    assert page.locator("#class-list li").evaluate_all("items => items.map((item) => item.dataset.wnid)") == [GOLDFISH]


@pytest.mark.browser
def test_the_empty_states(testset, logged_in_page):
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto(f"{PAGE}?show=problematic")
    page.wait_for_function("() => document.getElementById('final-review').dataset.state === 'empty'")
    assert "No class is marked problematic" in page.get_by_test_id("review-empty").text_content()
    assert page.get_by_test_id("classes-empty").is_visible()
    assert "0 of 2 classes reviewed" in page.get_by_test_id("review-progress").text_content()
    # A class without any neighbour search says so, and a class the revision lacks is named.
    page.goto(f"{PAGE}?class=n99999999")
    wait_class(page, TENCH)
    assert "has no class n99999999" in page.get_by_test_id("review-error").text_content()
    assert page.get_by_test_id("no-search").is_visible()


@pytest.mark.browser
def test_blacklisting_then_resampling_makes_a_new_revision_that_carries_the_unchanged_classes_marks(
    testset, logged_in_page
):
    admin = make_user("ada", roles.ADMIN)
    test_final_review.mark(1, GOLDFISH, admin, reviewed=True)
    page = logged_in_page(admin)
    page.goto(PAGE)
    wait_class(page, TENCH)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("4")
    wait_saved(page)
    assert reason_of("t1.jpg") == "composite"
    page.get_by_test_id("resample").click()
    page.wait_for_url("**/testsets/v2/revisions/2/review/**")
    wait_class(page, TENCH)
    assert [tile["candidate"] for tile in shown(page)["tiles"]] == [
        Candidate.objects.get(image__file_name=name).pk for name in ("t2.jpg", "t3.jpg")
    ]
    assert shown(page)["progress"] == "1 of 2 classes reviewed · 0 problematic"
    page.keyboard.press("]")
    wait_class(page, GOLDFISH)
    assert shown(page)["reviewed"] == "true"
    assert page.get_by_test_id("marks-origin").text_content() == "carried from r1"
