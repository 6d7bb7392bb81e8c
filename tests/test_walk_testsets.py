"""Regressions found by walking the test-set pages in Chromium as their users would: what the grid tells an
annotator who has nothing to answer, the candidate browser's count on an address past its last page, a revision whose
images were blacklisted after it was sampled, and a per-class threshold for a class the test set does not have."""

import re

import pytest

from accounts import roles
from tests.conftest import BROWSER_DB, make_user
from tests.test_testset_api import build_testset
from tests.wnids import TENCH
from testsets import services
from testsets.models import Candidate, FrequencyTask, RevisionImage
from testsets.revisions import sample_testset

pytestmark = BROWSER_DB

# A class of ImageNet that the reference of build_testset (tench and goldfish) does not hold.
BRAMBLING = "n01530575"


@pytest.fixture
def testset(make_dataset, tmp_path):
    """v2 against val: six tench candidates, each selected by both of its two annotators (frequency 1)."""
    return build_testset(make_dataset, tmp_path)


def test_the_grid_does_not_tell_an_annotator_they_answered_tasks_they_never_saw(logged_in_page, make_dataset):
    """A test set without tasks: the annotator answered nothing, so 'you answered every task' is false."""
    from playwright.sync_api import expect

    make_dataset(name="val", predictions={})
    services.create_testset(name="fresh", reference_name="val")
    page = logged_in_page(make_user("newcomer", roles.ANNOTATOR))
    page.goto("/testsets/fresh/annotate/")
    empty = page.locator("#empty-state")
    expect(empty).to_be_visible()
    expect(empty).not_to_contain_text("you answered every task")


def test_a_candidate_address_past_the_last_page_does_not_count_backwards(logged_in_page, testset):
    """/classes/<wnid>/?offset=9999 on a class of six candidates read '6 candidates · 10000–9999'."""
    from playwright.sync_api import expect

    page = logged_in_page(make_user("ada", roles.ADMIN))
    wnid = Candidate.objects.filter(testset=testset).values_list("wnid", flat=True).first()
    page.goto(f"/testsets/v2/classes/{wnid}/?offset=9999")
    expect(page.locator("#class-browser")).to_have_attribute("data-state", "ready")
    count = page.get_by_test_id("candidate-count").inner_text()
    for first, last in re.findall(r"(\d+)–(\d+)", count):
        assert int(first) <= int(last), count


def test_a_revision_page_marks_an_image_blacklisted_after_it_was_sampled(logged_in_page, testset):
    """Made a dataset, such a revision carries a blacklisted image into the new test set: its page must say so."""
    from playwright.sync_api import expect

    admin = make_user("ada", roles.ADMIN)
    sample_testset(testset_name="v2", strategy="threshold", threshold=0.5, seed=7)
    image = RevisionImage.objects.select_related("candidate__image").order_by("pk").first()
    services.set_blacklisted(candidate_id=image.candidate_id, user=admin, reason="drawing")
    page = logged_in_page(admin)
    page.goto("/testsets/v2/revisions/1/")
    tile = page.locator(f'li[data-file-name="{image.candidate.image.file_name}"]')
    expect(tile).to_be_visible()
    expect(tile).to_contain_text(re.compile("blacklist", re.IGNORECASE))


def test_a_threshold_for_a_class_outside_the_test_set_is_refused_by_name(logged_in_page, testset):
    """A typo'd wnid that happens to be another ImageNet class was taken silently and did nothing."""
    from playwright.sync_api import expect

    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto("/testsets/v2/revisions/")
    page.get_by_test_id("strategy-threshold").check()
    page.locator("#sample-thresholds").fill(f"{BRAMBLING}=0.5")
    page.get_by_test_id("preview").click()
    error = page.get_by_test_id("sample-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(BRAMBLING)


def test_the_done_screen_drops_the_hint_about_the_task_before(logged_in_page, testset):
    """'Nothing is selected...' stayed on the done screen, about a task no longer there."""
    from playwright.sync_api import expect

    FrequencyTask.objects.filter(pk=FrequencyTask.objects.filter(testset=testset).first().pk).update(
        assignments_wanted=3
    )
    page = logged_in_page(make_user("newcomer", roles.ANNOTATOR))
    page.goto("/testsets/v2/annotate/")
    page.wait_for_function("() => document.getElementById('grid-app').dataset.state === 'answering'")
    page.keyboard.press("Enter")
    expect(page.locator("#toast")).to_contain_text("Nothing is selected")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    # At once, not when the toast would have timed out.
    assert page.locator("#toast").is_hidden()
    # Their answer was the last one the only open task wanted.
    expect(page.locator("#empty-state")).to_contain_text("Every task of v2 has all the answers it wants")


def test_the_sampling_form_refuses_a_class_given_twice_and_names_the_defaults_it_used(logged_in_page, testset):
    from playwright.sync_api import expect

    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto("/testsets/v2/revisions/")
    page.get_by_test_id("strategy-threshold").check()
    page.locator("#sample-thresholds").fill(f"{TENCH}=0.5\n{TENCH}=0.9")
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("sample-error")).to_contain_text(f"{TENCH} is given twice")
    page.locator("#sample-thresholds").fill("")
    page.locator("#sample-per-class").fill("")
    page.locator("#sample-threshold").fill("")
    page.get_by_test_id("preview").click()
    note = page.locator("[data-preview-note]")
    expect(note).to_contain_text("3 (the test set's default) per class")
    expect(note).to_contain_text("frequency at least 0.7 (the default)")


def test_creating_tasks_says_why_none_were_made_and_moves_the_figures(logged_in_page, testset):
    from playwright.sync_api import expect

    tasks = FrequencyTask.objects.filter(testset=testset).count()
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto("/testsets/v2/revisions/")
    figures = page.get_by_test_id("tasks-figures")
    expect(figures).to_contain_text(f"{tasks} tasks,")
    page.locator("#tasks-per-task").fill("4")
    page.locator("#tasks-positive").fill("1")
    page.locator("#tasks-negative").fill("1")
    page.locator("#tasks-min-reference").fill("0")
    page.locator("#tasks-annotators").fill("2")
    page.get_by_test_id("create-tasks").click()
    result = page.get_by_test_id("tasks-result")
    expect(result).to_contain_text("No task created: no candidate needs a task")
    expect(figures).to_contain_text(f"{tasks} tasks,")
    page.locator("#tasks-annotators").fill("3")
    page.get_by_test_id("create-tasks").click()
    expect(result).to_contain_text("tasks created")
    after = FrequencyTask.objects.filter(testset=testset).count()
    assert after > tasks
    expect(figures).to_contain_text(f"{after} tasks,")
