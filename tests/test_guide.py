"""The labeling guide: safe Markdown, class pages from WordNet, revisions, confusions, permissions, images."""

import io
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from PIL import Image as PILImage

import taxonomy
from accounts import roles
from annotate.models import Dataset, Image, ReviewItem
from annotate.services import set_problematic, set_verdict
from labelguide import selectors, services
from labelguide.models import Attachment, GuidePage, PageClass, PageKind, Revision
from labelguide.rendering import render_markdown
from tests.conftest import build_dataset, jpeg_bytes, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, HAMMERHEAD, JAPANESE_SPANIEL, TENCH, TIGER_SHARK

pytestmark = pytest.mark.django_db

SHARK_CATEGORY = "n01482330"  # shark: a hypernym of the shark classes, not a class


@pytest.fixture
def editor(db):
    return make_user("gina", roles.GUIDE_EDITOR)


def json_put(client, url, data):
    return client.put(url, data, content_type="application/json")


def json_post(client, url, data):
    return client.post(url, data, content_type="application/json")


def png_bytes(size=(40, 30), color=(20, 120, 200)):
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def comparison(author, title="Great white shark vs tiger shark", body="- Stripes", wnids=(GREAT_WHITE, TIGER_SHARK)):
    return services.create_page(author=author, title=title, body=body, wnids=wnids)


# --- Markdown ------------------------------------------------------------------------------------


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


SAFE_TAGS = {"p", "a", "img", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "br"}
HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1) )",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "<img src=x onerror=alert(1)>",
    "<iframe src=https://example.com></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '<div onclick="alert(1)">**bold**</div>',
]


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN)
def test_markdown_renders_inert(markdown):
    html = render_markdown(markdown)
    collector = TagCollector()
    collector.feed(html)
    for tag, attrs in collector.tags:
        assert tag in SAFE_TAGS, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            if name in ("href", "src"):
                assert not value.strip().lower().startswith(("javascript:", "vbscript:", "data:text")), html
    assert "<script" not in html and "<iframe" not in html and "<svg" not in html


def test_markdown_keeps_what_pages_need():
    html = render_markdown(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        f"Stripes, see [Wikipedia](https://en.wikipedia.org/wiki/Tiger_shark) and {TIGER_SHARK}; "
        f"not `{GREAT_WHITE}` nor {SHARK_CATEGORY}.\n\n"
        f"![sketch](/guide/attachments/3/) [the page](/guide/wnid/{HAMMERHEAD}/) ~~old~~"
    )
    assert "<table>" in html and "<td>2</td>" in html
    assert (
        '<a href="https://en.wikipedia.org/wiki/Tiger_shark" rel="nofollow noopener noreferrer" target="_blank">'
        in html
    )
    assert f'<a href="/guide/wnid/{TIGER_SHARK}/" title="tiger shark" data-guide-wnid="{TIGER_SHARK}">' in html
    assert f"<code>{GREAT_WHITE}</code>" in html  # code stays code
    assert f"nor {SHARK_CATEGORY}." in html  # a category has no page
    assert '<img src="/guide/attachments/3/" alt="sketch" loading="lazy"' in html
    assert f'data-guide-wnid="{HAMMERHEAD}">the page</a>' in html
    assert "<s>old</s>" in html


# --- class pages from WordNet ----------------------------------------------------------------------


def test_every_class_has_its_page_after_migrate():
    pages = GuidePage.objects.filter(kind=PageKind.CLASS)
    assert pages.count() == 1000
    assert set(pages.values_list("slug", flat=True)) == set(taxonomy.class_wnids())
    assert PageClass.objects.filter(page__kind=PageKind.CLASS).count() == 1000
    page = GuidePage.objects.get(slug=GREAT_WHITE)
    assert page.title == "great white shark" and page.body == ""
    assert "Carcharodon carcharias" in page.generated
    assert "large aggressive shark" in page.generated
    assert "shark › mackerel shark › **great white shark**" in page.generated
    assert f"[tiger shark](/guide/wnid/{TIGER_SHARK}/)" in page.generated
    assert list(PageClass.objects.filter(page=page).values_list("wnid", flat=True)) == [GREAT_WHITE]


