"""Training in Chromium: the task list, a part labeled with the hierarchy and with search, the feedback,
suggestions reaching the reviewers' queue, and the admins' task form."""

import os
from pathlib import Path

import pytest
from django.test import Client

import taxonomy
from accounts import roles
from annotate.models import Image, ReviewItem, Suggestion
from tests.conftest import BROWSER_DB, make_user
from tests.test_training import DATASET, build_training_dataset, review, slice_task
from tests.wnids import CHIHUAHUA, DOG, GOLDFISH, JAPANESE_SPANIEL, TENCH, WALKER_HOUND
from training import hierarchy
from training.models import TrainingAnswer, TrainingTask

pytestmark = pytest.mark.browser

# RELABEL_SCREENSHOTS=/tmp saves the screenshots of the training pages there.
SCREENSHOTS = os.environ.get("RELABEL_SCREENSHOTS")


def screenshot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"training-{name}.png"))


def tree_path(wnid):
    """The wnids the picker's tree shows from the top down to a class (single-child chains folded)."""
    path, node = [], None
    while True:
        children = hierarchy.children(node)["children"]
        step = next(child["wnid"] for child in children if wnid in taxonomy.descendant_classes(child["wnid"]))
        path.append(step)
        if step == wnid:
            return path
        node = step


def focused(page):
    return page.evaluate(
        "() => { const el = document.activeElement; if (!el || el.getAttribute('role') !== 'treeitem') return null; "
        "return [el.dataset.wnid, Number(el.getAttribute('aria-level'))]; }"
    )


def walk_down_to(page, wnid, level):
    for _ in range(300):
        if focused(page) == [wnid, level]:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{wnid} at level {level} not reached; focus on {focused(page)}")


def choose_in_tree(page, wnid):
    """Choose a class in the hierarchy by keyboard only: h, Home, then ↓ and → level by level, Enter."""
    page.keyboard.press("h")
    page.keyboard.press("Home")
    path = tree_path(wnid)
    for level, step in enumerate(path, start=1):
        walk_down_to(page, step, level)
        if step != wnid:
            if page.evaluate("document.activeElement.getAttribute('aria-expanded')") == "false":
                page.keyboard.press("ArrowRight")  # open the branch (its children load)
                page.wait_for_function(
                    "() => document.activeElement.getAttribute('aria-expanded') === 'true' && "
                    "document.activeElement.querySelector('[role=group] [role=treeitem]')"
                )
            page.keyboard.press("ArrowRight")  # into its first child
    page.keyboard.press("Enter")
    assert chosen(page) == wnid


def choose_by_search(page, query, wnid):
    """Choose a class by keyword search: /, type, ↓ to the class, Enter."""
    page.keyboard.press("/")
    page.keyboard.type(query)
    option = page.locator(f'.class-picker__option[data-wnid="{wnid}"]')
    option.wait_for(state="visible")
    for _ in range(12):
        if option.get_attribute("aria-selected") == "true":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert chosen(page) == wnid


def chosen(page):
    return page.locator("#chosen").get_attribute("data-wnid")


def shown_image(page, previous=None):
    page.wait_for_function(
        "prev => document.body.dataset.imageId && document.body.dataset.imageId !== prev "
        "&& document.getElementById('training-app').dataset.state === 'labeling'",
        arg=str(previous) if previous is not None else "",
    )
    return int(page.evaluate("document.body.dataset.imageId"))


def submit_and_read_feedback(page):
    page.keyboard.press("Enter")  # the Submit button has the focus once a class is chosen
    feedback = page.locator("#feedback")
    feedback.wait_for(state="visible")
    return {
        "result": page.locator("[data-testid=feedback-result]").inner_text(),
        "yours": page.locator("#feedback-yours .feedback-label").get_attribute("data-wnid"),
        "correct": page.locator("#feedback-correct .feedback-label").evaluate_all("n => n.map(e => e.dataset.wnid)"),
    }


def reviewed_dataset(image_folder, reviewer):
    """The training dataset with every original label reviewed as correct, except t2: a goldfish, not a
    tench. The reviewers' queue is empty."""
    dataset = build_training_dataset(image_folder)
    for item in ReviewItem.objects.filter(dataset=dataset).select_related("image"):
        review(item.image, item.wnid, "wrong" if item.image.file_name == "t2.JPEG" else "correct", reviewer)
    review(Image.objects.get(file_name="t2.JPEG"), GOLDFISH, "correct", reviewer)
    assert not Image.objects.filter(dataset=dataset, pending_items__gt=0).exists()
    return dataset


