"""The admins' pages of a new test set and their API: the list, the overview's per-class histograms of the eligible
candidates beside the reference's, the class's candidate browser (filters, sorts, pages) and its reference images;
figures against a hand-built test set, bad parameters, who may see what, the queries each request costs; and in
Chromium, the histograms on the overview and a candidate blacklisted by keyboard and undone."""

import zlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import taxonomy
from accounts import roles
from annotate.models import Image
from tests.conftest import BROWSER_DB, client_for, jpeg_bytes, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, TENCH
from testsets import browse, sampling, services
from testsets.models import BIN_EDGES, BlacklistChange, Candidate, SelectionFrequency

# Tench candidates: (annotations, selected) or None (never shown), and the blacklist reason. The test set counts a
# frequency from 10 annotations; several frequencies sit on a bin's edge, where the bin above takes them.
TENCH_CANDIDATES = {
    "c00.jpg": ((10, 0), ""),  # 0.0, bin 0
    "c01.jpg": ((10, 2), ""),  # 0.2, bin 1
    "c02.jpg": ((10, 3), ""),  # 0.3, bin 1
    "c03.jpg": ((10, 4), ""),  # 0.4, bin 2
    "c04.jpg": ((10, 6), ""),  # 0.6, bin 3
    "c05.jpg": ((10, 8), ""),  # 0.8, bin 4
    "c06.jpg": ((10, 10), ""),  # 1.0, bin 4
    "c07.jpg": ((5, 5), ""),  # 1.0, too few annotations
    "c08.jpg": (None, ""),  # unannotated
    "c09.jpg": ((10, 9), "too_big"),  # 0.9, blacklisted
    "c10.jpg": ((10, 1), "near_duplicate"),  # 0.1, blacklisted as a near-duplicate
    "c11.jpg": ((20, 15), ""),  # 0.75, bin 3
}
GOLDFISH_CANDIDATES = {"g00.jpg": (None, ""), "g01.jpg": (None, ""), "g02.jpg": ((4, 1), "")}
# Reference images of val: (annotations, selected) for their own class, or None.
REFERENCE = {
    TENCH: {"r0.JPEG": (10, 10), "r1.JPEG": (10, 7), "r2.JPEG": (12, 3), "r3.JPEG": (5, 5)},
    GOLDFISH: {"f0.JPEG": None, "f1.JPEG": None},
}
TENCH_FIGURES = {
    "wnid": TENCH,
    "label": "tench",
    "candidates": 12,
    "blacklisted": 2,
    "annotated": 11,
    "eligible": 8,
    "unannotated": 2,
    "candidate_bins": [1, 2, 1, 2, 2],
    "reference": 3,
    "reference_bins": [0, 1, 0, 1, 1],
    "short": True,
}
GOLDFISH_FIGURES = {
    "wnid": GOLDFISH,
    "label": "goldfish",
    "candidates": 3,
    "blacklisted": 0,
    "annotated": 1,
    "eligible": 0,
    "unannotated": 3,
    "candidate_bins": [0, 0, 0, 0, 0],
    "reference": 0,
    "reference_bins": [0, 0, 0, 0, 0],
    "short": True,
}


def colour(key):
    """A colour of its own for each file, so that no two files are the same by chance."""
    digest = zlib.crc32(str(key).encode())
    return (digest & 255, digest >> 8 & 255, digest >> 16 & 255)


def add_candidates(testset, root, files):
    """Candidates of the pool from a folder of {wnid: {file name: ((annotations, selected) or None, reason)}}, with
    those frequencies and blacklist reasons."""
    for wnid, names in files.items():
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / wnid / name).write_bytes(jpeg_bytes(colour(wnid + name), size=(40, 30)))
    services.import_candidates(testset_name=testset.name, directory=root)
    for names in files.values():
        for name, (counts, reason) in names.items():
            candidate = Candidate.objects.select_related("image").get(testset=testset, image__file_name=name)
            if reason:
                Candidate.objects.filter(pk=candidate.pk).update(blacklist_reason=reason)
            if counts is not None:
                SelectionFrequency.objects.create(
                    testset=testset,
                    image=candidate.image,
                    wnid=candidate.wnid,
                    annotations=counts[0],
                    selected=counts[1],
                )


