"""The review page in Chromium, driven by the keyboard, and the queue's leases through the API."""

import json

import pytest
from django.test import Client

from accounts import roles
from annotate.image_import import register_manifest
from annotate.models import Image, ProblematicFlag, ReviewItem
from evaluation import services as evaluation_services
from evaluation.models import PhaseImage
from interchange import formats
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user


def review_url(name=DATASET, query=""):
    return f"/datasets/{name}/review/{query}"


def shown_image_id(page, previous=None):
    """The id of the painted image, waiting for it to differ from `previous`."""
    page.wait_for_function(
        "prev => document.body.dataset.imageId && document.body.dataset.imageId !== prev",
        arg=str(previous) if previous is not None else "",
    )
    return int(page.evaluate("document.body.dataset.imageId"))


def wait_saved(page):
    page.wait_for_function("document.body.dataset.pendingSaves === '0'")


def candidate_wnids(page):
    return page.locator("#candidates .candidate").evaluate_all("nodes => nodes.map(n => n.dataset.wnid)")


def checked_verdicts(page):
    return dict(
        page.locator("#candidates .candidate").evaluate_all(
            "nodes => nodes.map(n => [n.dataset.wnid, n.querySelector('input:checked')?.value])"
        )
    )


# --- the whole loop by keyboard ---------------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_review_three_images_by_keyboard_and_export(logged_in_page, reviewer, image_folder, tmp_path):
    dataset = build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(review_url())

    # Per image in queue order: key presses, then the verdicts expected per candidate index.
    plans = [
        (["1", "2", "3"], ["correct", "wrong", "unclear"]),
        (["j", "w", "k", "c"], ["correct", "wrong"]),
        (["3", "1"], ["unclear", "correct"]),
    ]
    expected_annots, expected_flag, seen = {}, None, []
    previous = None
    for number, (keys, verdicts) in enumerate(plans):
        image_id = shown_image_id(page, previous)
        image = Image.objects.get(pk=image_id)
        seen.append(image_id)
        wnids = candidate_wnids(page)
        assert len(wnids) == len(verdicts), f"{image.file_name} has candidates {wnids}"
        original = page.locator(f'.candidate[data-wnid="{image.original_wnid}"]')
        assert original.locator(".badge--original").is_visible()
        assert page.locator("#file-name").is_hidden()
        for key in keys:
            page.keyboard.press(key)
        if number == 2:
            page.keyboard.press("p")
            assert page.locator("#problematic-panel").is_visible()
            page.keyboard.press("2")  # Drawing, painting, sketch, cartoon or render
            assert page.locator("#problematic-panel").is_hidden()
            expected_flag = image.file_name
        wait_saved(page)
        assert checked_verdicts(page) == dict(zip(wnids, verdicts, strict=True))
        states = page.locator("#candidates .save-state").evaluate_all("nodes => nodes.map(n => n.dataset.state)")
        assert set(states) == {"saved"}
        annots = {}
        for wnid, verdict in zip(wnids, verdicts, strict=True):
            annots.setdefault(verdict, []).append(wnid)
        expected_annots[image.file_name] = {verdict: sorted(w) for verdict, w in annots.items()}
        page.keyboard.press("n")
        previous = image_id

    assert len(set(seen)) == 3
    empty = page.locator("#empty-state")
    empty.wait_for(state="visible")
    assert "All images in this queue are reviewed" in empty.inner_text()

    # After a reload the queue is still empty and b walks back through every image with its state.
    page.reload()
    empty.wait_for(state="visible")
    previous = None
    for image_id in reversed(seen):
        page.keyboard.press("b")
        assert shown_image_id(page, previous) == image_id
        image = Image.objects.get(pk=image_id)
        expected = {wnid: verdict for verdict, wnids in expected_annots[image.file_name].items() for wnid in wnids}
        assert checked_verdicts(page) == expected
        flagged = image.file_name == expected_flag
        assert page.locator("#problematic-check").is_checked() == flagged
        if flagged:
            assert "Drawing" in page.locator("#problematic-summary").inner_text()
        previous = image_id

    # A fresh page opened on an image by its address shows the same.
    flagged_id = Image.objects.get(dataset=dataset, file_name=expected_flag).pk
    page.goto("about:blank")
    page.goto(review_url() + f"#image={flagged_id}")
    assert shown_image_id(page) == flagged_id
    assert page.locator("#problematic-check").is_checked()

    assert errors == []

    document = formats.export_tfds(dataset)
    assert document["initial_annots"] == expected_annots
    assert list(document["problematic_images"]) == [expected_flag]
    assert document["problematic_images"][expected_flag]["reason"] == "drawing"
    assert document["problematic_images"][expected_flag]["reviewer"] == reviewer.username

    admin = Client()
    admin.force_login(make_user("ada", roles.ADMIN))
    response = admin.get(f"/api/datasets/{dataset.name}/export/?format=tfds")
    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content)) == document