def test_regenerating_never_touches_the_experts_text(editor):
    page = GuidePage.objects.get(slug=GREAT_WHITE)
    services.update_page(page=page, author=editor, title="Great white shark", body="- Highly domed? No: a shark.")
    GuidePage.objects.filter(slug=GREAT_WHITE).update(generated="stale")
    GuidePage.objects.filter(slug=TIGER_SHARK).delete()
    out = io.StringIO()
    call_command("generate_guide", stdout=out)
    assert "1 created, 1 regenerated, 998 unchanged" in out.getvalue()
    page.refresh_from_db()
    assert page.body == "- Highly domed? No: a shark." and page.title == "Great white shark"
    assert "Carcharodon carcharias" in page.generated
    assert GuidePage.objects.get(slug=TIGER_SHARK).classes.get().wnid == TIGER_SHARK
    assert services.generate_class_pages() == {"created": 0, "updated": 0, "unchanged": 1000}


def test_a_missing_class_page_is_made_when_asked_for(client, reviewer):
    GuidePage.objects.filter(slug=HAMMERHEAD).delete()
    client.force_login(reviewer)
    response = client.get(f"/guide/wnid/{HAMMERHEAD}/")
    assert response.status_code == 302 and response["Location"] == f"/guide/{HAMMERHEAD}/"
    assert client.get(f"/api/guide/wnids/{HAMMERHEAD}/").json()["title"] == "hammerhead"
    assert client.get(f"/guide/wnid/{SHARK_CATEGORY}/").status_code == 404
    assert client.get("/guide/wnid/n99999999/").status_code == 404
    assert "category" in client.get(f"/api/guide/wnids/{SHARK_CATEGORY}/").json()["detail"]


# --- revisions -----------------------------------------------------------------------------------


def test_revisions_diff_and_restore(client, editor):
    page = comparison(editor, body="- Stripes\n- Thickness")
    services.update_page(page=page, author=editor, body="- Stripes: vertical on tiger sharks\n- Thickness")
    services.update_page(page=page, author=editor, title="Great white vs tiger shark")
    assert services.update_page(page=page, author=editor, title="Great white vs tiger shark") is None  # no change

    history = selectors.revision_history(page)
    assert [entry["number"] for entry in history] == [3, 2, 1]
    assert history[0]["current"] and not history[1]["current"]
    assert ("removed", "-Title: Great white shark vs tiger shark") in history[0]["diff"]
    assert ("added", "+Title: Great white vs tiger shark") in history[0]["diff"]
    assert ("removed", "-- Stripes") in history[1]["diff"]
    assert ("added", "+- Stripes: vertical on tiger sharks") in history[1]["diff"]
    assert (history[1]["added"], history[1]["removed"]) == (1, 1)
    assert ("added", f"+Classes: {GREAT_WHITE}, {TIGER_SHARK}") in history[2]["diff"]  # against nothing

    client.force_login(editor)
    first = history[2]["revision"]
    response = client.post(f"/api/guide/pages/{page.slug}/revisions/{first.pk}/restore/")
    assert response.status_code == 201
    assert response.json()["body"] == "- Stripes\n- Thickness"
    assert response.json()["title"] == "Great white shark vs tiger shark"
    restored = Revision.objects.filter(page=page).order_by("-created_at", "-id").first()
    assert restored.restored_from == first and restored.author == editor
    assert Revision.objects.filter(page=page).count() == 4  # nothing removed
    again = client.post(f"/api/guide/pages/{page.slug}/revisions/{restored.pk}/restore/")
    assert again.status_code == 400 and "already has the content" in again.json()["revision"]
    other = comparison(editor, title="Other")
    elsewhere = client.post(f"/api/guide/pages/{other.slug}/revisions/{first.pk}/restore/")
    assert elsewhere.status_code == 400 and "not a revision of this page" in elsewhere.json()["revision"]

    listed = client.get(f"/api/guide/pages/{page.slug}/revisions/").json()
    assert [entry["number"] for entry in listed] == [4, 3, 2, 1]
    assert listed[0]["restored_from"] == first.pk and listed[0]["author"] == "gina"
    html = client.get(f"/guide/{page.slug}/history/").content.decode()
    assert "restored from #1" in html and "guide-diff__line--added" in html


