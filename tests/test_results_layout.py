"""Results and evaluation in Chromium at the sizes people use: model dots named (a hover title each, a label for the
best), human lines at one height all visible and named together, the way back from the API docs, the phase form's
fields aligned, and a phase over datasets that share files drawing each photo once."""

import pytest

from accounts import roles
from annotate.image_import import import_image_folder
from evaluation.models import Phase
from tests.conftest import BROWSER_DB, evaluation_people, make_user
from tests.test_phases import build_folder
from tests.test_results import closed_phase
from tests.test_results_pages import open_results
from tests.wnids import AIRLINER, TENCH

pytestmark = [pytest.mark.browser, BROWSER_DB]

VIEWPORTS = [{"width": 1440, "height": 900}, {"width": 1280, "height": 800}]
SIZES = pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda size: f"{size['width']}x{size['height']}")
MODELS = {"m-one", "m-two", "m-sim"}

# Per scatter plot: each model dot's hover title, the named labels with their boxes and the svg's box, and the
# reference lines with their dash patterns and the legend's names.
PLOT_MARKS = """
svg => ({
  svg: svg.getBoundingClientRect().toJSON(),
  titles: Object.fromEntries([...svg.querySelectorAll('g[data-series=models]')].map(
    (g) => [g.dataset.label, g.querySelector(':scope > title').textContent])),
  labels: [...svg.querySelectorAll('text[data-point-label]')].map(
    (t) => ({ name: t.dataset.pointLabel, text: t.textContent, box: t.getBoundingClientRect().toJSON() })),
  levels: [...svg.querySelectorAll('line[data-level-group]')].map((line) => ({
    name: line.dataset.label,
    group: Number(line.dataset.levelGroup),
    y: line.getAttribute('y1'),
    dash: `${line.getAttribute('stroke-dasharray')} @${line.getAttribute('stroke-dashoffset')}`,
    title: line.querySelector('title').textContent,
  })),
  legend: [...svg.querySelectorAll('[data-legend]')].map((g) => g.dataset.legend),
})
"""


def overlap(a, b):
    across = a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
    return across and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def inside(box, outer):
    return (
        box["x"] >= outer["x"]
        and box["y"] >= outer["y"]
        and box["x"] + box["width"] <= outer["x"] + outer["width"]
        and box["y"] + box["height"] <= outer["y"] + outer["height"]
    )


@SIZES
def test_model_dots_are_named_and_equal_human_lines_all_show(logged_in_page, tmp_path, viewport):
    people = evaluation_people()
    closed_phase(people, tmp_path)
    page = logged_in_page(people["rita"])
    page.set_viewport_size(viewport)
    errors = open_results(page)
    assert page.locator("#results-app").get_attribute("data-state") == "ready"

    for plot in ("top1", "top5", "datasets"):
        marks = page.locator(f'figure[data-plot="{plot}"] svg').evaluate(PLOT_MARKS)
        assert set(marks["titles"]) == MODELS, plot
        for name, title in marks["titles"].items():
            assert title.startswith(f"{name}: "), (plot, title)
        # The three models are the best three: each named once, on screen, clear of the others' names.
        assert sorted(label["text"] for label in marks["labels"]) == sorted(MODELS), plot
        boxes = [label["box"] for label in marks["labels"]]
        assert all(box["width"] > 0 and inside(box, marks["svg"]) for box in boxes), plot
        assert not any(overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), plot

    # Top-1 plot: Pat, the human majority vote and the model majority vote all at 87.5%: three lines at one
    # height, each with its own dashes, named together in the legend and in each line's title.
    marks = page.locator('figure[data-plot="top1"] svg').evaluate(PLOT_MARKS)
    same = [level for level in marks["levels"] if level["group"] == 3]
    names = {"human pat (phase 1)", "human majority vote", "model majority vote"}
    assert {level["name"] for level in same} == names
    assert len({level["y"] for level in same}) == 1 and len({level["dash"] for level in same}) == 3
    assert all(all(name in level["title"] for name in names) for level in same)
    together = [entry for entry in marks["legend"] if "human pat" in entry]
    assert len(together) == 1 and set(together[0].split(" = ")) == names
    assert "human paula (phase 1)" in marks["legend"]
    assert not errors


@SIZES
def test_the_api_docs_lead_back_to_the_app(logged_in_page, live_server, viewport):
    page = logged_in_page(make_user("rita", roles.REVIEWER))
    page.set_viewport_size(viewport)
    page.goto("/api/docs/")
    bar = page.locator("[data-testid=api-docs-bar]").bounding_box()
    back = page.get_by_role("link", name="Back to Relabel").bounding_box()
    assert bar["y"] == 0 and inside(back, bar)
    info = page.locator("#swagger-ui .info")
    info.wait_for()
    assert info.bounding_box()["y"] >= bar["y"] + bar["height"]  # Swagger UI draws below the bar
    page.get_by_role("link", name="Back to Relabel").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("nav").first.is_visible()


def field_tops(page, field):
    label = page.locator(f"label[for=id_{field}]").bounding_box()
    control = page.locator(f"#id_{field}").bounding_box()
    return label["y"], control["y"]


@SIZES
def test_the_phase_form_aligns_name_and_seed_and_draws_each_shared_photo_once(logged_in_page, tmp_path, viewport):
    """Two datasets that share four photos: asking for all five distinct photos works, asking for six names the
    problem; Name and Seed sit side by side at the same height."""
    shared = build_folder(tmp_path / "shared", {TENCH: [f"t{i}.JPEG" for i in range(4)]})
    import_image_folder(dataset_name="inet", directory=shared)
    import_image_folder(dataset_name="v2", directory=shared)
    import_image_folder(dataset_name="v2", directory=build_folder(tmp_path / "own", {AIRLINER: ["own.JPEG"]}))
    make_user("pat", roles.TRAINEE)
    page = logged_in_page(make_user("ada", roles.ADMIN))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size(viewport)
    page.goto("/evaluation/")
    assert field_tops(page, "name") == field_tops(page, "seed")

    page.fill("#id_name", "shared files")
    page.fill("[data-testid=count-inet]", "4")
    page.fill("[data-testid=count-v2]", "2")
    page.check("input[name=participants][value=pat]")
    page.click("[data-testid=create-phase]")
    error = page.locator("[data-testid=form-error]")
    assert "'v2' has 1 images with files to draw from" in error.inner_text() and "fewer than 2" in error.inner_text()
    assert field_tops(page, "name") == field_tops(page, "seed")

    page.fill("[data-testid=count-v2]", "1")
    page.click("[data-testid=create-phase]")
    page.wait_for_url("**/evaluation/phases/*/")
    phase = Phase.objects.get(name="shared files")
    files = list(phase.images.values_list("image__sha256", flat=True))
    assert len(files) == len(set(files)) == 5
    assert not errors
