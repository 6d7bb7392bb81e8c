"""Evaluation phases in Chromium: an admin creates and opens a phase, a participant labels it blind with a
break in the middle, the admin closes it, the human predictions reach the reviewers' queue, and once reviewed
the results page scores them."""

import os
from pathlib import Path

import pytest

from accounts import roles
from annotate import services as annotate_services
from annotate.models import ClassifierModel, Image, PredictorKind, ReviewItem
from evaluation.models import ParticipantImage, Phase, PhaseState
from tests.conftest import BROWSER_DB, make_user
from tests.test_phases import build_datasets
from tests.test_review_page import candidate_wnids, checked_verdicts, shown_image_id, wait_saved
from tests.test_training_pages import choose_by_search
from tests.wnids import GOLDFISH

pytestmark = pytest.mark.browser

# RELABEL_SCREENSHOTS=/tmp saves the screenshots of the evaluation pages there.
SCREENSHOTS = os.environ.get("RELABEL_SCREENSHOTS")


def screenshot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"eval-{name}.png"), full_page=True)


def wait_for_position(page, position):
    page.wait_for_function(
        "pos => document.body.dataset.position === String(pos) "
        "&& document.getElementById('evaluation-app').dataset.state === 'labeling'",
        arg=position,
    )


def answer_current(page, position):
    wait_for_position(page, position)
    choose_by_search(page, "goldfish", GOLDFISH)
    page.keyboard.press("Enter")  # Submit has the focus: the next image follows, with no feedback


@BROWSER_DB
def test_a_phase_from_creation_to_the_review_queue(logged_in_page, tmp_path):
    admin = make_user("ada", roles.ADMIN)
    pat = make_user("pat", roles.TRAINEE)
    reviewer = make_user("rita", roles.REVIEWER)
    build_datasets(tmp_path)
    # Every original label reviewed: the reviewers' queue is empty before the phase.
    for item in ReviewItem.objects.all():
        annotate_services.set_verdict(item_id=item.pk, reviewer=reviewer, value="correct")
    assert not Image.objects.filter(pending_items__gt=0).exists()

    # The admin creates the phase on the list page and opens it.
    page = logged_in_page(admin)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/evaluation/")
    page.fill("#id_name", "phase 1")
    page.fill("[data-testid=count-inet]", "2")
    page.fill("[data-testid=count-v2]", "1")
    page.fill("#id_seed", "11")
    page.check("input[name=participants][value=pat]")
    page.click("[data-testid=create-phase]")
    page.wait_for_url("**/evaluation/phases/*/")
    phase = Phase.objects.get(name="phase 1")
    assert phase.image_count == 3 and phase.state == PhaseState.DRAFT
    assert page.locator("[data-testid=sample-table] tbody tr").count() == 2
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=open-phase]")
    page.locator("[data-testid=close-phase]").wait_for()
    assert page.locator("[data-testid=phase-state]").inner_text() == "Open"

    # The participant starts, answers one image, and stops.
    work = logged_in_page(pat)
    work.on("pageerror", lambda error: errors.append(str(error)))
    work.goto("/evaluation/")
    assert work.locator("[data-testid=my-progress]").inner_text() == "Completed 0 of 3."
    work.click("[data-testid=label-link]")
    wait_for_position(work, 0)
    assert work.locator("#progress-text").inner_text() == "0 of 3"
    html = work.content()
    assert ".JPEG" not in html and "n01440764" not in html and "n02690373" not in html
    src = work.locator("#eval-image").get_attribute("src")
    assert f"/evaluation/phases/{phase.pk}/images/" in src
    screenshot(work, "label")
    answer_current(work, 0)
    wait_for_position(work, 1)
    assert work.locator("#progress-text").inner_text() == "1 of 3"
    assert work.locator("[data-testid=feedback]").count() == 0
    work.close()

    # ...comes back later, continues where they left off and finishes.
    work = logged_in_page(pat)
    work.goto("/evaluation/")
    assert work.locator("[data-testid=my-progress]").inner_text() == "Completed 1 of 3."
    assert work.locator("[data-testid=label-link]").inner_text() == "Continue"
    work.click("[data-testid=label-link]")
    answer_current(work, 1)
    answer_current(work, 2)
    work.locator("[data-testid=done-state]").wait_for()
    assert work.locator("#progress-text").inner_text() == "3 of 3"
    rows = ParticipantImage.objects.filter(participant__user=pat)
    assert all(row.wnid == GOLDFISH and row.started_at <= row.answered_at for row in rows)

    # The admin sees the progress, and closes the phase.
    # (A new login: logged_in_page shares one test client, whose next login ends the previous session.)
    page = logged_in_page(admin)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/evaluation/phases/{phase.pk}/")
    assert page.locator("[data-testid=participant-progress]").inner_text() == "3 of 3"
    screenshot(page, "phase")
    page.click("[data-testid=close-phase]")
    page.locator("[data-testid=message]").wait_for()
    assert "3 new review items" in page.locator("[data-testid=message]").inner_text()
    page.goto("/evaluation/")
    screenshot(page, "phases")
    assert ClassifierModel.objects.get(name="human pat (phase 1)").kind == PredictorKind.HUMAN
    assert not errors

    # The reviewer's queue holds the two inet images again, each with the participant's answer as a candidate:
    # they mark it wrong (a tench or an airliner is no goldfish) and leave the v2 one for later.
    review = logged_in_page(reviewer)
    review.on("pageerror", lambda error: errors.append(str(error)))
    review.goto("/datasets/inet/review/")
    previous = None
    for _ in range(2):
        previous = shown_image_id(review, previous)
        assert GOLDFISH in candidate_wnids(review) and checked_verdicts(review)[GOLDFISH] == "unreviewed"
        review.locator(f'.candidate[data-wnid="{GOLDFISH}"] label.v-wrong').click()
        wait_saved(review)
        review.keyboard.press("n")
    assert ReviewItem.objects.filter(wnid=GOLDFISH, verdict="wrong").count() == 2

    # The results page shows the participant's scores: wrong on inet, only bounds on v2 (not reviewed yet).
    page = logged_in_page(admin)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/evaluation/results/?dataset=inet&dataset=v2")
    page.wait_for_function("document.getElementById('results-app').dataset.state === 'ready'")
    row = page.locator('[data-testid=leaderboard] tr[data-predictor="human pat (phase 1)"]')
    assert row.locator("td").all_inner_texts()[3:] == [
        "0.0",
        "0.0–84.2",
        "2",
        "0.0–100.0",
        "0.0–100.0",
        "1",
        "−100.0 to 0.0",
    ]
    screenshot(page, "results")
    assert not errors