def test_first_edit_of_a_class_page_keeps_the_generated_state(editor):
    page = GuidePage.objects.get(slug=TIGER_SHARK)
    services.update_page(page=page, author=editor, body="Vertical stripes, wedge-shaped head.")
    baseline, edit = Revision.objects.filter(page=page).order_by("created_at", "id")
    assert baseline.author is None and baseline.body == "" and baseline.wnids == [TIGER_SHARK]
    assert edit.author == editor
    services.restore_revision(page=page, revision_id=baseline.pk, author=editor)
    page.refresh_from_db()
    assert page.body == "" and page.generated  # the generated part is no revision's business


def test_saving_over_someone_elses_change_is_refused(client, editor):
    page = comparison(editor)
    seen = selectors.latest_revision(page).pk
    other = make_user("otto", roles.ADMIN)
    services.update_page(page=page, author=other, body="- Stripes\n- Fins", base_revision=seen)
    with pytest.raises(services.EditConflict, match="otto changed this page"):
        services.update_page(page=page, author=editor, body="- Tail", base_revision=seen)
    client.force_login(editor)
    response = json_put(client, f"/api/guide/pages/{page.slug}/", {"body": "- Tail", "base_revision": seen})
    assert response.status_code == 409 and "otto changed this page" in response.json()["detail"]
    assert GuidePage.objects.get(pk=page.pk).body == "- Stripes\n- Fins"
    latest = selectors.latest_revision(page).pk
    response = json_put(client, f"/api/guide/pages/{page.slug}/", {"body": "- Tail", "base_revision": latest})
    assert response.status_code == 200 and response.json()["body"] == "- Tail"


# --- confusions and examples from the platform's predictions and verdicts ---------------------------

# tench: a, b, c, d (d's file is a dud: it gets flagged problematic); Chihuahua: e. Three models' top-1:
CONFUSION_PREDICTIONS = {
    "m1": f"filename,top1\na.JPEG,{GOLDFISH}\nb.JPEG,{GOLDFISH}\nc.JPEG,{GREAT_WHITE}\nd.JPEG,{TENCH}\n"
    f"e.JPEG,{JAPANESE_SPANIEL}\n",
    "m2": f"filename,top1\na.JPEG,{GOLDFISH}\nb.JPEG,{TENCH}\nc.JPEG,{GREAT_WHITE}\nd.JPEG,{TENCH}\n"
    f"e.JPEG,{JAPANESE_SPANIEL}\n",
    "m3": f"filename,top1\na.JPEG,{TIGER_SHARK}\nb.JPEG,{GREAT_WHITE}\nc.JPEG,{GREAT_WHITE}\nd.JPEG,{GOLDFISH}\n"
    f"e.JPEG,{GOLDFISH}\n",
}
CONFUSION_FILES = {
    TENCH: {"a.JPEG": (10, 120, 10), "b.JPEG": (10, 10, 120), "c.JPEG": (120, 10, 10), "d.JPEG": (90, 90, 90)},
    CHIHUAHUA: {"e.JPEG": (120, 120, 10)},
}


