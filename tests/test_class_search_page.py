"""Class search in Chromium (issue 13): the ranking a user sees, one typo tolerated, and one selection at a time in
both search boxes: the dataset page's class filter (class-search.js) and the class picker (class-picker.js)."""

import pytest

from tests.conftest import BROWSER_DB, DATASET, build_dataset
from tests.test_taxonomy import CATAMARAN, TABBY, TIGER_CAT

# The look of an option: shaded (background) and outlined (box-shadow).
LOOK = "node => { const style = getComputedStyle(node); return [style.backgroundColor, style.boxShadow]; }"
OUTLINED = "nodes => nodes.filter(n => getComputedStyle(n).boxShadow !== 'none').map(n => n.dataset.wnid)"


def shown_wnids(options):
    return options.evaluate_all("nodes => nodes.map(n => n.dataset.wnid)")


@pytest.mark.browser
@BROWSER_DB
def test_dataset_class_filter_ranks_tolerates_a_typo_and_shows_one_selection(
    logged_in_page, reviewer, image_folder, tmp_path
):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/datasets/{DATASET}/")
    search = page.locator("#class-search")
    options = page.locator("#class-results [role=option]")

    search.fill("cat")
    options.first.wait_for()
    wnids = shown_wnids(options)
    assert wnids[:2] == [TIGER_CAT, TABBY]  # whole words of a synonym first: tabby cat
    assert CATAMARAN not in wnids[:8]  # a prefix comes after every whole word

    # Nothing looks chosen until the arrows move; the mouse only shades, unlike the keyboard's outline.
    assert page.locator('#class-results [aria-selected="true"]').count() == 0
    options.nth(2).hover()
    hovered = options.nth(2).evaluate(LOOK)
    assert hovered[1] == "none" and options.nth(3).evaluate(LOOK) != hovered
    search.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    assert options.evaluate_all(OUTLINED) == [TIGER_CAT]  # one selection, the hovered option stays only shaded
    assert options.first.evaluate(LOOK) != options.nth(2).evaluate(LOOK)
    search.press("ArrowDown")
    search.press("ArrowUp")
    assert options.evaluate_all(OUTLINED) == [TIGER_CAT]
    search.press("Enter")  # ArrowDown, then Enter: the first result, which is the one outlined
    page.wait_for_url(f"**/review/?wnid={TIGER_CAT}")

    # One typo ("tabbby"), and Enter with no arrow key takes the first result.
    page.goto(f"/datasets/{DATASET}/")
    search.fill("tabbby")
    page.locator(f'#class-results [role=option][data-wnid="{TABBY}"]').wait_for()
    assert page.locator("#class-results .picker__none").count() == 0
    search.press("Enter")
    page.wait_for_url(f"**/review/?wnid={TABBY}")
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_class_picker_moves_from_nothing_and_enter_takes_what_is_outlined(logged_in_page, admin_user):
    page = logged_in_page(admin_user)
    page.goto("/training/tasks/new/")
    page.get_by_label("Confusion group (a list of classes)").check()
    picker = page.locator('[data-picker-for="wnids"]')
    search = picker.locator("input[type=search]")
    options = picker.locator(".class-picker__option")

    search.fill("cta")  # one typo: cat
    picker.locator(f'.class-picker__option[data-wnid="{TABBY}"]').wait_for()
    assert shown_wnids(options)[:2] == [TIGER_CAT, TABBY]
    assert picker.locator('.class-picker__option[aria-selected="true"]').count() == 0
    options.nth(1).hover()
    assert options.nth(1).evaluate(LOOK)[1] == "none"
    search.press("ArrowDown")
    search.press("ArrowDown")
    options.first.hover()
    assert options.evaluate_all(OUTLINED) == [TABBY]
    search.press("Enter")
    assert page.locator("#id_wnids").input_value() == TABBY

    search.fill("tiger cat")
    search.press("Enter")  # at once, no arrow key: the first result of what was typed, not of "cta"
    page.wait_for_function("value => document.getElementById('id_wnids').value === value", arg=f"{TABBY}, {TIGER_CAT}")
