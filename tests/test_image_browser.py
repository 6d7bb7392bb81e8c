"""The image browser: GET /api/datasets/<name>/images/ (filters, search, sorts, keyset pages, who sees what, query
counts) and the browser page with the review page walking its list, in Chromium."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import roles
from annotate import labelling, services
from annotate.image_import import import_image_folder
from annotate.models import ClassifierModel, Image, Prediction, PredictorKind, ReviewItem
from annotate.prediction_import import import_predictions
from consensus import services as consensus_services
from evaluation import services as evaluation_services
from evaluation.models import PhaseImage
from tests.conftest import BROWSER_DB, make_user
from tests.wnids import CHIHUAHUA, DOG, GOLDFISH, JAPANESE_SPANIEL, TENCH

DATASET = "browse-set"
# file name -> (original label, colour of its own: no two images share a file)
FILES = {
    "tench_1.JPEG": (TENCH, (200, 20, 20)),
    "tench_2.JPEG": (TENCH, (20, 200, 20)),
    "dog_1.JPEG": (CHIHUAHUA, (20, 20, 200)),
    "dog_2.JPEG": (CHIHUAHUA, (200, 200, 20)),
    "spaniel_1.JPEG": (JAPANESE_SPANIEL, (20, 200, 200)),
    "gold_1.JPEG": (GOLDFISH, (200, 20, 200)),
}
# Each model's top-1: m1 agrees with m2 on tench_1 and dog_1 only; dog_2 and gold_1 have one model's prediction.
TOP1 = {
    "m1": {"tench_1.JPEG": TENCH, "tench_2.JPEG": GOLDFISH, "dog_1.JPEG": JAPANESE_SPANIEL, "dog_2.JPEG": CHIHUAHUA},
    "m2": {"tench_1.JPEG": TENCH, "tench_2.JPEG": TENCH, "dog_1.JPEG": JAPANESE_SPANIEL, "gold_1.JPEG": GOLDFISH},
}
TOP1["m1"]["spaniel_1.JPEG"] = JAPANESE_SPANIEL
TOP1["m2"]["spaniel_1.JPEG"] = CHIHUAHUA
URL = f"/api/datasets/{DATASET}/images/"


def build_browse_set(image_folder, tmp_path, name=DATASET):
    files = {}
    for file_name, (wnid, colour) in FILES.items():
        files.setdefault(wnid, {})[file_name] = colour
    import_image_folder(dataset_name=name, directory=image_folder(files))
    for model, rows in TOP1.items():
        path = tmp_path / f"{name}-{model}.csv"
        path.write_text("filename,top1\n" + "".join(f"{file},{wnid}\n" for file, wnid in rows.items()))
        import_predictions(model_name=model, dataset_name=name, path=path)
    return {image.file_name: image for image in Image.objects.filter(dataset__name=name)}


@pytest.fixture
def images(db, image_folder, tmp_path):
    return build_browse_set(image_folder, tmp_path)


def api(user):
    client = Client()
    client.force_login(user)
    return client


def listed(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def names(page):
    return [image["file_name"] for image in page["results"]]


def in_position_order(images, *file_names):
    return sorted(file_names, key=lambda name: images[name].position)


def review_all(image, reviewer, value="correct", at=None):
    for item in ReviewItem.objects.filter(image=image):
        services.set_verdict(item_id=item.pk, reviewer=reviewer, value=value, at=at)


# --- the list ---------------------------------------------------------------------------------------------------


def test_every_image_in_dataset_order_with_what_the_grid_shows(images, reviewer):
    page = listed(api(reviewer))
    assert names(page) == in_position_order(images, *FILES)
    assert page["count"] == len(FILES)
    assert page["next"] is None and page["previous"] is None
    first = page["results"][0]
    image = images[first["file_name"]]
    assert first == {
        "id": image.pk,
        "position": image.position,
        "file_name": image.file_name,
        "original_wnid": image.original_wnid,
        "original_label": {
            TENCH: "tench",
            CHIHUAHUA: "Chihuahua",
            JAPANESE_SPANIEL: "Japanese spaniel",
            GOLDFISH: "goldfish",
        }[image.original_wnid],
        "display_url": f"/images/{image.pk}/display",
        "reviewed": False,
        "suggested": False,
        "problematic": None,
        "latest_verdict_at": None,
    }


def test_review_state_flags_and_suggestions_filter_the_list(images, reviewer, trainee):
    review_all(images["tench_1.JPEG"], reviewer)
    review_all(images["dog_1.JPEG"], reviewer)
    services.set_problematic(image_id=images["dog_1.JPEG"].pk, reviewer=reviewer, reason="drawing")
    services.suggest_label(image_id=images["tench_1.JPEG"].pk, wnid=GOLDFISH, user=trainee)
    client = api(reviewer)

    # The suggestion puts tench_1 back in the queue: not reviewed until a reviewer resolves it.
    assert names(listed(client, status="reviewed")) == ["dog_1.JPEG"]
    unreviewed = listed(client, status="unreviewed")
    assert sorted(names(unreviewed)) == sorted(set(FILES) - {"dog_1.JPEG"})
    assert unreviewed["count"] == len(FILES) - 1
    problematic = listed(client, status="problematic")
    assert names(problematic) == ["dog_1.JPEG"]
    assert problematic["results"][0]["problematic"] == "drawing"
    assert problematic["results"][0]["reviewed"] is True
    suggested = listed(client, status="suggested")
    assert names(suggested) == ["tench_1.JPEG"]
    assert suggested["results"][0]["suggested"] is True


def test_class_and_hierarchy_node_filter_by_the_original_label(images, reviewer):
    client = api(reviewer)
    assert names(listed(client, wnid=CHIHUAHUA)) == in_position_order(images, "dog_1.JPEG", "dog_2.JPEG")
    # "dog" is no class: every class under it.
    assert names(listed(client, wnid=DOG)) == in_position_order(images, "dog_1.JPEG", "dog_2.JPEG", "spaniel_1.JPEG")


def test_model_filters_and_models_that_disagree(images, reviewer):
    client = api(reviewer)
    assert sorted(names(listed(client, model="m1"))) == sorted(TOP1["m1"])
    assert sorted(names(listed(client, model="m1", model_top1="differs"))) == ["dog_1.JPEG", "tench_2.JPEG"]
    assert sorted(names(listed(client, model="m1", model_top1="matches"))) == [
        "dog_2.JPEG",
        "spaniel_1.JPEG",
        "tench_1.JPEG",
    ]
    assert sorted(names(listed(client, disagree="true"))) == ["spaniel_1.JPEG", "tench_2.JPEG"]
    # A human's answers are no classifier model's: they neither make models disagree nor serve as a model filter.
    human = ClassifierModel.objects.create(name="participant-tom", kind=PredictorKind.HUMAN)
    Prediction.objects.create(model=human, image=images["tench_1.JPEG"], top1_wnid=GOLDFISH, wnids=[GOLDFISH])
    assert sorted(names(listed(client, disagree="true"))) == ["spaniel_1.JPEG", "tench_2.JPEG"]
    response = client.get(URL, {"model": "participant-tom"})
    assert response.status_code == 400
    assert response.json() == {"model": "there is no classifier model named 'participant-tom'"}


def test_file_name_search_and_sorts(images, reviewer):
    client = api(reviewer)
    assert names(listed(client, q="DOG")) == in_position_order(images, "dog_1.JPEG", "dog_2.JPEG")
    assert names(listed(client, q="_1", sort="file_name")) == [
        "dog_1.JPEG",
        "gold_1.JPEG",
        "spaniel_1.JPEG",
        "tench_1.JPEG",
    ]
    assert names(listed(client, sort="-file_name"))[:2] == ["tench_2.JPEG", "tench_1.JPEG"]
    assert names(listed(client, sort="-position")) == in_position_order(images, *FILES)[::-1]
    # Search characters are plain text, not patterns.
    assert listed(client, q="%")["count"] == 0


def test_filters_combine(images, reviewer):
    review_all(images["spaniel_1.JPEG"], reviewer)
    page = listed(api(reviewer), wnid=DOG, disagree="1", status="unreviewed", model="m2")
    assert page["count"] == 0 and page["results"] == []
    page = listed(api(reviewer), wnid=DOG, disagree="1", status="reviewed", model="m2", q="spa")
    assert names(page) == ["spaniel_1.JPEG"]


# --- keyset pages -------------------------------------------------------------------------------------------------


def test_pages_forwards_and_backwards_by_keyset(images, reviewer):
    client = api(reviewer)
    expected = sorted(FILES)
    seen, pages, url, params = [], [], URL, {"limit": 4, "sort": "file_name"}
    while url:
        response = client.get(url, params)
        page = response.json()
        pages.append(page)
        seen += names(page)
        url, params = page["next"], None
    assert seen == expected
    assert [len(page["results"]) for page in pages] == [4, 2]
    assert pages[0]["count"] == 6 and pages[1]["count"] is None, "counted on the first page only"
    assert pages[1]["next"] is None
    assert "after=" in pages[0]["next"] and "sort=file_name" in pages[0]["next"] and "limit=4" in pages[0]["next"]
    back = client.get(pages[1]["previous"]).json()
    assert names(back) == expected[:4]
    assert back["previous"] is None and back["next"] is not None


def test_a_page_starts_after_an_image_that_left_the_list(images, reviewer):
    """The review page walks the unreviewed images while reviewing them: the one on screen still marks the place."""
    client = api(reviewer)
    order = in_position_order(images, *FILES)
    first, second = images[order[0]], images[order[1]]
    review_all(first, reviewer)
    page = listed(client, status="unreviewed", after=first.pk, limit=1)
    assert names(page) == [second.file_name]
    assert page["previous"] is None, "the image before it is reviewed now: nothing unreviewed lies before"
    assert names(listed(client, status="unreviewed", before=second.pk, limit=1)) == []


def test_my_recent_images_latest_first(images, reviewer):
    other = make_user("otto", roles.REVIEWER)
    now = timezone.now()
    review_all(images["dog_2.JPEG"], reviewer, at=now - timedelta(minutes=30))
    review_all(images["tench_1.JPEG"], reviewer, at=now - timedelta(minutes=20))
    review_all(images["gold_1.JPEG"], other, at=now - timedelta(minutes=10))
    services.set_verdict(
        item_id=ReviewItem.objects.filter(image=images["dog_2.JPEG"]).first().pk,
        reviewer=reviewer,
        value="wrong",
        at=now - timedelta(minutes=5),
    )
    client = api(reviewer)
    page = listed(client, sort="recent")
    assert names(page) == ["dog_2.JPEG", "tench_1.JPEG"], "another reviewer's verdicts are not mine"
    assert page["count"] == 2
    assert page["results"][0]["latest_verdict_at"] is not None
    # From an image with no verdict of mine (the queue's image on screen) the one before is my latest.
    assert names(listed(client, sort="recent", after=images["spaniel_1.JPEG"].pk, limit=1)) == ["dog_2.JPEG"]
    assert names(listed(client, sort="recent", after=images["dog_2.JPEG"].pk, limit=1)) == ["tench_1.JPEG"]
    assert names(listed(client, sort="recent", before=images["tench_1.JPEG"].pk)) == ["dog_2.JPEG"]
    assert listed(client, sort="recent", after=images["tench_1.JPEG"].pk)["results"] == []


# --- who sees what ------------------------------------------------------------------------------------------------


def test_reviewers_and_admins_only(images, reviewer, trainee, admin_user):
    assert api(trainee).get(URL).status_code == 403
    assert api(make_user("gus", roles.GUIDE_EDITOR)).get(URL).status_code == 403
    assert Client().get(URL).status_code in (401, 403)
    assert api(admin_user).get(URL).status_code == 200
    assert api(reviewer).get("/api/datasets/no-such-set/images/").status_code == 404


def test_images_of_an_open_phase_are_never_listed_to_its_participants(images, reviewer, admin_user, image_folder):
    phase = evaluation_services.create_phase(
        name="blind", datasets={DATASET: 1}, participants=[reviewer.username], created_by=admin_user, seed=3
    )
    evaluation_services.open_phase(phase)
    closed = PhaseImage.objects.get(phase=phase).image
    mine = listed(api(reviewer))
    assert closed.file_name not in names(mine)
    assert mine["count"] == len(FILES) - 1
    assert closed.file_name in names(listed(api(admin_user)))
    # A closed image as a cursor reads like a missing one.
    refused = api(reviewer).get(URL, {"after": closed.pk}).json()
    missing = api(reviewer).get(URL, {"after": 999_999}).json()
    assert refused == {"after": f"dataset {DATASET} has no image {closed.pk}"}
    assert missing == {"after": f"dataset {DATASET} has no image 999999"}


def test_where_reviewers_answer_blind_the_review_state_is_ones_own(images, reviewer, admin_user):
    dataset = images["tench_1.JPEG"].dataset
    other = make_user("otto", roles.REVIEWER)
    labelling.set_policy(dataset=dataset, rule="majority", overlap=1, user=admin_user)
    review_all(images["tench_1.JPEG"], other)
    assert Image.objects.get(pk=images["tench_1.JPEG"].pk).pending_items == 0
    client = api(reviewer)
    # Decided by the others, but still the queue's for this reviewer? No: a decided item awaits nobody.
    assert "tench_1.JPEG" in names(listed(client, status="reviewed"))

    # A golden item awaits every reviewer's answer, though its label is known: it must not read as reviewed.
    labelling.set_policy(dataset=dataset, rule="single", overlap=1, user=admin_user)
    golden = ReviewItem.objects.filter(image=images["dog_1.JPEG"]).first()
    for item in ReviewItem.objects.filter(image=images["dog_1.JPEG"]).exclude(pk=golden.pk):
        services.set_verdict(item_id=item.pk, reviewer=other, value="wrong")
    consensus_services.mark_golden(item_id=golden.pk, answer="correct", user=admin_user)
    assert Image.objects.get(pk=images["dog_1.JPEG"].pk).pending_items == 0
    assert "dog_1.JPEG" in names(listed(client, status="unreviewed"))
    assert "dog_1.JPEG" not in names(listed(client, status="reviewed"))
    assert "dog_1.JPEG" in names(listed(api(admin_user), status="reviewed")), "admins see every answer"
    services.set_verdict(item_id=golden.pk, reviewer=reviewer, value="correct")
    assert "dog_1.JPEG" in names(listed(client, status="reviewed"))


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "done"}, "status", "must be one of reviewed, unreviewed, problematic, suggested; got 'done'"),
        ({"wnid": "n99999999"}, "wnid", "'n99999999' is not a WordNet synset of the class hierarchy"),
        ({"model": "nobody"}, "model", "there is no classifier model named 'nobody'"),
        ({"model_top1": "differs"}, "model_top1", "name the model whose top-1 to compare (model=...)"),
        ({"disagree": "maybe"}, "disagree", "must be true or false; got 'maybe'"),
        ({"sort": "size"}, "sort", "must be one of position, -position, file_name, -file_name, recent; got 'size'"),
        ({"q": "x" * 101}, "q", "must be at most 100 characters; got 101"),
        ({"limit": "0"}, "limit", "must be a whole number from 1 to 200; got 0"),
        (
            {"after": "1", "before": "2"},
            "before",
            "give after or before, not both",
        ),
    ],
)
def test_bad_parameters_are_named(images, reviewer, params, field, message):
    response = api(reviewer).get(URL, params)
    assert response.status_code == 400
    assert response.json() == {field: message}


# --- query counts -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [2, 6])
def test_a_page_costs_the_same_queries_whatever_its_size(images, reviewer, trainee, limit, django_assert_num_queries):
    services.suggest_label(image_id=images["tench_1.JPEG"].pk, wnid=GOLDFISH, user=trainee)
    services.set_problematic(image_id=images["dog_1.JPEG"].pk, reviewer=reviewer, reason="drawing")
    for file_name in FILES:
        review_all(images[file_name], reviewer)
    client = api(reviewer)
    cursor = images["dog_2.JPEG"].pk
    params = {"wnid": "n00001740", "model": "m1", "status": "reviewed", "q": "JPEG", "limit": limit}
    # session, user, roles, dataset, model, open phases and golden images (access), count, page
    with django_assert_num_queries(9):
        assert client.get(URL, params).status_code == 200
    # ... and by a cursor: its image's key and whether anything lies before instead of the count
    with django_assert_num_queries(10):
        page = client.get(URL, {**params, "after": cursor, "sort": "recent", "limit": 1}).json()
    assert page["results"] and page["previous"] and page["next"]


# --- the pages -----------------------------------------------------------------------------------------------------


def test_the_browser_page_offers_the_datasets_classifier_models(images, reviewer, django_assert_max_num_queries):
    ClassifierModel.objects.create(name="participant-tom", kind=PredictorKind.HUMAN)
    client = api(reviewer)
    with django_assert_max_num_queries(5):
        response = client.get(f"/datasets/{DATASET}/images/")
    assert response.status_code == 200
    assert response.context["models"] == ["m1", "m2"]
    assert api(make_user("tim", roles.TRAINEE)).get(f"/datasets/{DATASET}/images/").status_code == 403


def test_the_review_page_names_the_list_it_walks(images, reviewer, django_assert_max_num_queries):
    client = api(reviewer)
    with django_assert_max_num_queries(6):
        response = client.get(
            f"/datasets/{DATASET}/review/", {"list": f"status=unreviewed&wnid={DOG}&model=m1&sort=-file_name"}
        )
    page = response.content.decode()
    assert 'data-list="status=unreviewed&amp;wnid=n02084071&amp;model=m1&amp;sort=-file_name"' in page
    assert "Unreviewed · under dog · m1 · File name, Z to A" in page
    # Without a list, or with one the API would refuse, previous and next walk the queue.
    for query in ({}, {"list": "status=done"}):
        page = client.get(f"/datasets/{DATASET}/review/", query).content.decode()
        assert "data-list=" not in page and 'data-testid="review-list"' not in page
    assert 'data-list=""' in client.get(f"/datasets/{DATASET}/review/", {"list": ""}).content.decode()


# --- in Chromium --------------------------------------------------------------------------------------------------

PAGE = f"/datasets/{DATASET}/images/"


def tiles(page):
    """The file names of the grid's thumbnails, once the page has shown its answer."""
    page.wait_for_function("document.getElementById('browser').dataset.state === 'ready'")
    return page.locator("#image-grid .image-tile__name").all_inner_texts()