@pytest.fixture
def reviewed(image_folder, tmp_path, reviewer):
    """The dataset above with verdicts: goldfish wrong on a and b, great white wrong on c (three models),
    tiger shark wrong on a, goldfish correct on d (a goldfish is in it), great white on b unreviewed;
    wrong predictions on the Chihuahua image and a wrong original label do not count for tench."""
    dataset = build_dataset(
        image_folder, tmp_path, name="val", predictions=CONFUSION_PREDICTIONS, files=CONFUSION_FILES
    )

    def verdict(file_name, wnid, value):
        item = ReviewItem.objects.get(image__dataset=dataset, image__file_name=file_name, wnid=wnid)
        set_verdict(item_id=item.pk, reviewer=reviewer, value=value)

    for file_name, wnid, value in [
        ("a.JPEG", GOLDFISH, "wrong"),
        ("b.JPEG", GOLDFISH, "wrong"),
        ("c.JPEG", GREAT_WHITE, "wrong"),
        ("a.JPEG", TIGER_SHARK, "wrong"),
        ("d.JPEG", GOLDFISH, "correct"),
        ("e.JPEG", GOLDFISH, "wrong"),
        ("e.JPEG", JAPANESE_SPANIEL, "wrong"),
        ("c.JPEG", TENCH, "wrong"),
        ("b.JPEG", TENCH, "correct"),
    ]:
        verdict(file_name, wnid, value)
    set_problematic(image_id=Image.objects.get(file_name="d.JPEG").pk, reviewer=reviewer, reason="drawing")
    return dataset


def test_confused_with_counts_wrong_top1_predictions(reviewed):
    ids = [reviewed.pk]
    found = selectors.confusions(TENCH, dataset_ids=ids)
    assert [(c["wnid"], c["predictions"], c["images"]) for c in found] == [
        (GOLDFISH, 3, 2),  # m1+m2 on a, m1 on b
        (GREAT_WHITE, 3, 1),  # three models on c
        (TIGER_SHARK, 1, 1),
    ]
    assert found[0]["label"] == "goldfish" and found[0]["guide_url"] == f"/guide/wnid/{GOLDFISH}/"
    assert [c["wnid"] for c in selectors.confusions(CHIHUAHUA, dataset_ids=ids)] == [JAPANESE_SPANIEL, GOLDFISH]
    assert selectors.confusions(TENCH, dataset_ids=ids, limit=1)[0]["wnid"] == GOLDFISH
    assert selectors.confusions(GOLDFISH, dataset_ids=ids) == []


def test_class_page_shows_examples_confusions_and_comparisons(client, reviewed, editor, trainee):
    compare = comparison(editor, title="Tench vs goldfish", wnids=(TENCH, GOLDFISH))
    client.force_login(trainee)
    data = client.get(f"/api/guide/wnids/{TENCH}/").json()
    assert data["slug"] == TENCH and data["kind"] == "class" and data["wnids"] == [TENCH]
    images = data["examples"][0]["images"]
    # b first (label confirmed), then a; c's label was judged wrong, d is problematic.
    assert [image["file_name"] for image in images] == ["b.JPEG", "a.JPEG"]
    assert images[0]["confirmed"] and images[0]["url"] == f"/images/{images[0]['id']}/display"
    assert [c["wnid"] for c in data["confused_with"]] == [GOLDFISH, GREAT_WHITE, TIGER_SHARK]
    assert data["confused_with"][0]["comparison"] == {"slug": compare.slug, "title": "Tench vs goldfish"}
    assert data["confused_with"][1]["comparison"] is None
    assert data["related_pages"] == [
        {"slug": compare.slug, "title": "Tench vs goldfish", "kind": "comparison", "wnids": [TENCH, GOLDFISH]}
    ]
    assert "Tinca tinca" in data["html"] and data["can_edit"] is False

    html = client.get(f"/guide/{TENCH}/").content.decode()
    assert "Potentially confused with" in html
    assert f'href="/guide/wnid/{GOLDFISH}/" data-guide-wnid="{GOLDFISH}"' in html
    assert "3</strong> wrong predictions on 2 images" in html
    assert f'href="/images/{images[0]["id"]}/display"' in html
    assert "Compare: Tench vs goldfish" in html

    side_by_side = client.get(f"/guide/{compare.slug}/").content.decode()
    assert "The classes side by side" in side_by_side and "b.JPEG" in side_by_side


