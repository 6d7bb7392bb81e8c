"""The admins' near-duplicate pages: the searches, thresholds and groups of a test set, and the duplicate review;
who may open them, the queries each costs however much there is to list; and in Chromium, a pixel search's
candidates reviewed by keyboard alone, each step read back from the database. The search runs in the background
thread, which reads committed rows only: these tests are transactional."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from annotate.models import Dataset
from nearduplicates import graph
from nearduplicates.models import DuplicateReview, Neighbour, PairVerdict, Threshold
from nearduplicates.selectors import held_back_candidates, review_queue, standing
from tests import test_near_duplicates
from tests.conftest import BROWSER_DB, client_for, make_user
from testsets.models import Candidate

pytestmark = BROWSER_DB

# The test set v2 against val with planted copies of val's pictures among its candidates.
world = test_near_duplicates.world
PAGES = ("/testsets/v2/near-duplicates/", "/testsets/v2/near-duplicates/review/")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "role, expected",
    [(None, 302), (roles.TRAINEE, 403), (roles.REVIEWER, 403), (roles.GUIDE_EDITOR, 403), (roles.ANNOTATOR, 403)]
    + [(roles.ADMIN, 200)],
)
def test_only_admins_open_the_near_duplicate_pages(world, path, role, expected):
    user = make_user("someone", role) if role else None
    response = client_for(user).get(path)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", PAGES)
def test_a_missing_test_set_has_no_near_duplicate_pages(db, path):
    assert client_for(make_user("ada", roles.ADMIN)).get(path.replace("/v2/", "/nope/")).status_code == 404


def test_the_overview_links_the_near_duplicate_page_and_it_offers_the_datasets_and_the_api(world):
    client = client_for(make_user("ada", roles.ADMIN))
    assert 'href="/testsets/v2/near-duplicates/"' in client.get("/testsets/v2/").content.decode()
    page = client.get("/testsets/v2/near-duplicates/").content.decode()
    # val is offered and ticked; the candidates' own dataset is searched anyway and not offered.
    assert 'value="val" checked' in page
    assert 'value="v2-candidates"' not in page
    for api in ("searches/", "thresholds/", "review/", "groups/", "export/"):
        assert f"/api/testsets/v2/near-duplicates/{api}" in page
    review = client.get("/testsets/v2/near-duplicates/review/").content.decode()
    assert 'data-queue-url="/api/testsets/v2/near-duplicates/review/"' in review
    assert 'data-candidate-url="/api/testsets/v2/near-duplicates/candidates/0/"' in review


def page_queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", PAGES)
def test_each_page_costs_the_same_queries_however_many_datasets_and_neighbours(world, path):
    client = client_for(make_user("ada", roles.ADMIN))
    before = page_queries(client, path)
    for name in ("train", "test", "extra"):
        Dataset.objects.create(name=name)
    test_near_duplicates.search("pixel", k=5)
    assert page_queries(client, path) == before
    # Session, user, roles, test set (with its reference), and the datasets for the form.
    assert before <= 6


# ---- In Chromium ----------------------------------------------------------------------------------------------------


def review_state(page):
    return page.evaluate(
        """() => {
          const app = document.getElementById('duplicate-review');
          return {state: app.dataset.state, candidate: app.dataset.candidate, pending: app.dataset.pending,
                  progress: document.getElementById('review-progress').textContent,
                  held: document.getElementById('held-back').textContent,
                  tiles: [...document.querySelectorAll('#neighbour-grid .nd-tile')].map((tile) => ({
                    image: Number(tile.dataset.image), verdict: tile.dataset.verdict,
                    focused: document.activeElement === tile}))};
        }"""
    )


def wait_shown(page, candidate):
    page.wait_for_function(
        f"""() => {{ const app = document.getElementById('duplicate-review');
                    return app.dataset.state === 'ready' && app.dataset.candidate === '{candidate}'; }}"""
    )


def wait_saved(page):
    page.wait_for_function("() => document.getElementById('duplicate-review').dataset.pending === '0'")


def verdicts(candidate):
    return dict(DuplicateReview.objects.filter(candidate_id=candidate).values_list("image_id", "verdict"))


@pytest.mark.browser
def test_an_admin_reviews_near_duplicates_by_keyboard_alone(world, logged_in_page):
    test_near_duplicates.search("pixel", k=5)
    # The threshold lets in the planted copies and the nearest pair of two clean pictures.
    clean_nearest = (
        Neighbour.objects.filter(metric="pixel", rank=1)
        .exclude(candidate__image__file_name__startswith="copy_of_")
        .order_by("distance")
        .first()
    )
    Threshold.objects.filter(metric="pixel").update(value=clean_nearest.distance)
    queue = review_queue(world)
    copy = Candidate.objects.get(pk=queue[0])
    assert copy.image.file_name in test_near_duplicates.COPIED
    original = Neighbour.objects.get(candidate=copy, metric="pixel", rank=1).image
    assert original.file_name == test_near_duplicates.COPIED[copy.image.file_name]
    assert clean_nearest.candidate_id in queue

    admin = make_user("ada", roles.ADMIN)
    page = logged_in_page(admin)
    page.goto("/testsets/v2/near-duplicates/review/")
    wait_shown(page, copy.pk)
    shown = review_state(page)
    assert shown["progress"] == f"0 of {len(queue)} candidates reviewed"
    assert shown["tiles"][0] == {"image": original.pk, "verdict": "", "focused": True}

    # d: the copy is the same picture as its original, a reference image, which rejects the copy.
    page.keyboard.press("d")
    wait_saved(page)
    review = DuplicateReview.objects.get(candidate=copy, image=original)
    assert (review.verdict, review.reviewed_by) == (PairVerdict.DUPLICATE, admin)
    resolution = standing(world).resolution
    at = resolution.ids.tolist().index(copy.pk)
    assert (resolution.survives[at], resolution.reasons[at], resolution.related[at]) == (
        False,
        graph.TOUCHES_REFERENCE,
        original.pk,
    )
    assert copy.pk in held_back_candidates(world)
    # Its one neighbour under the threshold has a verdict: the candidate counts as reviewed, and the page says why
    # sampling may not take it.
    page.wait_for_function("() => document.getElementById('held-back').textContent.includes('reference image')")
    after = review_state(page)
    assert after["progress"] == f"1 of {len(queue)} candidates reviewed"
    assert after["tiles"] == [{"image": original.pk, "verdict": PairVerdict.DUPLICATE, "focused": True}]

    # Enter goes on through the queue, as it was when the page opened, to the clean pair.
    for _ in queue:
        if review_state(page)["candidate"] == str(clean_nearest.candidate_id):
            break
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('duplicate-review').dataset.state === 'ready'")
    wait_shown(page, clean_nearest.candidate_id)
    clean = review_state(page)
    assert [tile["image"] for tile in clean["tiles"]] == [clean_nearest.image_id]

    # n: not a duplicate; nothing else of it waits, so it no longer waits and sampling may take it.
    page.keyboard.press("n")
    wait_saved(page)
    assert verdicts(clean_nearest.candidate_id) == {clean_nearest.image_id: PairVerdict.DISTINCT}
    assert clean_nearest.candidate_id not in review_queue(world)
    assert clean_nearest.candidate_id not in held_back_candidates(world)
    assert review_state(page)["progress"] == f"2 of {len(queue)} candidates reviewed"

    # z takes the last verdict back: the pair waits again.
    page.keyboard.press("z")
    wait_saved(page)
    assert verdicts(clean_nearest.candidate_id) == {}
    assert clean_nearest.candidate_id in review_queue(world)
    assert review_state(page)["tiles"][0]["verdict"] == ""
    # z again undoes the duplicate verdict on the copy, going back to it.
    page.keyboard.press("z")
    wait_shown(page, copy.pk)
    wait_saved(page)
    assert verdicts(copy.pk) == {}
    assert copy.pk in review_queue(world)

    # The address names the candidate on screen: a reload opens it again.
    assert page.url.endswith(f"/testsets/v2/near-duplicates/review/?candidate={copy.pk}")
    page.reload()
    wait_shown(page, copy.pk)


def searches_page(page):
    return page.evaluate(
        """() => ({
          state: document.getElementById('near-duplicates').dataset.state,
          searches: [...document.querySelectorAll('#searches-body tr')].map((row) =>
            row.querySelector('[data-field="state"]').textContent),
          noSearches: !document.getElementById('no-searches').hidden,
          thresholds: [...document.querySelectorAll('#thresholds-body tr')].map((row) => row.dataset.metric),
          review: document.getElementById('review-link').textContent,
          groups: [...document.querySelectorAll('#groups-body tr')].map((row) => row.dataset.candidate),
          noGroups: !document.getElementById('no-groups').hidden,
        })"""
    )


@pytest.mark.browser
def test_an_admin_starts_a_search_watches_it_and_sets_the_threshold(world, logged_in_page):
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto("/testsets/v2/near-duplicates/")
    page.wait_for_function("() => document.getElementById('near-duplicates').dataset.state === 'ready'")
    empty = searches_page(page)
    assert empty["noSearches"] and empty["searches"] == [] and empty["thresholds"] == []
    assert empty["review"] == "No candidate waits for review"

    # A k out of range is refused by name, and nothing starts.
    page.get_by_label("Neighbours per candidate (k)").fill("0")
    page.get_by_test_id("start-search").click()
    page.wait_for_function("() => !document.getElementById('search-error').hidden")
    assert "k" in page.get_by_test_id("search-error").inner_text()
    assert not Neighbour.objects.exists()

    # The index belongs to the metrics of vectors, nprobe to IVF.
    nprobe = page.get_by_label("IVF lists visited per query (nprobe)")
    assert not nprobe.is_visible()
    page.get_by_test_id("search-index").select_option("ivf")
    assert nprobe.is_visible()
    page.get_by_test_id("search-metric").select_option("ssim")
    assert not nprobe.is_visible() and not page.get_by_test_id("search-index").is_visible()
    page.get_by_test_id("search-metric").select_option("pixel")
    page.get_by_test_id("search-index").select_option("auto")

    # Started with the reference ticked by default; the page polls until it is done, then shows the threshold.
    page.get_by_label("Neighbours per candidate (k)").fill("5")
    page.get_by_test_id("start-search").click()
    page.wait_for_function("() => document.querySelector('#thresholds-body tr[data-metric=\"pixel\"]')")
    done = searches_page(page)
    assert done["searches"] == ["done"] and done["thresholds"] == ["pixel"]
    # `auto` searched these few vectors exactly.
    assert "pixel, k 5 · exact" in page.locator("#searches-body tr").first.inner_text()
    threshold = Threshold.objects.get(metric="pixel")
    waiting = len(review_queue(world))
    assert waiting > 0
    assert done["review"] == f"Review {waiting} waiting candidates"

    # A threshold of 0 lets nothing under it; back to the proposal restores it.
    field = page.get_by_test_id("threshold-pixel")
    field.fill("0")
    field.press("Enter")
    page.wait_for_function("() => document.getElementById('review-link').textContent.startsWith('No candidate')")
    threshold.refresh_from_db()
    assert threshold.value == 0
    page.get_by_role("button", name="Back to proposal").click()
    page.wait_for_function(f"() => document.getElementById('review-link').textContent.startsWith('Review {waiting}')")
    threshold.refresh_from_db()
    assert threshold.value == threshold.proposed

    # A copy judged a duplicate of its original forms a group that rejects it.
    copy = Candidate.objects.get(pk=review_queue(world)[0])
    original = Neighbour.objects.get(candidate=copy, metric="pixel", rank=1).image
    client = client_for(make_user("bea", roles.ADMIN))
    client.post(
        f"/api/testsets/v2/near-duplicates/candidates/{copy.pk}/verdict/",
        {"image": original.pk, "verdict": "duplicate"},
        content_type="application/json",
    )
    page.reload()
    page.wait_for_function("() => document.getElementById('near-duplicates').dataset.state === 'ready'")
    grouped = searches_page(page)
    assert grouped["groups"] == [str(copy.pk)] and not grouped["noGroups"]
    row = page.locator(f'#groups-body tr[data-candidate="{copy.pk}"]')
    assert "rejected" in row.inner_text() and f"reference image {original.pk}" in row.inner_text()