def build_world(make_dataset, tmp_path):
    make_dataset(
        name="val",
        predictions={},
        files={wnid: {name: colour(name) for name in names} for wnid, names in REFERENCE.items()},
    )
    testset = services.create_testset(name="v2", reference_name="val")
    add_candidates(testset, tmp_path / "pool", {TENCH: TENCH_CANDIDATES, GOLDFISH: GOLDFISH_CANDIDATES})
    for wnid, names in REFERENCE.items():
        for name, counts in names.items():
            if counts is not None:
                image = Image.objects.get(dataset__name="val", file_name=name)
                SelectionFrequency.objects.create(
                    testset=testset, image=image, wnid=wnid, annotations=counts[0], selected=counts[1]
                )
    # A goldfish of val shown as a negative control with tench: no reference frequency of either class.
    SelectionFrequency.objects.create(
        testset=testset,
        image=Image.objects.get(dataset__name="val", file_name="f0.JPEG"),
        wnid=TENCH,
        annotations=10,
        selected=1,
    )
    return testset


@pytest.fixture
def testset(make_dataset, tmp_path):
    return build_world(make_dataset, tmp_path)


@pytest.fixture
def admin(db):
    return make_user("ada", roles.ADMIN)


def names_of(answer):
    return [row["file_name"] for row in answer["results"]]


def candidates(client, wnid=TENCH, **params):
    response = client.get(f"/api/testsets/v2/classes/{wnid}/candidates/", params)
    assert response.status_code == 200, response.content
    return response.json()


def direct_bin(frequency):
    """The bin of a frequency, counted edge by edge (a frequency on an edge goes to the bin above)."""
    return sum(frequency >= edge for edge in BIN_EDGES)


# ---- Figures ----------------------------------------------------------------------------------------------------


def test_class_figures_are_the_hand_built_counts(testset):
    assert browse.class_figures(testset) == [TENCH_FIGURES, GOLDFISH_FIGURES]
    assert browse.class_figures(testset, TENCH) == [TENCH_FIGURES]


def test_histograms_equal_a_direct_count_of_the_frequencies(testset):
    counted = {row["wnid"]: row for row in browse.class_figures(testset)}
    for wnid in (TENCH, GOLDFISH):
        bins = [0] * 5
        for candidate in Candidate.objects.filter(testset=testset, wnid=wnid, blacklist_reason=""):
            frequency = SelectionFrequency.objects.filter(testset=testset, image=candidate.image_id, wnid=wnid).first()
            if frequency is not None and frequency.annotations >= testset.min_annotations:
                bins[direct_bin(frequency.selected / frequency.annotations)] += 1
        reference = [0] * 5
        for image in Image.objects.filter(dataset=testset.reference, original_wnid=wnid):
            frequency = SelectionFrequency.objects.filter(testset=testset, image=image, wnid=wnid).first()
            if frequency is not None and frequency.annotations >= testset.min_annotations:
                reference[direct_bin(frequency.selected / frequency.annotations)] += 1
        assert (counted[wnid]["candidate_bins"], counted[wnid]["reference_bins"]) == (bins, reference)
        assert counted[wnid]["eligible"] == sum(bins)


def test_a_reference_class_without_candidates_is_a_short_class(testset):
    Image.objects.filter(dataset=testset.reference, file_name="f1.JPEG").update(original_wnid=CHIHUAHUA)
    chihuahua = browse.class_figures(testset, CHIHUAHUA)
    assert chihuahua == [
        {
            **GOLDFISH_FIGURES,
            "wnid": CHIHUAHUA,
            "label": taxonomy.label(CHIHUAHUA),
            "candidates": 0,
            "annotated": 0,
            "unannotated": 0,
        }
    ]