# --- single features -----------------------------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_shortcut_sheet_and_file_name(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(review_url())
    image = Image.objects.get(pk=shown_image_id(page))

    sheet = page.locator("#shortcut-sheet")
    assert sheet.is_hidden()
    page.keyboard.press("?")
    assert sheet.is_visible()
    assert "Toggle image name" in sheet.inner_text()
    page.keyboard.press("1")  # ignored while the sheet is open
    assert page.locator("#candidates input[value=correct]:checked").count() == 0
    page.keyboard.press("?")
    assert sheet.is_hidden()
    page.keyboard.press("?")
    page.keyboard.press("Escape")
    assert sheet.is_hidden()

    name = page.locator("#file-name")
    assert name.is_hidden()
    page.keyboard.press("t")
    assert name.is_visible()
    assert name.inner_text() == image.file_name
    page.keyboard.press("t")
    assert name.is_hidden()
    page.get_by_role("button", name="toggle image name").click()
    assert name.is_visible()


@pytest.mark.browser
@BROWSER_DB
def test_undo_restores_verdicts_and_flags(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(review_url())
    image_id = shown_image_id(page)
    first, second = candidate_wnids(page)[:2]
    item = ReviewItem.objects.get(image_id=image_id, wnid=first)

    page.keyboard.press("1")
    wait_saved(page)
    item.refresh_from_db()
    assert item.verdict == "correct"
    assert page.locator(".candidate.is-focused").get_attribute("data-wnid") == second

    page.keyboard.press("z")
    wait_saved(page)
    assert checked_verdicts(page)[first] == "unreviewed"
    item.refresh_from_db()
    assert item.verdict == "unreviewed"
    assert page.locator(".candidate.is-focused").get_attribute("data-wnid") == first

    # By mouse, then Ctrl+Z.
    page.locator(f'.candidate[data-wnid="{second}"] label.v-wrong').click()
    wait_saved(page)
    assert ReviewItem.objects.get(image_id=image_id, wnid=second).verdict == "wrong"
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert ReviewItem.objects.get(image_id=image_id, wnid=second).verdict == "unreviewed"

    # Flag with Other and a note, then undo: the flag is gone again.
    page.keyboard.press("p")
    page.keyboard.press("5")
    note = page.locator("#problematic-note")
    assert note.evaluate("el => el === document.activeElement")
    page.keyboard.type("watermark over the whole image")
    page.keyboard.press("Enter")
    wait_saved(page)
    flag = ProblematicFlag.objects.get(image_id=image_id)
    assert (flag.reason, flag.note) == ("other", "watermark over the whole image")
    assert page.locator("#problematic-check").is_checked()
    page.keyboard.press("z")
    wait_saved(page)
    assert not ProblematicFlag.objects.filter(image_id=image_id).exists()
    assert not page.locator("#problematic-check").is_checked()

    # Escape cancels the panel; Shift+P clears a flag.
    page.keyboard.press("p")
    page.keyboard.press("Escape")
    assert page.locator("#problematic-panel").is_hidden()
    page.keyboard.press("p")
    page.keyboard.press("4")
    wait_saved(page)
    assert ProblematicFlag.objects.get(image_id=image_id).reason == "inappropriate"
    page.keyboard.press("Shift+P")
    wait_saved(page)
    assert not ProblematicFlag.objects.filter(image_id=image_id).exists()

    # The same by mouse: the box opens the reasons, and unticking it clears the flag.
    check = page.locator("#problematic-check")
    check.click()
    assert page.locator("#problematic-panel").is_visible()
    assert not check.is_checked()
    page.get_by_label("Excessively edited").check()
    page.locator("#problematic-save").click()
    wait_saved(page)
    assert check.is_checked()
    assert ProblematicFlag.objects.get(image_id=image_id).reason == "excessively_edited"
    check.click()
    wait_saved(page)
    assert not check.is_checked()
    assert not ProblematicFlag.objects.filter(image_id=image_id).exists()


@pytest.mark.browser
@BROWSER_DB
def test_empty_state_when_the_queue_is_exhausted(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path, name="one", predictions={}, files={"n01440764": {"a.JPEG": (9, 9, 9)}})
    page = logged_in_page(reviewer)
    page.goto(review_url("one"))
    image_id = shown_image_id(page)
    assert candidate_wnids(page) == ["n01440764"]
    page.keyboard.press("1")
    page.keyboard.press("n")
    empty = page.locator("#empty-state")
    empty.wait_for(state="visible")
    assert "All images in this queue are reviewed" in empty.inner_text()
    assert page.locator("[data-testid=back-to-dataset]").get_attribute("href") == "/datasets/one/"
    assert ReviewItem.objects.get(image_id=image_id).verdict == "correct"
    assert page.locator("#review-body").is_hidden()
    page.keyboard.press("b")
    assert shown_image_id(page) == image_id


@pytest.mark.browser
@BROWSER_DB
def test_offline_changes_wait_and_are_saved_once(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(review_url())
    image_id = shown_image_id(page)
    first, second = candidate_wnids(page)[:2]

    page.context.set_offline(True)
    page.keyboard.press("1")
    page.keyboard.press("2")
    banner = page.locator("#status-banner")
    banner.wait_for(state="visible")
    page.wait_for_function("document.querySelector('#status-banner').innerText.includes('Offline')")
    assert "2 changes waiting, retrying" in banner.inner_text()
    assert checked_verdicts(page)[first] == "correct"
    assert ReviewItem.objects.get(image_id=image_id, wnid=first).verdict == "unreviewed"

    page.context.set_offline(False)
    wait_saved(page)
    assert ReviewItem.objects.get(image_id=image_id, wnid=first).verdict == "correct"
    assert ReviewItem.objects.get(image_id=image_id, wnid=second).verdict == "wrong"
    assert ReviewItem.objects.get(image_id=image_id, wnid=first).changes.count() == 1
    page.wait_for_function("document.querySelector('#status-banner').innerText.includes('all changes saved')")


@pytest.mark.browser
@BROWSER_DB
def test_next_image_is_prefetched_and_painted(logged_in_page, reviewer, image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(review_url())
    first = shown_image_id(page)
    page.wait_for_function("window.__relabelPaintedAt > 0")
    painted = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('relabel:painted', e => resolve(e.detail.imageId), {once: true});
            document.dispatchEvent(new KeyboardEvent('keydown', {key: 'n', bubbles: true}));
        })"""
    )
    assert painted != first
    assert shown_image_id(page, first) == painted
    image = page.locator("#review-image")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert image.get_attribute("src") == f"/images/{painted}/display"
    # Back and forward walk the images of this session.
    page.keyboard.press("ArrowLeft")
    assert shown_image_id(page, painted) == first
    page.keyboard.press("ArrowRight")
    assert shown_image_id(page, first) == painted


@pytest.mark.browser
@BROWSER_DB
def test_class_filter_chip_and_queue(logged_in_page, reviewer, image_folder, tmp_path):
    dataset = build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(review_url(query="?wnid=n02085620"))
    chip = page.locator("#class-filter")
    assert "Chihuahua" in chip.inner_text()
    image = Image.objects.get(pk=shown_image_id(page))
    assert image.file_name == "c.JPEG"
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.keyboard.press("n")
    page.locator("#empty-state").wait_for(state="visible")
    assert "All images in this queue are reviewed" in page.locator("#empty-state").inner_text()
    assert Image.objects.filter(dataset=dataset, pending_items__gt=0).count() == 2

    # A class without a candidate in the dataset says so rather than "all reviewed".
    page.goto(review_url(query="?wnid=n02123159"))  # tiger cat
    page.locator("#empty-state").wait_for(state="visible")
    assert "No candidate of tiger cat in" in page.locator("#empty-state").inner_text()
    assert page.get_by_test_id("class-absent").is_visible()


@pytest.mark.browser
@BROWSER_DB
def test_image_without_a_file_can_still_be_reviewed(logged_in_page, reviewer, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("filename,wnid\nremote.JPEG,n01440764\n")
    register_manifest(dataset_name="remote", manifest_file=manifest)
    page = logged_in_page(reviewer)
    page.goto(review_url("remote"))
    image_id = shown_image_id(page)
    assert "No image file yet" in page.locator("#image-missing").inner_text()
    assert page.locator("#open-original").is_hidden()
    page.keyboard.press("2")
    wait_saved(page)
    assert ReviewItem.objects.get(image_id=image_id).verdict == "wrong"


# --- leases: two reviewers never get the same image ------------------------------------------------------


@pytest.mark.django_db
def test_two_reviewers_are_not_given_the_same_image(image_folder, tmp_path):
    build_dataset(image_folder, tmp_path)
    rita, ruth = Client(), Client()
    rita.force_login(make_user("rita", roles.REVIEWER))
    ruth.force_login(make_user("ruth", roles.REVIEWER))
    url = f"/api/review/next/?dataset={DATASET}"

    first = rita.get(url).json()
    second = ruth.get(url).json()
    assert first["id"] != second["id"]
    # Rita prefetches while keeping the image on her screen: she gets the third image.
    third = rita.get(f"{url}&after={first['position']}&keep={first['id']}").json()
    assert third["id"] not in {first["id"], second["id"]}
    # Every image is held now, so Ruth's queue looks empty until a lease is released.
    assert ruth.get(f"{url}&after={second['position']}&keep={second['id']}").status_code == 204
    # Rita moves on without keeping anything: her two leases go back to the queue.
    assert rita.get(f"{url}&after={third['position']}").status_code in (200, 204)
    again = ruth.get(f"{url}&after={second['position']}&keep={second['id']}")
    assert again.status_code == 200
    assert again.json()["id"] != second["id"]


@pytest.mark.browser
@BROWSER_DB
def test_a_change_made_meanwhile_by_someone_else_is_shown_not_overwritten(
    logged_in_page, reviewer, image_folder, tmp_path
):
    from annotate import services

    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(review_url())
    image_id = shown_image_id(page)
    first = candidate_wnids(page)[0]
    item = ReviewItem.objects.get(image_id=image_id, wnid=first)
    olga = make_user("olga", roles.REVIEWER)
    services.set_verdict(item_id=item.pk, reviewer=olga, value="correct")

    page.keyboard.press("2")  # wrong, based on the unreviewed item the page shows
    node = page.locator(f'.candidate[data-wnid="{first}"]')
    node.locator('.save-state[data-state="conflict"]').wait_for()
    assert "now correct (by olga)" in page.locator("#status-banner").inner_text()
    item.refresh_from_db()
    assert (item.verdict, item.verdict_by.username) == ("correct", "olga")
    assert checked_verdicts(page)[first] == "correct"

    page.keyboard.press("k")
    page.keyboard.press("2")  # made again, now on top of olga's verdict
    wait_saved(page)
    item.refresh_from_db()
    assert (item.verdict, item.verdict_by) == ("wrong", reviewer)

    page.keyboard.press("h")  # the history shows both changes, olga's then the reviewer's
    lines = page.get_by_test_id("history").locator("li")
    lines.nth(1).wait_for()
    assert "olga set" in lines.nth(0).inner_text() and "Correct" in lines.nth(0).inner_text()
    assert f"{reviewer.username} set" in lines.nth(1).inner_text() and "Wrong" in lines.nth(1).inner_text()

    # The same for the problematic flag: olga flags the image first, the reviewer's flag is refused and shown.
    services.set_problematic(image_id=image_id, reviewer=olga, reason="drawing")
    page.keyboard.press("p")
    page.keyboard.press("4")  # inappropriate, based on the unflagged image the page shows
    page.locator('#flag-save-state[data-state="conflict"]').wait_for()
    assert "flagged drawing by olga" in page.locator("#status-banner").inner_text()
    assert ProblematicFlag.objects.get(image_id=image_id).reason == "drawing"


# --- images that close while the page is open ------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_an_image_closed_meanwhile_is_skipped_not_a_dead_end(logged_in_page, reviewer, image_folder, tmp_path):
    """An evaluation phase opened while the reviewer works: its image left the trail with a word, and the image on
    screen, once closed, moves the page on instead of failing every save (the probe's walk, issue 11)."""
    build_dataset(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(review_url())
    first = shown_image_id(page)
    page.keyboard.press("n")
    second = shown_image_id(page, first)
    admin = make_user("ada", roles.ADMIN)

    def close(image_id):
        phase = evaluation_services.create_phase(
            name=f"closes {image_id}", datasets={DATASET: 3}, participants=[reviewer.username], created_by=admin
        )
        PhaseImage.objects.filter(phase=phase).exclude(image_id=image_id).delete()
        evaluation_services.open_phase(phase)

    close(first)
    page.keyboard.press("b")
    toast = page.locator("#toast")
    toast.wait_for(state="visible")
    assert "no longer available to you" in toast.inner_text()
    assert int(page.evaluate("document.body.dataset.imageId")) == second  # still on the image it was showing
    # The image on screen closes too: a verdict on it moves the page on.
    close(second)
    page.keyboard.press("1")
    third = shown_image_id(page, second)
    assert third not in (first, second)
    # A link to a closed image opens the queue.
    page.goto("about:blank")
    page.goto(review_url() + f"#image={first}")
    assert shown_image_id(page) not in (first, second)
    assert errors == []
