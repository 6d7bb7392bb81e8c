"""The results page in Chromium: the leaderboard (sorting, filters), the plots and their SVG and PNG downloads,
the CSV download, the humans' table, the mistake analysis, the empty states, and the plot module's numbers."""

import re

import pytest

from accounts import roles
from evaluation import scoring, services
from tests.conftest import BROWSER_DB, evaluation_people, make_user
from tests.test_phase_pages import screenshot
from tests.test_phases import build_datasets
from tests.test_results import closed_phase, import_models

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def open_results(page, query=""):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/evaluation/results/{query}")
    page.wait_for_function("document.getElementById('results-app').dataset.state !== 'loading'")
    return errors


def leaderboard(page):
    """[(predictor, figure on the reference dataset)] in the order shown."""
    rows = page.locator("[data-testid=leaderboard] tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.predictor, r.querySelector('[data-figure=reference]').textContent])"
    )
    return [tuple(row) for row in rows]


def downloaded(page, click):
    with page.expect_download() as info:
        click()
    download = info.value
    with open(download.path(), "rb") as handle:
        return download.suggested_filename, handle.read()


@BROWSER_DB
def test_the_results_page_shows_the_scores_after_review(logged_in_page, tmp_path):
    people = evaluation_people()
    closed_phase(people, tmp_path)
    page = logged_in_page(people["rita"])
    errors = open_results(page)
    assert page.locator("#results-app").get_attribute("data-state") == "ready"
    assert page.locator("[data-testid=nothing-reviewed]").is_hidden()
    assert re.fullmatch(r"Figures from \d+ s ago", page.locator("[data-testid=results-age]").inner_text())

    # Sorted by the reference figure, best first: ties by name.
    rows = leaderboard(page)
    assert rows[:2] == [("human majority vote", "87.5"), ("human pat (phase 1)", "87.5")] and len(rows) == 7
    figures = dict(rows)
    assert figures["m-sim"] == "75.0" and figures["model majority vote"] == "87.5"
    sim = page.locator('[data-testid=leaderboard] tr[data-predictor="m-sim"]')
    assert "simulated" in sim.inner_text() and "does not vote" in sim.inner_text()
    assert "2 models not marked simulated or random weights vote" in page.locator("#vote-note").inner_text()
    page.get_by_role("button", name="Predictor").click()
    assert [name for name, _ in leaderboard(page)][:3] == [
        "human majority vote",
        "human pat (phase 1)",
        "human paula (phase 1)",
    ]
    page.get_by_role("button", name="Predictor").click()
    assert leaderboard(page)[0][0] == "model majority vote"
    page.fill("[data-testid=name-filter]", "m-")
    assert [name for name, _ in leaderboard(page)] == ["m-two", "m-sim", "m-one"]
    page.fill("[data-testid=name-filter]", "")
    page.uncheck("input[name=kind][value=model]")
    assert {name for name, _ in leaderboard(page)} == {
        "human pat (phase 1)",
        "human paula (phase 1)",
        "human majority vote",
        "model majority vote",
    }
    page.check("input[name=kind][value=model]")
    page.select_option("[data-testid=metric-select]", "top1")
    assert dict(leaderboard(page)) == {"m-one": "87.5", "m-two": "87.5", "m-sim": "75.0"}  # models only
    page.select_option("[data-testid=metric-select]", "multilabel")

    # The plots: models against top-1 and top-5, datasets against each other with y = x and the fit, splits.
    plots = page.locator("[data-testid=plots] figure")
    assert plots.evaluate_all("figures => figures.map(f => f.dataset.plot)") == ["top1", "top5", "datasets", "splits"]
    top1 = page.locator('figure[data-plot="top1"] svg')
    assert top1.locator('g[data-series="models"]').count() == 3
    assert top1.locator('line[data-label="human pat (phase 1)"]').count() == 1
    across = page.locator('figure[data-plot="datasets"] svg')
    assert (
        across.locator('line[data-line="fit"]').count() == 1
        and across.locator('line[data-line="identity"]').count() == 1
    )
    assert page.locator('figure[data-plot="splits"] svg g[data-group="organisms"]').count() > 0
    name, svg = downloaded(page, lambda: page.locator('figure[data-plot="top1"] [data-download=svg]').click())
    assert name == "top1-inet-all.svg" and b"<svg" in svg and b"m-one" in svg
    name, png = downloaded(page, lambda: page.locator('figure[data-plot="datasets"] [data-download=png]').click())
    assert name == "datasets-inet-v2-all.png" and png.startswith(PNG_SIGNATURE) and len(png) > 5000

    # The CSV download of every row.
    name, csv_bytes = downloaded(page, lambda: page.locator("[data-testid=download-csv]").click())
    lines = csv_bytes.decode().splitlines()
    assert name == "scores.csv" and lines[0] == ",".join(scoring.ROW_KEYS) and len(lines) > 100

    # Humans: Paula had seen one image, answered right.
    paula = page.locator('[data-testid=humans-table] tr[data-predictor="human paula (phase 1)"][data-dataset="inet"]')
    assert "100.0 (1)" in paula.inner_text()

    # Mistakes: a0 for every model, every human and both.
    assert page.locator("#mistake-tabs label").all_inner_texts() == ["Every model (1)", "Every human (1)", "Both (1)"]
    card = page.locator("[data-testid=mistakes] > li")
    assert card.count() == 1 and "a0.JPEG" in card.inner_text() and "airliner" in card.inner_text()
    page.locator("#mistake-tabs label", has_text="Every human").click()
    assert "canoe ×1" in page.locator("[data-testid=mistakes] > li").inner_text()
    assert page.locator("[data-testid=mistakes] img").evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "results")
    assert not errors