def test_the_classes_api_answers_every_class_with_its_figures(testset, admin):
    answer = client_for(admin).get("/api/testsets/v2/classes/").json()
    assert answer == {
        "bin_edges": list(BIN_EDGES),
        "per_class": 10,
        "min_annotations": 10,
        "classes": [TENCH_FIGURES, GOLDFISH_FIGURES],
    }


def test_the_overview_lists_the_classes_filtered_and_sorted(testset):
    rows = browse.class_figures(testset)
    assert [row["wnid"] for row in browse.chosen_classes(rows, query="GOLD")] == [GOLDFISH]
    assert [row["wnid"] for row in browse.chosen_classes(rows, query="n0144")] == [TENCH, GOLDFISH]
    assert [row["wnid"] for row in browse.chosen_classes(rows, sort="label")] == [GOLDFISH, TENCH]
    assert [row["wnid"] for row in browse.chosen_classes(rows, sort="-blacklisted")] == [TENCH, GOLDFISH]
    assert [row["wnid"] for row in browse.chosen_classes(rows, sort="eligible")] == [GOLDFISH, TENCH]
    assert [row["wnid"] for row in browse.chosen_classes(rows, sort="-unannotated")] == [GOLDFISH, TENCH]
    testset.per_class = 5
    testset.save()
    rows = browse.class_figures(testset)
    assert [row["wnid"] for row in browse.chosen_classes(rows, short_only=True)] == [GOLDFISH]