def test_examples_show_each_photo_once_where_datasets_share_files(client, image_folder, tmp_path, trainee):
    """Issue 13: the guide panel showed the same example photo twice (one file in two datasets)."""
    build_dataset(image_folder, tmp_path, name="val")
    build_dataset(image_folder, tmp_path, name="val-copy")  # the same files: the same sha256
    tench = Image.objects.filter(original_wnid=TENCH)
    assert tench.count() == 4 and tench.values("sha256").distinct().count() == 2
    client.force_login(trainee)
    images = client.get(f"/api/guide/wnids/{TENCH}/").json()["examples"][0]["images"]
    assert [(image["dataset"], image["file_name"]) for image in images] == [("val", "a.JPEG"), ("val", "b.JPEG")]
    # Where the copy's label is confirmed, the copy comes first, still once.
    copy = ReviewItem.objects.get(image__dataset__name="val-copy", image__file_name="b.JPEG", wnid=TENCH)
    set_verdict(item_id=copy.pk, reviewer=make_user("rita", roles.REVIEWER), value="correct")
    images = client.get(f"/api/guide/wnids/{TENCH}/").json()["examples"][0]["images"]
    assert [(image["dataset"], image["file_name"]) for image in images] == [("val-copy", "b.JPEG"), ("val", "a.JPEG")]


def test_guide_queries_can_use_indexes(reviewed):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output is PostgreSQL's")
    ids = [reviewed.pk]
    queries = [
        selectors.confusion_queryset(TENCH, dataset_ids=ids),
        selectors.example_images_queryset([TENCH, GOLDFISH], dataset_ids=ids),
        PageClass.objects.filter(wnid=TENCH),
        GuidePage.objects.filter(slug=TENCH),
    ]
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        for query in queries:
            # QuerySet.explain() breaks on the window filter of the examples: explain the compiled SQL.
            sql, params = query.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("SET enable_seqscan = on")
    for plan in plans:
        assert "Seq Scan" not in plan, plan
    assert "page_class_wnid" in plans[2]


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "can_read", "can_write"),
    [("anonymous", False, False), ("trainee", True, False), ("reviewer", True, False), ("guide_editor", True, True)]
    + [("admin", True, True), ("superuser", True, True)],
)
def test_permissions(client, editor, who, can_read, can_write):
    page = comparison(editor)
    if who == "superuser":
        client.force_login(User.objects.create_superuser("root", password="x"))
    elif who != "anonymous":
        client.force_login(make_user(f"user-{who}", who))

    reads = [
        f"/api/guide/pages/{page.slug}/",
        "/api/guide/pages/?q=shark",
        f"/api/guide/wnids/{TIGER_SHARK}/",
        f"/api/guide/pages/{page.slug}/revisions/",
    ]
    for url in reads:
        assert client.get(url).status_code == (200 if can_read else 401), url
    for url in ["/guide/", f"/guide/{page.slug}/", f"/guide/{page.slug}/history/", "/guide/classes/"]:
        assert client.get(url).status_code == (200 if can_read else 302), url
    if can_read:
        assert (b'data-testid="edit-page"' in client.get(f"/guide/{page.slug}/").content) == can_write
    for url in [f"/guide/{page.slug}/edit/", "/guide/new/"]:
        assert client.get(url).status_code == (200 if can_write else 403 if can_read else 302), url

    denied = 403 if can_read else 401
    revision = selectors.latest_revision(page).pk
    writes = [
        json_put(client, f"/api/guide/pages/{page.slug}/", {"body": f"- by {who}"}),
        json_post(client, "/api/guide/pages/", {"title": f"New by {who}", "wnids": [TENCH, GOLDFISH]}),
        json_post(client, "/api/guide/preview/", {"body": "**x**"}),
        upload(client, page, "sketch.png", png_bytes()),
        client.post(f"/api/guide/pages/{page.slug}/revisions/{revision}/restore/"),
    ]
    expected = [200, 201, 200, 201, 201] if can_write else [denied] * 5
    assert [response.status_code for response in writes] == expected
    if can_write:
        assert writes[2].json() == {"html": "<p><strong>x</strong></p>\n"}
    else:
        assert GuidePage.objects.get(pk=page.pk).body == "- Stripes"
        assert not Attachment.objects.exists()


