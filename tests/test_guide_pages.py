"""The labeling guide in Chromium: writing a page with an uploaded sketch, the side panel on the review page."""

import io

import pytest
from PIL import Image as PILImage
from PIL import ImageDraw

import taxonomy
from accounts import roles
from annotate.models import ReviewItem
from labelguide import services
from labelguide.models import Attachment, GuidePage, Revision
from tests.conftest import BROWSER_DB, build_dataset, make_user
from tests.test_review_page import review_url, shown_image_id, wait_saved
from tests.wnids import GOLDFISH, GREAT_WHITE, HAMMERHEAD, TENCH, TIGER_SHARK


def sketch_png():
    image = PILImage.new("RGB", (320, 160), (235, 240, 248))
    draw = ImageDraw.Draw(image)
    draw.polygon([(20, 90), (160, 40), (290, 80), (300, 60), (300, 120), (290, 100), (160, 125)], fill=(90, 100, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def collect_errors(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def image_loaded(page, selector):
    page.wait_for_function(
        "selector => { const img = document.querySelector(selector); return img?.complete && img.naturalWidth > 0 }",
        arg=selector,
    )


@pytest.mark.browser
@BROWSER_DB
def test_editor_writes_a_comparison_page_with_an_uploaded_sketch(logged_in_page):
    services.generate_class_pages()  # a transactional test may have emptied the tables before
    editor = make_user("gina", roles.GUIDE_EDITOR)
    page = logged_in_page(editor)
    errors = collect_errors(page)

    page.goto("/guide/")
    page.get_by_test_id("new-page").click()
    page.wait_for_url("**/guide/new/")
    page.fill("#page-title", "Great white shark vs tiger shark")
    page.fill("#class-input", f"{GREAT_WHITE}, {TIGER_SHARK}")
    page.press("#class-input", "Enter")
    chips = page.get_by_test_id("class-chips").locator(".chip")
    chips.nth(1).wait_for()
    assert chips.evaluate_all("nodes => nodes.map(n => n.dataset.wnid)") == [GREAT_WHITE, TIGER_SHARK]
    assert "tiger shark" in chips.nth(1).inner_text()
    page.locator("#class-input").press_sequentially("hammerhead")
    page.locator('#class-options [role=option][data-wnid="n01494475"]').wait_for()
    page.press("#class-input", "Enter")
    chips.nth(2).wait_for()
    assert chips.nth(2).get_attribute("data-wnid") == "n01494475"
    assert page.input_value("#class-input") == ""
    page.press("#class-input", "Backspace")
    chips.nth(2).wait_for(state="detached")
    page.fill(
        "#page-body",
        "Potentially confused with tiger shark and hammerhead.\n\n"
        "- Points to compare\n  - Stripes: tiger sharks have vertical stripes\n  - Thickness of the main body\n\n"
        "<script>window.pwned = 1</script>",
    )
    preview = page.get_by_test_id("preview")
    preview.locator("li li", has_text="vertical stripes").wait_for()
    assert "<script>window.pwned = 1</script>" in preview.inner_text()  # shown as text, never run
    page.get_by_test_id("save-page").click()
    page.wait_for_url("**/guide/great-white-shark-vs-tiger-shark/")
    assert page.get_by_test_id("guide-title").inner_text() == "Great white shark vs tiger shark"
    assert "vertical stripes" in page.get_by_test_id("guide-body").inner_text()

    page.get_by_test_id("edit-page").click()
    page.wait_for_url("**/guide/great-white-shark-vs-tiger-shark/edit/")
    body = page.locator("#page-body")
    body.click()
    body.press("Control+End")
    page.set_input_files(
        "#upload-input", files=[{"name": "tiger shark sketch.png", "mimeType": "image/png", "buffer": sketch_png()}]
    )
    page.wait_for_function("document.getElementById('page-body').value.includes('/guide/attachments/')")
    page.keyboard.type("Tiger shark side sketch")  # the caption was selected after the upload
    attachment = Attachment.objects.get()
    assert body.input_value().endswith(f"\n\n![Tiger shark side sketch](/guide/attachments/{attachment.pk}/)\n")
    image_loaded(page, "#preview img")
    page.keyboard.press("Control+s")
    page.wait_for_url("**/guide/great-white-shark-vs-tiger-shark/")

    sketch = page.get_by_test_id("guide-body").locator("img")
    assert sketch.get_attribute("alt") == "Tiger shark side sketch"
    image_loaded(page, '[data-testid="guide-body"] img')
    saved = GuidePage.objects.get(slug="great-white-shark-vs-tiger-shark")
    assert f"/guide/attachments/{attachment.pk}/" in saved.body and saved.updated_by == editor
    assert Revision.objects.filter(page=saved).count() == 2
    assert page.evaluate("window.pwned") is None

    page.get_by_test_id("history-link").click()
    page.get_by_test_id("revisions").locator(".guide-revision").nth(1).wait_for()
    assert "![Tiger shark side sketch]" in page.get_by_test_id("revisions").inner_text()
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_guide_panel_opens_from_the_review_page(logged_in_page, reviewer, image_folder, tmp_path):
    services.generate_class_pages()
    build_dataset(image_folder, tmp_path)
    services.update_page(
        page=GuidePage.objects.get(slug=TENCH),
        author=make_user("gina", roles.GUIDE_EDITOR),
        body=f"Olive-green, with barbels at the mouth. Often held by anglers; not {GOLDFISH}.",
    )
    page = logged_in_page(reviewer)
    errors = collect_errors(page)
    page.goto(review_url())
    image_id = shown_image_id(page)
    address = page.url
    panel = page.get_by_test_id("guide-panel")

    # A click on a candidate's wnid opens its guide page beside the review, without leaving it.
    original = ReviewItem.objects.get(image_id=image_id, is_original=True).wnid
    link = page.locator(f'.candidate[data-wnid="{original}"] a.candidate__wnid')
    assert link.get_attribute("href") == f"/guide/wnid/{original}/"
    link.click()
    panel.wait_for(state="visible")
    page.wait_for_function("document.getElementById('guide-panel').dataset.state === 'ready'")
    assert page.url == address
    assert panel.locator("#guide-panel-title").inner_text() == taxonomy.label(original)
    assert page.evaluate("document.activeElement.id") == "guide-panel-title"
    assert page.get_by_test_id("guide-panel-full").get_attribute("href") == f"/guide/{original}/"
    assert "barbels" in panel.inner_text()

    # Links inside the panel open there, with a way back.
    panel.locator(f'.guide-prose a[data-guide-wnid="{GOLDFISH}"]').first.click()
    page.wait_for_function("document.getElementById('guide-panel-title').textContent === 'goldfish'")
    panel.locator(".guide-panel__back").click()
    page.wait_for_function("document.getElementById('guide-panel-title').textContent === 'tench'")

    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('candidate__wnid')")

    # g opens the guide of the highlighted candidate, g again closes it; review keys keep working.
    page.keyboard.press("j")
    focused = page.locator(".candidate.is-focused").get_attribute("data-wnid")
    page.keyboard.press("g")
    panel.wait_for(state="visible")
    page.wait_for_function(
        "label => document.getElementById('guide-panel-title').textContent === label", arg=taxonomy.label(focused)
    )
    assert panel.get_attribute("data-wnid") == focused
    page.keyboard.press("g")
    panel.wait_for(state="hidden")
    page.keyboard.press("g")
    panel.wait_for(state="visible")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    page.keyboard.press("1")
    wait_saved(page)
    assert page.locator(f'.candidate[data-wnid="{focused}"] input[value="correct"]').is_checked()

    page.keyboard.press("?")
    assert "Labeling guide of the candidate" in page.locator("#shortcut-sheet").inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#shortcut-sheet").is_hidden()
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_trainee_reads_the_guide_but_cannot_edit(logged_in_page, trainee):
    services.generate_class_pages()
    compare = services.create_page(
        author=make_user("gina", roles.GUIDE_EDITOR),
        title="Great white shark vs tiger shark",
        body="- Stripes: tiger sharks have vertical stripes",
        wnids=[GREAT_WHITE, TIGER_SHARK],
    )
    page = logged_in_page(trainee)
    errors = collect_errors(page)
    page.goto("/guide/")
    assert page.get_by_test_id("new-page").count() == 0
    page.get_by_test_id("guide-search").fill("vertical stri")
    results = page.get_by_test_id("guide-results")
    results.locator(f'[data-slug="{compare.slug}"]').wait_for()  # as you type, no submit
    assert "q=vertical" in page.url  # the address keeps the search
    results.locator(f'[data-slug="{compare.slug}"] a').click()
    page.wait_for_url(f"**/guide/{compare.slug}/")
    assert "vertical stripes" in page.get_by_test_id("guide-body").inner_text()
    assert page.get_by_test_id("edit-page").count() == 0

    page.get_by_test_id("guide-classes").locator(f'a[data-guide-wnid="{TIGER_SHARK}"]').click()
    panel = page.get_by_test_id("guide-panel")
    panel.wait_for(state="visible")
    page.wait_for_function("document.getElementById('guide-panel-title').textContent === 'tiger shark'")
    assert panel.locator("a", has_text="Edit").is_hidden()
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")

    assert page.goto(f"/guide/{compare.slug}/edit/").status == 403
    response = page.goto(f"/guide/wnid/{HAMMERHEAD}/")
    assert response.ok and page.url.endswith(f"/guide/{HAMMERHEAD}/")
    assert page.get_by_test_id("guide-title").inner_text() == "hammerhead"
    assert errors == []