def test_the_overview_page_shows_figures_histograms_and_keeps_its_filters(testset, admin):
    client = client_for(admin)
    page = client.get("/testsets/v2/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-wnid="n01440764"' in html and 'data-wnid="n01443537"' in html
    assert page.context["status"]["candidates"] == 15 and page.context["short"] == 2
    tench = next(row for row in page.context["page"] if row["wnid"] == TENCH)
    assert [b["candidates"] for b in tench["chart"]["bins"]] == [1, 2, 1, 2, 2]
    assert [b["reference"] for b in tench["chart"]["bins"]] == [0, 1, 0, 1, 1]
    filtered = client.get("/testsets/v2/", {"q": "goldfish", "short": "1", "sort": "label"})
    assert [row["wnid"] for row in filtered.context["page"]] == [GOLDFISH]
    assert 'value="goldfish"' in filtered.content.decode()
    # The page's own form offers valid values only: anything else is its default.
    assert client.get("/testsets/v2/", {"sort": "size"}).context["listing"]["sort"] == "wnid"


def test_the_bars_are_each_histograms_shares(testset):
    (tench,) = browse.class_figures(testset, TENCH)
    chart = browse.class_chart(tench)
    heights = {(bar["kind"], index // 2): bar["height"] for index, bar in enumerate(chart["bars"])}
    # Candidates 1, 2, 1, 2, 2 of 8; reference 0, 1, 0, 1, 1 of 3: 1/3 is the highest share, the full 40.
    assert heights[("reference", 1)] == 40 and heights[("candidates", 1)] == pytest.approx(40 * (2 / 8) / (1 / 3), 0.01)
    assert heights[("reference", 0)] == 0 and all(bar["y"] + bar["height"] == 40 for bar in chart["bars"])


# ---- The candidate browser's API --------------------------------------------------------------------------------


def test_candidates_sort_by_frequency_unannotated_last(testset, admin):
    client = client_for(admin)
    highest_first = ["c06", "c07", "c09", "c05", "c11", "c04", "c03", "c02", "c01", "c10", "c00", "c08"]
    assert names_of(candidates(client)) == [f"{name}.jpg" for name in highest_first]
    lowest_first = ["c00", "c10", "c01", "c02", "c03", "c04", "c11", "c05", "c09", "c06", "c07", "c08"]
    assert names_of(candidates(client, sort="frequency")) == [f"{name}.jpg" for name in lowest_first]


def test_candidates_sort_by_date_taken_unknown_dates_last(testset, admin):
    for day, name in ((3, "c05.jpg"), (1, "c07.jpg"), (2, "c00.jpg")):
        Candidate.objects.filter(image__file_name=name).update(date_taken=datetime(2012, 7, day, tzinfo=UTC))
    client = client_for(admin)
    assert names_of(candidates(client, sort="date_taken"))[:4] == ["c07.jpg", "c00.jpg", "c05.jpg", "c01.jpg"]
    newest = candidates(client, sort="-date_taken")
    assert names_of(newest)[:4] == ["c05.jpg", "c00.jpg", "c07.jpg", "c01.jpg"]
    assert newest["results"][0]["date_taken"] == "2012-07-03T00:00:00Z"


def test_each_candidate_shows_its_frequency_bin_and_blacklist(testset, admin):
    Candidate.objects.filter(image__file_name="c09.jpg").update(source_id="flickr-9", search_key="tench fish")
    rows = {row["file_name"]: row for row in candidates(client_for(admin))["results"]}
    c09 = rows["c09.jpg"]
    candidate = Candidate.objects.get(image__file_name="c09.jpg")
    assert c09 == {
        "id": candidate.pk,
        "image": candidate.image_id,
        "file_name": "c09.jpg",
        "display_url": f"/images/{candidate.image_id}/display",
        "uri": candidate.image.source_uri,
        "annotations": 10,
        "selected": 9,
        "frequency": 0.9,
        "bin": 4,
        "source_id": "flickr-9",
        "search_key": "tench fish",
        "date_taken": None,
        "date_uploaded": None,
        "blacklist_reason": "too_big",
        "blacklist_note": "",
    }
    assert (rows["c08.jpg"]["frequency"], rows["c08.jpg"]["bin"], rows["c08.jpg"]["annotations"]) == (None, None, 0)
    for row in rows.values():
        if row["frequency"] is not None:
            assert row["bin"] == direct_bin(row["frequency"]) == int(sampling.bins([row["frequency"]], BIN_EDGES)[0])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"bin": 0}, ["c10", "c00"]),
        ({"bin": 1}, ["c02", "c01"]),
        ({"bin": 2}, ["c03"]),
        ({"bin": 3}, ["c11", "c04"]),
        ({"bin": 4}, ["c06", "c07", "c09", "c05"]),
        ({"min_frequency": "0.4", "max_frequency": "0.8"}, ["c05", "c11", "c04", "c03"]),
        ({"min_frequency": ".95"}, ["c06", "c07"]),
        ({"max_frequency": "0"}, ["c00"]),
        ({"blacklisted": "yes"}, ["c09", "c10"]),
        ({"blacklisted": "no", "bin": 4}, ["c06", "c07", "c05"]),
        ({"near_duplicate": "yes"}, ["c10"]),
        ({"near_duplicate": "no", "max_frequency": "0.2"}, ["c01", "c00"]),
        ({"min_annotations": 15}, ["c11"]),
        ({"min_annotations": 0, "bin": 2}, ["c03"]),
        ({"min_annotations": 10, "min_frequency": "0.9"}, ["c06", "c09"]),
    ],
)
def test_candidate_filters(testset, admin, params, expected):
    assert names_of(candidates(client_for(admin), **params)) == [f"{name}.jpg" for name in expected]