@BROWSER_DB
def test_a_trainee_finishes_a_part_with_the_hierarchy_and_search(logged_in_page, trainee, reviewer, image_folder):
    reviewed_dataset(image_folder, reviewer)
    task = slice_task(shuffle=False)  # t1-t3, c1-c6, j1 | j2, j3
    page = logged_in_page(trainee)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/training/")
    card = page.locator(f'[data-testid=task-card][data-task="{task.pk}"]')
    assert "Completed 0 out of 12 images (0 out of 2 parts)." in card.inner_text()
    screenshot(page, "task-list-start")
    card.get_by_role("link", name="Start labeling").click()
    page.wait_for_url(f"**/training/tasks/{task.pk}/label/")
    assert (
        "Please select the most specific class for the image to the right" in page.locator("#instructions").inner_text()
    )

    names = dict(Image.objects.filter(pk__in=task.image_ids).values_list("pk", "file_name"))
    # (file, how, query, class chosen, result, correct labels shown)
    plan = [
        ("t1.JPEG", "tree", None, TENCH, "Correct", [TENCH]),
        ("t2.JPEG", "search", "goldfish", GOLDFISH, "Correct", [GOLDFISH]),  # reviewed: not the original tench
        ("t3.JPEG", "search", "gold", GOLDFISH, "Wrong", [TENCH]),
        ("c1.JPEG", "tree", None, CHIHUAHUA, "Correct", [CHIHUAHUA]),
        ("c2.JPEG", "search", "walker", WALKER_HOUND, "Wrong", [CHIHUAHUA]),
        ("c3.JPEG", "search", CHIHUAHUA, CHIHUAHUA, "Correct", [CHIHUAHUA]),
        ("c4.JPEG", "search", "chihua", CHIHUAHUA, "Correct", [CHIHUAHUA]),
        ("c5.JPEG", "tree", None, CHIHUAHUA, "Correct", [CHIHUAHUA]),
        ("c6.JPEG", "search", "tiny mexico", CHIHUAHUA, "Correct", [CHIHUAHUA]),
        ("j1.JPEG", "search", "japanese spaniel", JAPANESE_SPANIEL, "Correct", [JAPANESE_SPANIEL]),
    ]
    previous = None
    for number, (file_name, how, query, wnid, result, correct) in enumerate(plan, start=1):
        image_id = shown_image(page, previous)
        assert names[image_id] == file_name
        assert page.locator("[data-testid=part-chip]").inner_text() == f"Part 1 of 2 · image {number} of 10"
        assert page.locator("#submit-answer").is_disabled()
        if how == "tree":
            choose_in_tree(page, wnid)
            if number == 1:
                # h comes back to the chosen class; ← goes to the parent category and closes it, → opens it
                # again and enters it.
                page.keyboard.press("h")
                assert focused(page)[0] == wnid
                page.keyboard.press("ArrowLeft")
                parent = focused(page)
                page.keyboard.press("ArrowLeft")
                assert page.evaluate("document.activeElement.getAttribute('aria-expanded')") == "false"
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
                assert focused(page)[1] == parent[1] + 1
                choose_in_tree(page, wnid)
                screenshot(page, "labeling-hierarchy")
        else:
            choose_by_search(page, query, wnid)
        assert page.locator("#chosen-gloss").inner_text()
        feedback = submit_and_read_feedback(page)
        assert feedback == {"result": result, "yours": wnid, "correct": correct}, file_name
        link = page.locator(f'#feedback-correct a[data-guide-wnid="{correct[0]}"]')
        assert link.get_attribute("href") == f"/guide/wnid/{correct[0]}/"
        assert page.locator("[data-testid=suggest-label]").is_visible() == (result == "Wrong")

        if number == 1:
            # A label opens its page of the labeling guide in the side panel; Escape closes it.
            link.click()
            panel = page.locator("[data-testid=guide-panel]")
            panel.wait_for(state="visible")
            assert panel.get_attribute("data-wnid") == correct[0]
            page.keyboard.press("Escape")
            panel.wait_for(state="hidden")
            assert page.url.endswith(f"/training/tasks/{task.pk}/label/")
            page.locator("[data-testid=continue]").focus()
        if file_name == "t3.JPEG":
            page.locator("[data-testid=suggest-problematic]").click()
            page.keyboard.press("2")  # Drawing, painting, sketch, cartoon or render
            status = page.locator("[data-testid=suggest-status]")
            status.wait_for(state="visible")
            assert "the reviewers will look at this image" in status.inner_text()
        if file_name == "c2.JPEG":
            screenshot(page, "feedback-wrong")
            page.locator("[data-testid=suggest-label]").click()
            status = page.locator("[data-testid=suggest-status]")
            status.wait_for(state="visible")
            assert "“Walker hound” for this image" in status.inner_text()
            assert page.locator("[data-testid=suggest-label]").is_disabled()
        if number == 10:
            assert page.locator("[data-testid=part-done]").inner_text() == "Part 1 of 2 done — 8/10 correct"
            assert "Completed 10 out of 12 images (1 out of 2 parts)" in page.locator("#progress-text").inner_text()
            screenshot(page, "feedback-part-done")
        else:
            assert page.locator("[data-testid=part-done]").is_hidden()
        page.keyboard.press("Enter")  # Continue
        previous = image_id

    image_id = shown_image(page, previous)
    assert names[image_id] == "j2.JPEG"
    assert page.locator("[data-testid=part-chip]").inner_text() == "Part 2 of 2 · image 1 of 2"
    answers = TrainingAnswer.objects.filter(task=task, trainee=trainee).order_by("position")
    assert [(names[a.image_id], a.wnid, a.correct) for a in answers] == [
        (file_name, wnid, result == "Correct") for file_name, _, _, wnid, result, _ in plan
    ]
    assert errors == []

    page.goto("/training/")
    assert "Completed 10 out of 12 images (1 out of 2 parts)." in card.inner_text()
    assert card.get_by_role("link", name="Continue labeling").is_visible()
    assert "Accuracy so far 80%" in card.inner_text()
    screenshot(page, "task-list")
    card.get_by_role("link", name="Review results").click()
    page.wait_for_url(f"**/training/stats/?task={task.pk}")
    assert page.locator("[data-figure=accuracy]").inner_text() == "80%"
    assert page.locator('.confusion[data-true="n02085620"][data-answered="n02089867"]').is_visible()
    screenshot(page, "stats")

    # The suggestions reached the reviewers' queue: t3 flagged as problematic, c2 with Walker hound.
    t3, c2 = Image.objects.get(file_name="t3.JPEG"), Image.objects.get(file_name="c2.JPEG")
    assert set(Suggestion.objects.values_list("image_id", "kind", "wnid", "reason")) == {
        (t3.pk, "problematic", "", "drawing"),
        (c2.pk, "label_correct", WALKER_HOUND, ""),
    }
    api = Client()
    api.force_login(make_user("rex", roles.REVIEWER))
    first = api.get("/api/review/next/", {"dataset": DATASET}).json()
    assert first["id"] == t3.pk and first["suggestions"][0]["kind"] == "problematic"
    second = api.get("/api/review/next/", {"dataset": DATASET, "after": first["position"]}).json()
    assert second["id"] == c2.pk
    assert [(item["wnid"], item["verdict"]) for item in second["items"]] == [
        (CHIHUAHUA, "correct"),
        (WALKER_HOUND, "unreviewed"),
    ]
    assert second["suggestions"][0]["suggested_by"] == trainee.username
    api.get("/api/review/next/", {"dataset": DATASET, "after": second["position"]})  # releases rex's leases

    # On the review page the reviewer sees the suggestion above the candidates and accepts it.
    review_page = logged_in_page(reviewer)
    review_page.goto(f"/datasets/{DATASET}/review/#image={c2.pk}")
    review_page.wait_for_function(f"document.body.dataset.imageId === '{c2.pk}'")
    suggestion = review_page.locator(".suggestion[data-kind=label_correct]")
    assert "tom suggests “Walker hound, Walker foxhound” (n02089867) is correct" in suggestion.inner_text()
    candidate = review_page.locator(f'.candidate[data-wnid="{WALKER_HOUND}"]')
    assert "suggested by tom" in candidate.inner_text()
    screenshot(review_page, "review-suggestion")
    suggestion.get_by_role("button", name="Accept: correct").click()
    review_page.locator("[data-testid=suggestions]").wait_for(state="hidden")
    assert candidate.get_attribute("data-verdict") == "correct"
    walker = ReviewItem.objects.get(image=c2, wnid=WALKER_HOUND)
    assert (walker.verdict, walker.verdict_by) == ("correct", reviewer)
    c2.refresh_from_db()
    assert c2.pending_items == 0