def test_edit_link_only_for_editors(client, editor, trainee):
    page = comparison(editor)
    client.force_login(trainee)
    assert b'data-testid="edit-page"' not in client.get(f"/guide/{page.slug}/").content
    assert b'data-testid="new-page"' not in client.get("/guide/").content
    client.force_login(editor)
    assert b'data-testid="edit-page"' in client.get(f"/guide/{page.slug}/").content
    assert b'data-testid="new-page"' in client.get("/guide/").content


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "  ", "wnids": [TENCH, GOLDFISH]}, "title", "give the page a title"),
        ({"title": "x" * 201, "wnids": [TENCH, GOLDFISH]}, "title", "at most 200"),
        ({"title": "A", "wnids": [TENCH, "n99999999"]}, "wnids", "'n99999999' is not a WordNet synset"),
        ({"title": "A", "wnids": [TENCH, "tench"]}, "wnids", "'tench' is not a WordNet synset"),
        ({"title": "A", "wnids": [TENCH, SHARK_CATEGORY]}, "wnids", "(shark) is a category"),
        ({"title": "A", "wnids": [TENCH]}, "wnids", "at least two classes"),
        ({"title": "A", "wnids": [TENCH, TENCH]}, "wnids", "at least two classes"),
        ({"title": "A", "wnids": {"a": 1}}, "wnids", "list of wnids"),
        ({"title": "A", "wnids": [TENCH, GOLDFISH], "body": "é" * 110_000}, "body", "at most 200 KB"),
        ({"title": "A", "wnids": [TENCH, GOLDFISH], "kind": "class"}, "kind", "not a valid choice"),
    ],
)
def test_bad_input_is_named(client, editor, data, field, message):
    client.force_login(editor)
    response = json_post(client, "/api/guide/pages/", data)
    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert not GuidePage.objects.exclude(kind=PageKind.CLASS).exists()


def test_class_page_edits_keep_its_class(client, editor):
    client.force_login(editor)
    url = f"/api/guide/pages/{TENCH}/"
    response = json_put(client, url, {"wnids": [TENCH, GOLDFISH]})
    assert response.status_code == 400 and "its own class only (n01440764)" in response.json()["wnids"]
    response = json_put(client, url, {"wnids": f"{TENCH}", "body": "Olive-green, barbels at the mouth."})
    assert response.status_code == 200 and response.json()["wnids"] == [TENCH]
    assert json_put(client, "/api/guide/pages/no-such-page/", {"body": "x"}).status_code == 404


def test_new_pages_get_free_slugs_that_are_no_paths(editor):
    first = comparison(editor, title="Tiger shark vs Great white!")
    second = comparison(editor, title="Tiger shark vs great white")
    reserved = services.create_page(author=editor, title="New", kind=PageKind.GENERAL)
    looks_like_wnid = services.create_page(author=editor, title=GOLDFISH, kind=PageKind.GENERAL)
    assert (first.slug, second.slug) == ("tiger-shark-vs-great-white", "tiger-shark-vs-great-white-2")
    assert reserved.slug == "new-page" and looks_like_wnid.slug == f"{GOLDFISH}-page"
    assert list(first.classes.values_list("wnid", flat=True)) == [GREAT_WHITE, TIGER_SHARK]