def shown_image(page, previous=None):
    page.wait_for_function(
        "prev => document.body.dataset.imageId && document.body.dataset.imageId !== prev",
        arg=str(previous) if previous is not None else "",
    )
    return Image.objects.get(pk=int(page.evaluate("document.body.dataset.imageId"))).file_name


def step(page, key, current):
    """Press `key` on the review page showing the image `current` (a file name); the file name shown next."""
    page.keyboard.press(key)
    return shown_image(page, Image.objects.get(file_name=current).pk)


def watch_errors(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


@pytest.mark.browser
@BROWSER_DB
def test_browse_filter_search_sort_and_switch_to_the_table(logged_in_page, reviewer, image_folder, tmp_path):
    from playwright.sync_api import expect

    images = build_browse_set(image_folder, tmp_path)
    review_all(images["dog_1.JPEG"], reviewer)
    page = logged_in_page(reviewer)
    errors = watch_errors(page)
    page.goto(f"/datasets/{DATASET}/")
    page.get_by_test_id("browse-images").click()
    assert tiles(page) == in_position_order(images, *FILES)
    expect(page.get_by_test_id("image-count")).to_have_text("6 images")
    first = page.locator("#image-grid img").first
    expect(first).to_have_attribute("src", f"/images/{images[in_position_order(images, *FILES)[0]].pk}/display")

    page.get_by_test_id("status-filter").select_option("unreviewed")
    expect(page.get_by_test_id("image-count")).to_have_text("5 images")
    assert "dog_1.JPEG" not in tiles(page)
    assert "status=unreviewed" in page.url

    page.get_by_test_id("search").fill("dog")
    expect(page.get_by_test_id("image-count")).to_have_text("1 image")
    assert tiles(page) == ["dog_2.JPEG"]
    page.get_by_test_id("clear-filters").click()
    expect(page.get_by_test_id("image-count")).to_have_text("6 images")

    # A category of the hierarchy, chosen in the class search.
    page.get_by_test_id("class-search").fill("domestic dog")
    page.locator("#class-results [data-wnid='n02084071']").click()
    expect(page.get_by_test_id("class-chip")).to_contain_text("dog")
    expect(page.get_by_test_id("image-count")).to_have_text("3 images")
    page.get_by_test_id("model-filter").select_option("m1")
    page.get_by_test_id("model-top1").select_option("differs")
    expect(page.get_by_test_id("image-count")).to_have_text("1 image")
    assert tiles(page) == ["dog_1.JPEG"]
    page.locator("#class-clear").click()
    page.get_by_test_id("model-filter").select_option("")
    page.get_by_test_id("disagree").check()
    expect(page.get_by_test_id("image-count")).to_have_text("2 images")
    assert sorted(tiles(page)) == ["spaniel_1.JPEG", "tench_2.JPEG"]

    # Nothing matches: a clear empty state, and a way out.
    page.get_by_test_id("search").fill("no-such-file")
    empty = page.get_by_test_id("browser-empty")
    expect(empty).to_contain_text("No image matches these filters")
    empty.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_test_id("image-count")).to_have_text("6 images")

    page.get_by_test_id("sort").select_option("-file_name")
    assert tiles(page) == sorted(FILES, reverse=True)
    page.get_by_test_id("view-table").check()
    table = page.get_by_test_id("image-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(6)
    expect(table.locator("tbody tr").first).to_contain_text("tench_2.JPEG")
    expect(table.locator("tbody tr").first).to_contain_text("Unreviewed")
    # The address holds it all: a reload shows the same.
    page.reload()
    expect(page.get_by_test_id("image-table").locator("tbody tr").first).to_contain_text("tench_2.JPEG")
    expect(page.get_by_test_id("sort")).to_have_value("-file_name")
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_pages_of_a_long_list(logged_in_page, reviewer, tmp_path):
    from playwright.sync_api import expect

    from annotate.image_import import register_manifest

    manifest = tmp_path / "many.csv"
    manifest.write_text("filename,wnid\n" + "".join(f"img_{n:03d}.JPEG,{TENCH}\n" for n in range(61)))
    register_manifest(dataset_name="many", manifest_file=manifest)
    page = logged_in_page(reviewer)
    page.goto("/datasets/many/images/?sort=-file_name")
    names_shown = tiles(page)
    assert len(names_shown) == 60 and names_shown[0] == "img_060.JPEG"
    expect(page.locator("#image-grid .image-tile__missing").first).to_have_text("No file yet")
    expect(page.get_by_test_id("page-previous")).to_be_hidden()
    page.get_by_test_id("page-next").click()
    expect(page.locator("#image-grid .image-tile")).to_have_count(1)
    assert tiles(page) == ["img_000.JPEG"]
    expect(page.get_by_test_id("image-count")).to_have_text("61 images")
    expect(page.get_by_test_id("page-next")).to_be_hidden()
    page.reload()  # a later page counts its list too
    expect(page.get_by_test_id("image-count")).to_have_text("61 images")
    assert tiles(page) == ["img_000.JPEG"]
    page.get_by_test_id("page-previous").click()
    expect(page.locator("#image-grid .image-tile")).to_have_count(60)
    page.go_back()
    expect(page.locator("#image-grid .image-tile")).to_have_count(1)


@pytest.mark.browser
@BROWSER_DB
def test_open_an_image_and_walk_the_list_even_after_logging_in_again(logged_in_page, reviewer, image_folder, tmp_path):
    from playwright.sync_api import expect

    build_browse_set(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    errors = watch_errors(page)
    page.goto(f"{PAGE}?sort=-file_name")
    by_name = sorted(FILES, reverse=True)  # tench_2, tench_1, spaniel_1, gold_1, dog_2, dog_1
    assert tiles(page) == by_name

    # Arrow keys move between the thumbnails (from nothing focused: the first), Enter opens one.
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.closest('.image-tile').dataset.imageId") == str(
        Image.objects.get(file_name="spaniel_1.JPEG").pk
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/**")
    assert shown_image(page) == "spaniel_1.JPEG"
    expect(page.get_by_test_id("review-list")).to_contain_text("File name, Z to A")

    # Next and previous follow the list, not the queue.
    assert step(page, "n", "spaniel_1.JPEG") == "gold_1.JPEG"
    assert step(page, "b", "gold_1.JPEG") == "spaniel_1.JPEG"
    assert step(page, "b", "spaniel_1.JPEG") == "tench_1.JPEG"
    address = page.url

    # Another login (a new session, no history in the tab): previous still walks the list.
    again = logged_in_page(reviewer)
    again.goto(address)
    assert shown_image(again) == "tench_1.JPEG"
    assert step(again, "b", "tench_1.JPEG") == "tench_2.JPEG"
    again.keyboard.press("b")
    expect(again.locator("#toast")).to_have_text("This is the first image of the list.")
    again.get_by_test_id("back-to-list").click()
    again.wait_for_url("**/images/?sort=-file_name")
    assert tiles(again) == by_name
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_walking_the_unreviewed_images_while_reviewing_them(logged_in_page, reviewer, image_folder, tmp_path):
    images = build_browse_set(image_folder, tmp_path)
    order = in_position_order(images, *FILES)
    page = logged_in_page(reviewer)
    page.goto(f"{PAGE}?status=unreviewed")
    page.locator(f"#image-grid .image-tile[data-image-id='{images[order[1]].pk}'] a").click()
    assert shown_image(page) == order[1]
    for _ in ReviewItem.objects.filter(image=images[order[1]]):
        page.keyboard.press("1")
    page.wait_for_function("document.body.dataset.pendingSaves === '0'")
    assert Image.objects.get(pk=images[order[1]].pk).pending_items == 0
    # The reviewed image left the list; it still marks the place.
    assert step(page, "n", order[1]) == order[2]
    assert step(page, "b", order[2]) == order[0]


@pytest.mark.browser
@BROWSER_DB
def test_my_recent_images_one_click_from_the_review_page(logged_in_page, reviewer, image_folder, tmp_path):
    from playwright.sync_api import expect

    images = build_browse_set(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    errors = watch_errors(page)
    page.goto(f"/datasets/{DATASET}/review/")
    reviewed = []
    previous = None
    for _ in range(2):
        name = shown_image(page, previous)
        for _ in ReviewItem.objects.filter(image=images[name]):
            page.keyboard.press("2")
        page.wait_for_function("document.body.dataset.pendingSaves === '0'")
        reviewed.append(name)
        previous = images[name].pk
        page.keyboard.press("n")
    shown_image(page, previous)

    page.get_by_test_id("my-recent").click()
    page.wait_for_url("**/images/?sort=recent")
    assert tiles(page) == reviewed[::-1]
    expect(page.get_by_test_id("scope-recent")).to_be_checked()
    expect(page.get_by_test_id("sort")).to_be_hidden()
    page.get_by_test_id("view-table").check()
    expect(page.get_by_test_id("image-table").locator("tbody tr").first).to_contain_text(reviewed[1])

    # Logged in again, the queue's previous goes back through one's own latest images.
    again = logged_in_page(reviewer)
    again.goto(f"/datasets/{DATASET}/review/")
    queued = shown_image(again)
    assert queued not in reviewed
    assert step(again, "b", queued) == reviewed[1]
    assert step(again, "b", reviewed[1]) == reviewed[0]
    assert step(again, "n", reviewed[0]) == reviewed[1]
    assert errors == []


@pytest.mark.browser
@BROWSER_DB
def test_my_recent_when_nothing_is_reviewed_yet(logged_in_page, reviewer, image_folder, tmp_path):
    from playwright.sync_api import expect

    build_browse_set(image_folder, tmp_path)
    page = logged_in_page(reviewer)
    page.goto(PAGE)
    tiles(page)
    page.get_by_test_id("scope-recent").check()
    empty = page.get_by_test_id("browser-empty")
    expect(empty).to_contain_text("You have given no verdict here yet")
    expect(empty.get_by_role("link", name="Start reviewing")).to_be_visible()
    page.get_by_text("All images").click()
    assert len(tiles(page)) == len(FILES)


@pytest.mark.browser
@BROWSER_DB
def test_a_login_on_the_way_keeps_the_image_and_the_way_back_keeps_the_page_and_view(
    logged_in_page, reviewer, tmp_path
):
    from playwright.sync_api import expect

    from annotate.image_import import register_manifest

    manifest = tmp_path / "many.csv"
    manifest.write_text("filename,wnid\n" + "".join(f"img_{n:03d}.JPEG,{TENCH}\n" for n in range(61)))
    register_manifest(dataset_name="many", manifest_file=manifest)
    last = Image.objects.get(file_name="img_000.JPEG")
    page = logged_in_page(reviewer)
    page.goto("/datasets/many/images/?sort=-file_name&view=table")
    page.get_by_test_id("page-next").click()
    expect(page.locator("#image-rows tr")).to_have_count(1)
    page.locator(f'#image-rows tr[data-image-id="{last.pk}"] a').first.click()
    page.wait_for_url("**/review/**")
    assert shown_image(page) == "img_000.JPEG"
    assert f"image={last.pk}" in page.url

    # Back to the list: its second page, in the table, on the image.
    page.get_by_test_id("back-to-list").click()
    page.wait_for_function("document.getElementById('browser').dataset.state === 'ready'")
    expect(page.locator("#image-rows tr")).to_have_count(1)
    assert "view=table" in page.url and "after=" in page.url
    assert page.evaluate("document.activeElement.closest('tr').dataset.imageId") == str(last.pk)

    # Logged out on the image, then in again through the login page: the same image, the list still walked.
    page.go_back()
    assert shown_image(page) == "img_000.JPEG"
    page.context.clear_cookies()
    page.reload()
    page.wait_for_url("**/login/**")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", "pw-for-tests")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/review/**")
    assert shown_image(page) == "img_000.JPEG"
    assert step(page, "b", "img_000.JPEG") == "img_001.JPEG"