def test_candidates_come_a_page_at_a_time(testset, admin):
    client = client_for(admin)
    every = names_of(candidates(client))
    first, second = candidates(client, limit=5), candidates(client, limit=5, offset=5)
    assert (first["count"], second["count"]) == (12, 12)
    assert names_of(first) + names_of(second) == every[:10]
    assert "offset=5" in first["next"] and "limit=5" in first["next"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"bin": 5}, "bin"),
        ({"bin": "x"}, "bin"),
        ({"min_frequency": "1.5"}, "min_frequency"),
        ({"min_frequency": "nan"}, "min_frequency"),
        ({"max_frequency": "1e-1"}, "max_frequency"),
        ({"max_frequency": "-0.1"}, "max_frequency"),
        ({"min_frequency": "0.6", "max_frequency": "0.4"}, "max_frequency"),
        ({"blacklisted": "maybe"}, "blacklisted"),
        ({"near_duplicate": "1"}, "near_duplicate"),
        ({"min_annotations": "-1"}, "min_annotations"),
        ({"sort": "size"}, "sort"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_parameters_are_refused_with_400_naming_them(testset, admin, params, parameter):
    response = client_for(admin).get(f"/api/testsets/v2/classes/{TENCH}/candidates/", params)
    assert response.status_code == 400
    assert list(response.json()) == [parameter], response.json()


@pytest.mark.parametrize(
    "url",
    [
        f"/api/testsets/v2/classes/{GREAT_WHITE}/candidates/",
        f"/api/testsets/v2/classes/{GREAT_WHITE}/reference/",
        "/api/testsets/v2/classes/n0/candidates/",
        f"/api/testsets/v3/classes/{TENCH}/candidates/",
        "/api/testsets/v3/classes/",
        f"/testsets/v2/classes/{GREAT_WHITE}/",
        "/testsets/v3/",
    ],
)
def test_unknown_classes_and_test_sets_answer_404_saying_so(testset, admin, url):
    response = client_for(admin).get(url)
    assert response.status_code == 404
    said = response.json()["detail"] if url.startswith("/api/") else response.content.decode()
    assert "has no class" in said or "does not exist" in said


def test_the_reference_api_lists_the_class_images_with_their_frequencies(testset, admin):
    answer = client_for(admin).get(f"/api/testsets/v2/classes/{TENCH}/reference/").json()
    assert [(row["file_name"], row["frequency"], row["bin"]) for row in answer] == [
        ("r0.JPEG", 1.0, 4),
        ("r3.JPEG", 1.0, 4),
        ("r1.JPEG", 0.7, 3),
        ("r2.JPEG", 0.25, 1),
    ]
    assert answer[0]["display_url"] == f"/images/{answer[0]['id']}/display" and answer[3]["annotations"] == 12
    goldfish = client_for(admin).get(f"/api/testsets/v2/classes/{GOLDFISH}/reference/").json()
    assert [(row["file_name"], row["annotations"], row["frequency"]) for row in goldfish] == [
        ("f0.JPEG", 0, None),
        ("f1.JPEG", 0, None),
    ]


def test_the_class_page_shows_its_figures_and_reference_images(testset, admin):
    page = client_for(admin).get(f"/testsets/v2/classes/{TENCH}/")
    assert page.status_code == 200
    assert page.context["row"] == TENCH_FIGURES
    assert [image["file_name"] for image in page.context["reference"]] == ["r0.JPEG", "r3.JPEG", "r1.JPEG", "r2.JPEG"]
    html = page.content.decode()
    assert 'data-testid="no-frequencies"' not in html and 'data-testid="short-note"' in html
    goldfish = client_for(admin).get(f"/testsets/v2/classes/{GOLDFISH}/").content.decode()
    assert 'data-testid="no-frequencies"' not in goldfish
    SelectionFrequency.objects.filter(wnid=GOLDFISH).delete()
    assert 'data-testid="no-frequencies"' in client_for(admin).get(f"/testsets/v2/classes/{GOLDFISH}/").content.decode()


# ---- Who may see what -------------------------------------------------------------------------------------------

ADMIN_PATHS = [
    "/api/testsets/v2/classes/",
    f"/api/testsets/v2/classes/{TENCH}/candidates/",
    f"/api/testsets/v2/classes/{TENCH}/reference/",
    "/testsets/v2/",
    f"/testsets/v2/classes/{TENCH}/",
]


@pytest.mark.parametrize("role", [roles.ANNOTATOR, roles.REVIEWER, roles.TRAINEE, roles.GUIDE_EDITOR])
def test_only_admins_see_the_overview_the_browser_and_their_api(testset, role):
    client = client_for(make_user("someone", role))
    for path in ADMIN_PATHS:
        assert client.get(path).status_code == 403, path
    anonymous = Client()
    for path in ADMIN_PATHS:
        assert anonymous.get(path).status_code in (302, 401, 403), path


def test_annotators_get_the_list_with_their_grids_and_no_figures(testset, admin):
    annotator = client_for(make_user("anna", roles.ANNOTATOR))
    page = annotator.get("/testsets/")
    html = page.content.decode()
    assert page.status_code == 200 and page.context["names"] == ["v2"]
    assert 'href="/testsets/v2/annotate/"' in html and 'href="/testsets/v2/"' not in html
    assert ">Test sets</a>" in html
    assert client_for(make_user("rita", roles.REVIEWER)).get("/testsets/").status_code == 403
    listed = client_for(admin).get("/testsets/")
    assert listed.context["testsets"][0]["candidates"] == 15 and 'href="/testsets/v2/"' in listed.content.decode()


def test_the_list_says_how_to_create_a_test_set_when_there_is_none(admin):
    html = client_for(admin).get("/testsets/").content.decode()
    assert 'data-testid="empty-testsets"' in html and "manage.py create_testset" in html


# ---- Queries -----------------------------------------------------------------------------------------------------


def query_count(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200, url
    return len(captured.captured_queries)


READ_PATHS = [
    ("/api/testsets/v2/classes/", None),
    (f"/api/testsets/v2/classes/{TENCH}/candidates/", {"bin": 4, "blacklisted": "no", "sort": "date_taken"}),
    (f"/api/testsets/v2/classes/{TENCH}/candidates/", {"limit": 1000}),
    (f"/api/testsets/v2/classes/{TENCH}/reference/", None),
    ("/testsets/", None),
    ("/testsets/v2/", None),
    (f"/testsets/v2/classes/{TENCH}/", None),
]


def test_each_read_costs_the_same_queries_however_many_classes_and_candidates(testset, admin, tmp_path):
    client = client_for(admin)
    before = [query_count(client, url, params) for url, params in READ_PATHS]
    more = {
        wnid: {f"{wnid}-{index:02}.jpg": ((10, index % 11), "") for index in range(30)}
        for wnid in (TENCH, GREAT_WHITE, CHIHUAHUA)
    }
    add_candidates(testset, tmp_path / "more", more)
    after = [query_count(client, url, params) for url, params in READ_PATHS]
    assert after == before
    # Session, user, roles, test set; the classes: candidates, frequencies grouped, reference, reference classes; what
    # near-duplicate search holds back (testsets.holds): shared source ids, verdicts, thresholds, overrides.
    assert before[0] <= 12


def test_every_query_of_the_reads_has_an_index(testset, admin):
    """With sequential scans priced out, a plan still holds one only where no index serves the query."""
    client = client_for(admin)
    with CaptureQueriesContext(connection) as captured:
        for url, params in READ_PATHS:
            assert client.get(url, params or {}).status_code == 200
    selects = {
        query["sql"] for query in captured.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")
    }
    unindexed = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for sql in selects:
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                if "Seq Scan" in plan:
                    unindexed.append(f"{sql}\n{plan}")
        finally:
            cursor.execute("RESET enable_seqscan")
    assert not unindexed, "\n\n".join(unindexed)


# ---- In Chromium -------------------------------------------------------------------------------------------------


def tiles(page):
    return page.evaluate(
        """() => [...document.querySelectorAll('#candidate-grid .ts-tile')].map((tile) => ({
          name: tile.querySelector('.ts-tile__name').textContent,
          reason: tile.dataset.reason,
          focused: document.activeElement === tile,
        }))"""
    )


def wait_saved(page):
    page.wait_for_function("() => document.getElementById('class-browser').dataset.pending === '0'")


def reason_of(name):
    candidate = Candidate.objects.get(image__file_name=name)
    return candidate.blacklist_reason, candidate.blacklist_note


@pytest.mark.browser
@BROWSER_DB
def test_the_overview_shows_each_classes_histogram_numbers(logged_in_page, make_dataset, tmp_path):
    build_world(make_dataset, tmp_path)
    page = logged_in_page(make_user("ada", roles.ADMIN))
    page.goto("/testsets/v2/")
    row = page.locator(f'tr[data-wnid="{TENCH}"]')
    counts = row.locator(".ts-bins__count")
    assert counts.all_inner_texts() == ["1", "2", "1", "2", "2", "0", "1", "0", "1", "1"]
    assert row.locator('[data-figure="eligible"]').inner_text() == "8"
    assert row.get_by_test_id("short-badge").is_visible()
    assert row.locator("rect.ts-hist__bar").count() == 10
    page.get_by_test_id("class-search").fill("goldf")
    page.keyboard.press("Enter")
    page.wait_for_url("**/testsets/v2/?q=goldf*")
    assert page.locator("tr[data-wnid]").evaluate_all("(rows) => rows.map((r) => r.dataset.wnid)") == [GOLDFISH]
    page.get_by_role("link", name="goldfish").click()
    page.wait_for_url(f"**/testsets/v2/classes/{GOLDFISH}/")


@pytest.mark.browser
@BROWSER_DB
def test_an_admin_filters_by_bin_blacklists_by_keyboard_and_undoes(logged_in_page, make_dataset, tmp_path):
    build_world(make_dataset, tmp_path)
    admin = make_user("ada", roles.ADMIN)
    page = logged_in_page(admin)
    page.goto(f"/testsets/v2/classes/{TENCH}/")
    page.wait_for_function("() => document.getElementById('class-browser').dataset.state === 'ready'")
    assert len(tiles(page)) == 12
    assert page.get_by_test_id("reference-list").locator("li").count() == 4

    page.get_by_test_id("bin-filter").select_option("4")
    page.wait_for_function("() => document.querySelectorAll('#candidate-grid .ts-tile').length === 4")
    assert [tile["name"] for tile in tiles(page)] == ["c06.jpg", "c07.jpg", "c09.jpg", "c05.jpg"]
    assert page.url.endswith(f"/testsets/v2/classes/{TENCH}/?bin=4")

    # The focus starts on the first tile; l moves to the second, 1 blacklists it as too big.
    page.locator("#candidate-grid .ts-tile").first.click()
    page.keyboard.press("l")
    assert tiles(page)[1]["focused"]
    page.keyboard.press("1")
    wait_saved(page)
    assert reason_of("c07.jpg") == ("too_big", "")
    assert tiles(page)[1]["reason"] == "too_big"

    # 7 asks for a note, then blacklists as "other" with it.
    page.keyboard.press("l")
    page.keyboard.press("7")
    page.get_by_test_id("note-input").fill("a watermark over the fish")
    page.keyboard.press("Enter")
    wait_saved(page)
    assert reason_of("c09.jpg") == ("other", "a watermark over the fish")

    # z undoes the latest change, then the one before it.
    page.keyboard.press("z")
    wait_saved(page)
    assert reason_of("c09.jpg") == ("too_big", "")
    page.keyboard.press("z")
    wait_saved(page)
    assert reason_of("c07.jpg") == ("", "")
    assert [tile["reason"] for tile in tiles(page)] == ["", "", "too_big", ""]
    assert BlacklistChange.objects.filter(candidate__image__file_name="c07.jpg").count() == 2

    # 0 takes the focused one off the blacklist; ? shows the keys.
    assert tiles(page)[1]["focused"]
    page.keyboard.press("l")
    page.keyboard.press("0")
    wait_saved(page)
    assert reason_of("c09.jpg") == ("", "")
    page.keyboard.press("?")
    assert page.locator("#keys-sheet").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#keys-sheet").is_visible()

    # The filters are kept in the address: a reload shows the same list.
    page.reload()
    page.wait_for_function("() => document.getElementById('class-browser').dataset.state === 'ready'")
    assert page.get_by_test_id("bin-filter").input_value() == "4" and len(tiles(page)) == 4

    # What the filters cannot take is left out, and the page says so.
    page.goto(f"/testsets/v2/classes/{TENCH}/?bin=9&blacklisted=yes")
    page.wait_for_function("() => document.getElementById('class-browser').dataset.state === 'ready'")
    assert "bin=9" in page.get_by_test_id("browser-error").inner_text()
    assert [tile["name"] for tile in tiles(page)] == ["c10.jpg"]  # c09 was taken off above