# --- attachments ---------------------------------------------------------------------------------


def upload(client, page, name, data, content_type="image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/api/guide/pages/{page.slug}/attachments/", {"file": SimpleUploadedFile(name, data, content_type)}
    )


def test_attachment_upload_stores_checked_images_under_their_checksum(client, editor, trainee):
    page = comparison(editor)
    client.force_login(editor)
    response = upload(client, page, "../../Tiger shark sketch.jpg", png_bytes())  # a PNG, whatever its name
    assert response.status_code == 201
    data = response.json()
    attachment = Attachment.objects.get()
    assert data["url"] == f"/guide/attachments/{attachment.pk}/"
    assert data["markdown"] == f"![Tiger shark sketch]({data['url']})"
    assert (data["content_type"], data["width"], data["height"]) == ("image/png", 40, 30)
    assert attachment.file.name == f"guide/{attachment.sha256[:2]}/{attachment.sha256}.png"
    assert attachment.name == "Tiger_shark_sketch.jpg"

    client.force_login(trainee)
    served = client.get(data["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"] == 'inline; filename="Tiger_shark_sketch.jpg"'
    assert "sandbox" in served["Content-Security-Policy"]
    assert served.content == png_bytes()
    client.logout()
    assert client.get(data["url"]).status_code == 302


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", b"just some text"),
        ("sketch.jpg", b"<html><script>alert(1)</script></html>"),
        ("sketch.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'),
        ("cut.jpg", jpeg_bytes()[:200]),
        ("empty.jpg", b""),
    ],
)
def test_attachment_upload_refuses_what_is_no_complete_image(client, editor, name, data):
    page = comparison(editor)
    client.force_login(editor)
    response = upload(client, page, name, data)
    assert response.status_code == 400
    message = response.json()["file"]
    message = " ".join(message) if isinstance(message, list) else message
    assert "refused" in message or "empty" in message
    assert not Attachment.objects.exists()


def test_attachment_upload_refuses_formats_browsers_do_not_show(client, editor):
    page = comparison(editor)
    client.force_login(editor)
    out = io.BytesIO()
    PILImage.new("RGB", (8, 8)).save(out, "TIFF")
    response = upload(client, page, "scan.tif", out.getvalue(), "image/tiff")
    assert response.status_code == 400 and "upload a JPEG, PNG, WebP or GIF" in response.json()["file"]
    assert client.post(f"/api/guide/pages/{page.slug}/attachments/", {}).status_code == 400


# --- search --------------------------------------------------------------------------------------


def test_search_ranks_title_matches_first(client, editor, trainee):
    vs = comparison(editor, title="Great white shark vs tiger shark", wnids=(GREAT_WHITE, TIGER_SHARK))
    services.create_page(
        author=editor, title="Sharks in general", body="Tiger sharks have vertical stripes.", kind="general"
    )
    client.force_login(trainee)

    def slugs(query):
        return [result["slug"] for result in client.get("/api/guide/pages/", {"q": query}).json()]

    found = slugs("tiger shark")
    assert found[:2] == [TIGER_SHARK, vs.slug]  # title equal, then title holding the query
    assert found.index("sharks-in-general") > 1  # in the text only
    assert slugs(TIGER_SHARK)[:2] == [TIGER_SHARK, vs.slug]  # the class page of a wnid, then pages about it
    assert slugs("VERTICAL stripes") == ["sharks-in-general"]
    assert slugs("Carcharodon")[0] == GREAT_WHITE  # WordNet synonyms of the generated part
    assert slugs("qwertyuiop") == []
    result = client.get("/api/guide/pages/", {"q": "vertical"}).json()[0]
    assert "vertical stripes" in result["snippet"] and result["url"] == "/guide/sharks-in-general/"
    listing = client.get("/api/guide/pages/").json()  # without q: the comparison and general pages
    assert [page["slug"] for page in listing] == [vs.slug, "sharks-in-general"]
    html = client.get("/guide/", {"q": "tiger shark"}).content.decode()
    assert html.index(f'data-slug="{TIGER_SHARK}"') < html.index(f'data-slug="{vs.slug}"')