@BROWSER_DB
def test_the_results_page_says_what_is_missing(logged_in_page, tmp_path):
    people = evaluation_people()
    build_datasets(tmp_path)
    page = logged_in_page(people["rita"])
    errors = open_results(page)
    assert page.locator("[data-testid=no-scores]").is_visible()

    import_models(tmp_path)
    open_results(page)
    assert page.locator("[data-testid=nothing-reviewed]").is_visible()
    assert "0.0–100.0" in dict(leaderboard(page)).get("m-one", "")
    assert page.locator("[data-testid=humans-empty]").is_visible()
    assert page.locator("#mistakes-caption").inner_text().startswith("Nothing reviewed yet")

    # A participant of an open phase finds results closed.
    services.open_phase(services.create_phase(name="open", datasets={"inet": 1}, participants=["pat"]))
    pat = logged_in_page(people["pat"])
    response = pat.goto("/evaluation/results/")
    assert response.status == 403 and pat.locator("[data-testid=results-closed]").is_visible()
    assert not errors


@BROWSER_DB
def test_the_plot_module_numbers(logged_in_page, tmp_path):
    page = logged_in_page(make_user("rita", roles.REVIEWER))
    page.goto("/evaluation/")
    found = page.evaluate(
        """async () => {
            const plot = await import('/static/frontend/plot.js');
            return {
                exact: plot.linearFit([{x: 0, y: 1}, {x: 1, y: 3}, {x: 2, y: 5}]),
                noisy: plot.linearFit([{x: 0.5, y: 0.4}, {x: 0.6, y: 0.45}, {x: 0.7, y: 0.61}, {x: 0.8, y: 0.66}]),
                flat: plot.linearFit([{x: 0.5, y: 0.4}, {x: 0.5, y: 0.6}]),
                ticks: plot.ticks(0.55, 0.95),
                domain: plot.fractionDomain([0.61, 0.92]),
                middle: plot.position({value: null, lower: 0.2, upper: 0.6}),
            };
        }"""
    )
    assert found["exact"] == {"slope": 2, "intercept": 1}
    # Least squares by hand: mean x 0.65, mean y 0.53; sxy = 0.047, sxx = 0.05.
    assert found["noisy"]["slope"] == pytest.approx(0.047 / 0.05)
    assert found["noisy"]["intercept"] == pytest.approx(0.53 - 0.047 / 0.05 * 0.65)
    assert found["flat"] is None
    assert found["ticks"] == pytest.approx([0.6, 0.7, 0.8, 0.9])
    assert found["domain"] == pytest.approx([0.55, 0.95])  # 2 points of margin, out to 5 points
    assert found["middle"] == pytest.approx({"at": 0.4, "low": 0.2, "high": 0.6, "bounded": True})
