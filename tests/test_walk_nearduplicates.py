"""What a walk through the near-duplicate and final review pages found, as their users meet it in Chromium: the pages
fit a phone's width; a threshold reads as a short number and a proposal says it is one; the final review's list
flags the classes sampled short, each sampled image shows its neighbours' verdicts and leads to the duplicate review
of its pairs, and a resampled revision says which revision it came from and how many classes keep their marks; the
candidate browser links the near-duplicate page."""

import pytest
from django.utils import timezone

from accounts import roles
from nearduplicates.models import DuplicateReview, Neighbour, PairVerdict, Threshold
from tests import test_final_review
from tests.conftest import BROWSER_DB, client_for, make_user
from tests.test_final_review_pages import PAGE, wait_class
from tests.wnids import CHIHUAHUA, GOLDFISH, TENCH
from testsets.models import Candidate, Revision
from testsets.services import set_blacklisted

pytestmark = BROWSER_DB

# v2 against val, its revision 1 (top, two per class): tench t2, t1 and goldfish g1, g2, with files.
testset = test_final_review.testset


def searched(testset):
    """A finished pixel search: each tench candidate's five nearest reference images, the nearest under the
    threshold (0.15)."""
    reference = test_final_review.more_reference(testset, 5)
    test_final_review.neighbours_for(testset, list(Candidate.objects.filter(wnid=TENCH)), reference)
    return reference


def candidate_id(name):
    return Candidate.objects.get(image__file_name=name).pk


@pytest.mark.browser
@pytest.mark.parametrize(
    "path",
    ["/testsets/v2/near-duplicates/", "/testsets/v2/near-duplicates/review/", PAGE, "/testsets/v2/revisions/1/"],
)
def test_a_phone_sees_each_page_without_scrolling_sideways(testset, logged_in_page, path):
    searched(testset)
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    page.wait_for_load_state("networkidle")
    # The bar's links scroll inside it; tables inside their frame; the candidate shown fits the column.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_by_test_id("user-name").is_hidden()


@pytest.mark.browser
def test_a_threshold_reads_as_six_digits_and_a_proposal_says_it_is_one(testset, logged_in_page):
    admin = make_user("ada", roles.ADMIN)
    now = timezone.now()
    Threshold.objects.create(
        testset=testset,
        metric="pixel",
        value=0.23682896653275864,
        proposed=0.23682896653275864,
        set_by=admin,
        set_at=now,
    )
    Threshold.objects.create(testset=testset, metric="phash", value=9, proposed=13, set_by=admin, set_at=now)
    page = logged_in_page(admin)
    page.goto("/testsets/v2/near-duplicates/")
    page.get_by_test_id("threshold-pixel").wait_for()
    assert page.get_by_test_id("threshold-pixel").input_value() == "0.236829"
    assert page.get_by_test_id("threshold-phash").input_value() == "9"
    set_by = page.locator("#thresholds-body tr td:last-child").all_text_contents()
    today = now.date().isoformat()
    assert set_by == [f"ada, {today}", f"the proposal (ada, {today})"]


@pytest.mark.browser
def test_the_final_review_flags_short_classes_shows_verdicts_and_leads_to_the_duplicate_review(testset, logged_in_page):
    reference = searched(testset)
    admin = make_user("ada", roles.ADMIN)
    t2 = candidate_id("t2.jpg")
    DuplicateReview.objects.create(
        candidate_id=t2, image=reference[0], verdict=PairVerdict.DISTINCT, reviewed_by=admin, reviewed_at=timezone.now()
    )
    Revision.objects.filter(number=1).update(short_classes={CHIHUAHUA: {"wanted": 2, "sampled": 0, "reason": "none"}})
    page = logged_in_page(admin)
    page.goto(PAGE)
    wait_class(page, TENCH)
    badges = page.locator("#class-list li").evaluate_all(
        "items => Object.fromEntries(items.map((item) => "
        "[item.dataset.wnid, item.querySelector('.fr-class__badges').textContent]))"
    )
    assert badges == {TENCH: "", GOLDFISH: "", CHIHUAHUA: "none sampled"}

    # t2's nearest neighbour is under the threshold and judged not a duplicate; t1's waits for a verdict.
    under = page.locator("#sampled-grid .fr-neighbour.is-under")
    assert under.evaluate_all(
        "items => items.map((item) => "
        "[item.dataset.verdict, item.querySelector('.fr-neighbour__distance').textContent])"
    ) == [
        ["distinct", "pixel 0.10 · not a duplicate"],
        ["", "pixel 0.10"],
    ]
    assert Neighbour.objects.filter(candidate_id=t2, rank=1, image=reference[0]).exists()

    # From the focused image, Tab reaches the link to the duplicate review of its pairs.
    assert page.evaluate("document.activeElement.dataset.candidate") == str(t2)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.testid") == "judge-neighbours"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/testsets/v2/near-duplicates/review/?candidate={t2}")
    page.wait_for_function(f"() => document.getElementById('duplicate-review').dataset.candidate === '{t2}'")


@pytest.mark.browser
def test_a_resampled_revision_says_where_it_came_from_and_how_many_classes_keep_their_marks(testset, logged_in_page):
    admin = make_user("ada", roles.ADMIN)
    test_final_review.mark(1, GOLDFISH, admin, reviewed=True)
    test_final_review.mark(1, TENCH, admin, reviewed=True)
    set_blacklisted(candidate_id=candidate_id("t1.jpg"), user=admin, reason="wrong_class")
    assert test_final_review.resample(1) == 2
    page = logged_in_page(admin)
    page.goto(PAGE)
    wait_class(page, TENCH)
    assert page.get_by_test_id("revision-parent").is_hidden()
    page.goto("/testsets/v2/revisions/2/review/")
    wait_class(page, TENCH)
    # Tench changed (t1 replaced): only goldfish keeps its marks.
    assert page.get_by_test_id("revision-parent").text_content() == (
        "Sampled from revision 1: 1 class keeps its marks from it (their images are the same); the others start "
        "unmarked."
    )


def test_the_candidate_browser_links_the_near_duplicate_page(testset):
    page = client_for(make_user("ada", roles.ADMIN)).get(f"/testsets/v2/classes/{TENCH}/").content.decode()
    assert 'href="/testsets/v2/near-duplicates/" data-testid="near-duplicates-link"' in page


@pytest.mark.browser
def test_a_class_opens_with_its_name_and_marks_in_sight_not_scrolled_under_the_bar(testset, logged_in_page):
    searched(testset)
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.set_viewport_size({"width": 1280, "height": 500})
    page.goto(PAGE)
    wait_class(page, TENCH)
    # Its first image has the focus, yet the page did not scroll it into view past the class head.
    assert page.evaluate("document.activeElement.dataset.testid") == "sampled"
    assert page.evaluate("window.scrollY") == 0
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    page.evaluate("window.scrollTo(0, 400)")
    page.keyboard.press("]")
    wait_class(page, GOLDFISH)
    assert page.evaluate("window.scrollY") == 0
    assert page.get_by_test_id("mark-reviewed").is_visible()