# --- query counts, admin -------------------------------------------------------------------------


def test_guide_paths_use_a_fixed_number_of_queries(client, reviewed, editor, django_assert_max_num_queries):
    compare = comparison(editor, title="Tench vs goldfish", wnids=(TENCH, GOLDFISH))
    services.update_page(page=GuidePage.objects.get(slug=TENCH), author=editor, body="Barbels.")
    client.force_login(editor)
    for url, most in [
        (f"/guide/{TENCH}/", 11),
        (f"/guide/{compare.slug}/", 11),
        (f"/api/guide/wnids/{TENCH}/", 12),
        (f"/api/guide/pages/{compare.slug}/", 11),
        (f"/guide/{TENCH}/history/", 7),
        (f"/guide/{TENCH}/edit/", 7),
        ("/guide/", 8),
        ("/api/guide/pages/?q=tench", 5),
        ("/guide/classes/", 4),
    ]:
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200, url
    with django_assert_max_num_queries(20):
        response = json_put(
            client, f"/api/guide/pages/{compare.slug}/", {"body": "- Colour", "wnids": [GOLDFISH, TENCH]}
        )
    assert response.status_code == 200


GUIDE_MODELS = [model for model in admin.site._registry if model._meta.app_label == "labelguide"]


def test_every_guide_model_is_in_the_admin():
    from django.apps import apps

    assert set(apps.get_app_config("labelguide").get_models()) == set(GUIDE_MODELS)


@pytest.mark.parametrize("model", GUIDE_MODELS, ids=lambda m: m.__name__)
def test_guide_admin_changelists_load(client, editor, model):
    page = comparison(editor)
    services.add_attachment(page=page, data=png_bytes(), name="a.png", uploaded_by=editor)
    client.force_login(User.objects.create_superuser("root", password="x"))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200
    assert Dataset.objects.count() == 0


def test_the_admin_deletes_a_page_with_its_classes_and_revisions(client, editor):
    page = comparison(editor)
    services.update_page(page=page, author=editor, body="- Stripes\n- Snout")
    client.force_login(User.objects.create_superuser("root", password="x"))
    response = client.post(reverse("admin:labelguide_guidepage_delete", args=[page.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not GuidePage.objects.filter(pk=page.pk).exists()
    assert not PageClass.objects.filter(page_id=page.pk).exists()
    assert not Revision.objects.filter(page_id=page.pk).exists()
    revision = services.update_page(page=GuidePage.objects.get(slug=TENCH), author=editor, body="Barbels.")
    # On its own a revision stays read-only.
    assert (
        client.post(reverse("admin:labelguide_revision_delete", args=[revision.pk]), {"post": "yes"}).status_code == 403
    )


def test_search_ranks_whole_words_of_titles_first_and_forgives_a_typo(client, editor, trainee):
    services.create_page(author=editor, title="Catamarans and their sails", body="Two hulls.", kind="general")
    services.create_page(author=editor, title="When a cat is a tabby", body="Stripes and an M.", kind="general")
    client.force_login(trainee)

    def titles(query):
        return [result["title"] for result in client.get("/api/guide/pages/", {"q": query}).json()]

    found = titles("cat")
    # Titles holding the word (the cat classes' pages among them) before titles that only start with it.
    assert found.index("When a cat is a tabby") < found.index("Catamarans and their sails")
    assert found.index("Egyptian cat") < found.index("catamaran")
    assert "When a cat is a tabby" in titles("tabbby")  # one letter too many
    assert titles("zzzzqqq") == []