@BROWSER_DB
def test_a_finished_task_says_so(logged_in_page, trainee, image_folder):
    build_training_dataset(image_folder)
    task = slice_task(name="two images", start=9, end=11)
    page = logged_in_page(trainee)
    page.goto(f"/training/tasks/{task.pk}/label/")
    previous = None
    for _ in range(2):
        previous = shown_image(page, previous)
        choose_by_search(page, "japanese spaniel", JAPANESE_SPANIEL)
        assert submit_and_read_feedback(page)["result"] == "Correct"
        page.locator("[data-testid=continue]").click()
    done = page.locator("[data-testid=done-state]")
    done.wait_for(state="visible")
    assert "You have answered all 2 images: 2 correct (100%)." in done.inner_text()
    page.goto("/training/")
    card = page.locator(f'[data-testid=task-card][data-task="{task.pk}"]')
    assert "Complete" in card.inner_text() and card.get_by_role("link", name="Continue labeling").count() == 0


@BROWSER_DB
def test_an_admin_creates_a_class_task_with_the_form(logged_in_page, admin_user, image_folder):
    build_training_dataset(image_folder)
    page = logged_in_page(admin_user)
    page.goto("/training/")
    assert page.locator("[data-testid=empty-tasks]").is_visible()
    page.locator("[data-testid=new-task]").click()
    page.wait_for_url("**/training/tasks/new/")
    page.locator("#id_name").fill("dog_training_tasks")
    page.locator("#id_description").fill("Dogs")
    page.get_by_label("Classes under a hierarchy node").check()
    assert page.locator("#id_offset_start").is_hidden()
    picker = page.locator('[data-picker-for="node_wnid"]')
    picker.locator("input[type=search]").fill("domestic dog")
    picker.locator(f'.class-picker__option[data-wnid="{DOG}"]').wait_for(state="visible")
    picker.locator("input[type=search]").press("Enter")
    assert page.locator("#id_node_wnid").input_value() == DOG
    screenshot(page, "task-form")
    page.locator("[data-testid=create-task]").click()
    page.wait_for_url("**/training/")
    assert "Created “dog_training_tasks”: 9 images in 1 parts." in page.locator(".alert--success").inner_text()
    card = page.locator("[data-testid=task-card]")
    assert "9 images" in card.inner_text() and "classes under dog" in card.inner_text()
    task = TrainingTask.objects.get()
    assert (task.source, task.node_wnid, task.image_count, task.created_by) == ("classes", DOG, 9, admin_user)

    # A confusion group from the class picker; an empty selection is refused with the reason.
    page.locator("[data-testid=new-task]").click()
    page.locator("#id_name").fill("fish")
    page.get_by_label("Confusion group (a list of classes)").check()
    picker = page.locator('[data-picker-for="wnids"]')
    for query, wnid in [("goldfish", GOLDFISH), ("great white", "n01484850")]:
        picker.locator("input[type=search]").fill(query)
        picker.locator(f'.class-picker__option[data-wnid="{wnid}"]').wait_for(state="visible")
        picker.locator("input[type=search]").press("Enter")
    assert page.locator("#id_wnids").input_value() == f"{GOLDFISH}, n01484850"
    assert page.locator('[data-chips-for="wnids"] .chip').count() == 2
    page.locator("[data-testid=create-task]").click()
    error = page.locator("[data-testid=form-error]")
    error.wait_for(state="visible")
    assert "has no image with a file for the classes n01443537, n01484850" in error.inner_text()
    assert TrainingTask.objects.count() == 1


