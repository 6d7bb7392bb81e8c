"""The agreement page laid out in Chromium at the sizes people use: the reviewers table within its card (names on
one line, the last column visible), the kappa table clear of its footnote, and a chart of one day readable."""

import pytest

from accounts import roles
from annotate import labelling
from annotate.models import ReviewItem
from annotate.services import set_verdict
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user
from tests.test_agreement import DAY, VOTES

pytestmark = [pytest.mark.browser, BROWSER_DB]

VIEWPORTS = [{"width": 1440, "height": 900}, {"width": 1280, "height": 800}]
# Long names as people pick them, and enough reviewers to fill the kappa matrix.
LONG_NAMES = ["margarethe.vonderheide", "christopher.oyelaran", "anna-katharina.wolff", "rev4", "rev5", "rev6"]

# Each element's box and its card's, the overflow of its scroll wrapper, and the lines each name cell takes.
GEOMETRY = """
selector => {
  const table = document.querySelector(selector);
  const box = (node) => node.getBoundingClientRect().toJSON();
  const wrap = table.closest('.table-wrap');
  const lines = (cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
  };
  return {
    table: box(table),
    card: box(table.closest('.card')),
    lastHeader: box(table.tHead.rows[0].cells[table.tHead.rows[0].cells.length - 1]),
    lastRow: box(table.tBodies[0].rows[table.tBodies[0].rows.length - 1]),
    overflow: wrap.scrollWidth - wrap.clientWidth,
    nameLines: [...table.tBodies[0].rows].map((row) => lines(row.cells[0])),
  };
}
"""


@pytest.fixture
def voted_in_one_day(db, image_folder, tmp_path):
    """VOTES (majority of three) by three reviewers with long names, all on one day, and three more reviewers who
    vote on every item that day."""
    dataset = build_dataset(image_folder, tmp_path)
    labelling.set_policy(dataset=dataset, rule="majority", overlap=3)
    reviewers = [make_user(name, roles.REVIEWER) for name in LONG_NAMES]
    items = list(ReviewItem.objects.filter(dataset=dataset).order_by("pk"))
    for item, verdicts in zip(items, VOTES, strict=False):
        for reviewer, value in zip(reviewers[:3], verdicts, strict=True):
            if value:
                set_verdict(item_id=item.pk, reviewer=reviewer, value=value, at=DAY)
    for reviewer in reviewers[3:]:
        for item in items:
            set_verdict(item_id=item.pk, reviewer=reviewer, value="correct", at=DAY)
    return dataset


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda size: f"{size['width']}x{size['height']}")
def test_agreement_tables_fit_their_cards_and_one_day_reads_as_a_labelled_bar(
    logged_in_page, voted_in_one_day, viewport
):
    page = logged_in_page(make_user("adam", roles.ADMIN))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_viewport_size(viewport)
    page.goto(f"/datasets/{DATASET}/agreement/")

    reviewers = page.evaluate(GEOMETRY, "[data-testid=reviewer-stats]")
    assert reviewers["overflow"] <= 0, "the reviewers table scrolls inside its card"
    assert reviewers["table"]["right"] <= reviewers["card"]["right"] + 0.5
    assert reviewers["lastHeader"]["right"] <= reviewers["card"]["right"] + 0.5, "the last column is cut off"
    assert reviewers["nameLines"] == [1] * len(LONG_NAMES), "a reviewer's name wraps"

    kappas = page.evaluate(GEOMETRY, "[data-testid=kappa-matrix]")
    assert kappas["overflow"] <= 0 and kappas["table"]["right"] <= kappas["card"]["right"] + 0.5
    note = page.locator("[data-testid=kappa-note]").bounding_box()
    assert note["y"] >= kappas["lastRow"]["bottom"], "the footnote overlaps the kappa table's last row"
    assert note["y"] + note["height"] <= kappas["card"]["bottom"]

    chart = page.locator("[data-line-chart]")
    bar = chart.locator("rect.line-chart__bar")
    assert bar.count() == 1
    assert "All reviewers, Mar 2, 2026: " in bar.locator("title").text_content()
    value = chart.locator("text.line-chart__value")
    assert value.count() == 1 and value.text_content().endswith("%")
    bar_box, value_box = bar.bounding_box(), value.bounding_box()
    assert bar_box["height"] > 20 and bar_box["width"] > 20, "one day is drawn as a lone dot"
    assert bar_box["x"] <= value_box["x"] and value_box["x"] + value_box["width"] <= bar_box["x"] + bar_box["width"]
    assert chart.locator("text.line-chart__axis", has_text="Mar 2").count() == 1
    chart_note = page.locator("[data-testid=chart-note]")
    assert chart_note.inner_text().startswith("One day so far, Mar 2, 2026: All reviewers ")

    page.locator("[data-compare-reviewer]").select_option(LONG_NAMES[0])
    assert chart.locator("rect.line-chart__bar").count() == 2
    boxes = [chart.locator("text.line-chart__value").nth(index).bounding_box() for index in range(2)]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"], "the two bars' labels overlap"
    assert f"; {LONG_NAMES[0]} " in chart_note.inner_text()
    assert errors == []
