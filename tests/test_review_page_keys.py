"""The review page in Chromium (issue 13): suggestions accepted and dismissed by key, class names in the history,
"You: N items" as each save leaves it, and each example photo once in the guide panel."""

import pytest

from accounts import roles
from annotate import services as annotate_services
from annotate.models import Image, ProblematicFlag, ReviewItem, Suggestion
from labelguide import services as guide_services
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user
from tests.test_review_page import candidate_wnids, review_url, shown_image_id, wait_saved
from tests.wnids import GOLDFISH, GREAT_WHITE, TENCH


def my_items(page):
    return page.get_by_test_id("my-items").inner_text()


@pytest.mark.browser
@BROWSER_DB
def test_suggestions_by_key_history_names_and_the_counter_of_each_save(
    logged_in_page, reviewer, trainee, image_folder, tmp_path
):
    build_dataset(image_folder, tmp_path)
    image = Image.objects.get(dataset__name=DATASET, file_name="a.JPEG")
    annotate_services.suggest_label(image_id=image.pk, wnid=GREAT_WHITE, user=trainee, note="a shark behind")
    annotate_services.suggest_problematic(image_id=image.pk, reason="drawing", user=trainee)
    page = logged_in_page(reviewer)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(review_url() + f"#image={image.pk}")
    assert shown_image_id(page) == image.pk

    # The keys are on the first suggestion's buttons and in the shortcut sheet.
    suggestions = page.get_by_test_id("suggestions").locator(".suggestion")
    assert suggestions.count() == 2
    assert suggestions.first.locator("button kbd").all_inner_texts() == ["a", "x"]
    assert suggestions.nth(1).locator("kbd").count() == 0
    page.keyboard.press("?")
    sheet = page.locator("#shortcut-sheet").inner_text()
    assert "Accept the first suggestion" in sheet and "Dismiss the first suggestion" in sheet
    page.keyboard.press("Escape")

    # "You: N items" follows each save at once (it came from a throttled reload, one save behind).
    page.wait_for_function("document.querySelector('[data-testid=my-items]')?.textContent === 'You: 0 items'")
    for count in (1, 2, 3):
        page.keyboard.press("1")
        wait_saved(page)
        assert my_items(page) == f"You: {count} item{'' if count == 1 else 's'}"

    # The history names the classes.
    page.keyboard.press("h")
    lines = page.get_by_test_id("history").locator("li")
    lines.nth(2).wait_for()
    assert candidate_wnids(page)[:2] == [TENCH, GOLDFISH]
    texts = lines.all_inner_texts()
    assert f"{reviewer.username} set tench ({TENCH}): Unreviewed → Correct" in texts[0]
    assert f"set goldfish ({GOLDFISH})" in texts[1]

    # a accepts the first suggestion (great white shark is correct, by this reviewer), x dismisses the next.
    page.keyboard.press("a")
    page.wait_for_function("document.querySelectorAll('#suggestions .suggestion').length === 1")
    assert suggestions.first.get_attribute("data-kind") == "problematic"
    assert suggestions.first.locator("button kbd").all_inner_texts() == ["a", "x"]
    accepted = Suggestion.objects.get(kind="label_correct")
    assert (accepted.resolution, accepted.resolved_by) == ("accepted", reviewer)
    assert ReviewItem.objects.get(image=image, wnid=GREAT_WHITE).verdict == "correct"
    page.wait_for_function("document.querySelector('[data-testid=my-items]').textContent === 'You: 4 items'")
    page.keyboard.press("x")
    page.get_by_test_id("suggestions").wait_for(state="hidden")
    assert Suggestion.objects.get(kind="problematic").resolution == "dismissed"
    assert not ProblematicFlag.objects.filter(image=image).exists()
    page.keyboard.press("a")
    page.locator("#toast", has_text="no suggestion to accept or dismiss").wait_for()
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_guide_panel_shows_each_example_photo_once(logged_in_page, reviewer, image_folder, tmp_path):
    guide_services.generate_class_pages()
    build_dataset(image_folder, tmp_path)
    build_dataset(image_folder, tmp_path, name="review-copy")  # the same files, so the same photos
    annotate_services.set_verdict(
        item_id=ReviewItem.objects.get(image__dataset__name="review-copy", image__file_name="b.JPEG", wnid=TENCH).pk,
        reviewer=make_user("olga", roles.REVIEWER),
        value="correct",
    )
    page = logged_in_page(reviewer)
    page.goto(review_url())
    image_id = shown_image_id(page)
    assert Image.objects.get(pk=image_id).original_wnid == TENCH
    page.locator(f'.candidate[data-wnid="{TENCH}"] a.candidate__wnid').click()
    page.wait_for_function("document.getElementById('guide-panel').dataset.state === 'ready'")
    examples = page.get_by_test_id("guide-panel").locator(".guide-example a")
    titles = examples.evaluate_all("links => links.map(link => link.title)")
    # b's copy first (its label confirmed), then a: each photo once though both datasets hold both files.
    assert titles == ["b.JPEG (review-copy)", "a.JPEG (review-set)"]
    sources = examples.evaluate_all("links => links.map(link => link.querySelector('img').src)")
    assert len(set(sources)) == 2