@BROWSER_DB
def test_feedback_and_statistics_say_no_valid_label_alike(logged_in_page, trainee, reviewer, image_folder):
    """An image whose original label the reviewers marked wrong, with no label correct: the feedback says it has no
    valid label and scores nothing, and the statistics leave it out of accuracy the same way."""
    build_training_dataset(image_folder)
    review(Image.objects.get(file_name="t1.JPEG"), TENCH, "wrong", reviewer)
    task = slice_task(name="no valid label", start=0, end=2)
    page = logged_in_page(trainee)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/training/tasks/{task.pk}/label/")
    previous = None
    results = []
    for _ in range(2):
        previous = shown_image(page, previous)
        choose_by_search(page, "tench", TENCH)
        results.append(submit_and_read_feedback(page))
        if not results[-1]["correct"]:
            none = page.locator("#feedback-correct").inner_text()
            assert "No valid label" in none and "left out of scoring" in none
            assert page.locator("#feedback-result-box").get_attribute("data-result") == "unscored"
        page.locator("[data-testid=continue]").click()
    assert sorted((row["result"], row["correct"] != []) for row in results) == [
        ("Correct", True),
        ("Not scored: no valid label", False),
    ]
    page.locator("[data-testid=done-state]").wait_for(state="visible")
    assert "1 correct (100%)" in page.locator("#done-text").inner_text()

    page.goto(f"/training/stats/?task={task.pk}")
    figures = page.locator("[data-testid=stats-summary]")
    assert figures.locator("[data-figure=answered]").inner_text() == "2"
    assert figures.locator("[data-figure=no-valid-label]").inner_text() == "1"
    assert figures.locator("[data-figure=accuracy]").inner_text() == "100%"
    assert page.locator("[data-testid=confusions] .confusion").count() == 0
    assert errors == []
