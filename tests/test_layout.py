"""Every page a person uses, as each role that may open it (docs/access.md), at 1280x800 and 1440x900, on the
demo with an evaluation phase closed and one open: no table or chart reaches outside its card, no two pieces of
text overlap, and the console shows no error."""

import random

import pytest
from django.contrib.auth.models import User

from accounts import roles
from annotate import jobs
from annotate.demo import DEMO_DATASET, SIMULATED_MODELS
from annotate.models import Image
from consensus.demo import CROWD_DATASET
from demo.services import build_demo
from evaluation import services as phases
from evaluation.models import Participant
from labelguide.models import GuidePage
from tests.api_world import answered_and_sampled
from tests.conftest import BROWSER_DB, jpeg_bytes, make_user
from tests.test_access import ROWS
from testsets import services as testset_services
from testsets.frequency_tasks import create_frequency_tasks
from testsets.models import FrequencyTask
from training.demo import DEMO_TRAINING_TASK
from training.models import TrainingTask

pytestmark = BROWSER_DB

VIEWPORTS = ({"width": 1280, "height": 800}, {"width": 1440, "height": 900})
ROLE_COLUMNS = {"trainee": "trainee", "reviewer": "reviewer", "editor": "guide editor", "admin": "admin"}
# Files and redirects are no pages to lay out.
NOT_PAGES = ("/display", "/original", "/attachments/", ".jpg", "/wnid/", "/login/")
CROWD_PAGES = ("/consensus/", "/adjudication/", "/agreement/", "/golden/")

# Boxes of text that overlap, tables and charts wider than their card: found in the page, with what they are.
LAYOUT_PROBLEMS = """() => {
  const visible = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}` +
    `${el.classList.length ? "." + [...el.classList].join(".") : ""} "${(el.textContent || "").trim().slice(0, 40)}"`;
  const problems = [];
  for (const card of document.querySelectorAll(".card")) {
    if (!visible(card)) continue;
    const box = card.getBoundingClientRect();
    for (const wide of card.querySelectorAll("table, svg, canvas")) {
      if (!visible(wide) || wide.closest("svg") !== wide && wide.tagName.toLowerCase() === "svg") continue;
      const r = wide.getBoundingClientRect();
      if (r.width && (r.right > box.right + 1 || r.left < box.left - 1)) {
        problems.push(`${describe(wide)} reaches outside its card ${describe(card)}: ` +
          `${Math.round(r.left)}-${Math.round(r.right)} in ${Math.round(box.left)}-${Math.round(box.right)}`);
      }
    }
  }
  // What of a box of text shows: ancestors that hide their overflow (an ellipsis, a scrolling table) cut it.
  const clipped = (line, el) => {
    let r = {left: line.left, right: line.right, top: line.top, bottom: line.bottom};
    for (let up = el; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      const box = up.getBoundingClientRect();
      if (style.overflowX !== "visible") {
        r = {...r, left: Math.max(r.left, box.left), right: Math.min(r.right, box.right)};
      }
      if (style.overflowY !== "visible") {
        r = {...r, top: Math.max(r.top, box.top), bottom: Math.min(r.bottom, box.bottom)};
      }
    }
    return r;
  };
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    const hidden = ".skip-link, .sr-only, script, style, title, option";  // visually hidden on purpose
    if (!node.textContent.trim() || !el || !visible(el) || el.closest(hidden)) {
      continue;
    }
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const line of range.getClientRects()) {
      const r = clipped(line, el);
      if (r.right - r.left > 1 && r.bottom - r.top > 1) boxes.push({r, el});
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.el === b.el || a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 2 && h > 2) problems.push(`text ${describe(a.el)} overlaps ${describe(b.el)}`);
    }
  }
  return [...new Set(problems)];
}"""


@pytest.fixture
def world(tmp_path):
    """The demo, a guide editor, a queued prediction job, a phase closed with answers and one open, and a new test set
    with selection-frequency tasks of 48 images, one of them answered, and a revision sampled."""
    build_demo()
    people = {name: User.objects.get(username=name) for name in ("admin", "reviewer", "trainee")}
    people["editor"] = make_user("editor", roles.GUIDE_EDITOR)
    job = jobs.start_prediction_job(
        architecture="resnet18", weights="none", dataset_name=DEMO_DATASET, enqueue=lambda job_id, shard_ids: None
    )
    closed = phases.open_phase(
        phases.create_phase(name="closed phase", datasets={DEMO_DATASET: 6}, participants=["reviewer", "trainee"])
    )
    rng = random.Random(5)
    for participant in Participant.objects.filter(phase=closed):
        while item := phases.start_next_image(phase=closed, participant=participant):
            wnid = item.phase_image.image.original_wnid if rng.random() < 0.7 else "n01440764"
            phases.record_answer(phase=closed, participant=participant, token=item.phase_image.token, wnid=wnid)
    phases.close_phase(closed)
    opened = phases.open_phase(
        phases.create_phase(name="open phase", datasets={DEMO_DATASET: 4}, participants=["reviewer", "trainee"])
    )
    testset_services.create_testset(name="fresh", reference_name=DEMO_DATASET)
    wnid = Image.objects.filter(dataset__name=DEMO_DATASET).order_by("pk").first().original_wnid
    pool = tmp_path / "pool" / wnid
    pool.mkdir(parents=True)
    for index in range(48):
        (pool / f"c{index:02}.jpg").write_bytes(jpeg_bytes((5 * index, 250 - 5 * index, 120), size=(120, 80)))
    testset_services.import_candidates(testset_name="fresh", directory=pool.parent)
    create_frequency_tasks(testset_name="fresh", min_reference=0)
    testset_revision = answered_and_sampled(FrequencyTask.objects.filter(testset__name="fresh").order_by("pk").first())
    return people, {
        "dataset": DEMO_DATASET,
        "job": job.pk,
        "model": SIMULATED_MODELS[0],
        "page": GuidePage.objects.order_by("pk").first().slug,
        "task": TrainingTask.objects.get(name=DEMO_TRAINING_TASK).pk,
        "phase": opened.pk,
        "other_trainee": people["trainee"].username,
        "image": Image.objects.order_by("pk").first().pk,
        "testset": "fresh",
        "wnid": wnid,
        "testset_revision": testset_revision,
    }


def pages_for(role, objects):
    """The pages of docs/access.md that the role may open, with their objects filled in."""
    for row in ROWS:
        path = row["path"]
        if row["method"] != "GET" or path.startswith(("/api/", "/admin/")) or any(p in path for p in NOT_PAGES):
            continue
        if row[ROLE_COLUMNS[role]] not in ("yes", "own"):
            continue
        if role != "admin" and path.startswith("/evaluation/phases/") and "/label/" not in path:
            continue  # participants are sent on to their labeling screen
        filled = path.format(**objects)
        if any(part in path for part in CROWD_PAGES):
            filled = filled.replace(f"/{DEMO_DATASET}/", f"/{CROWD_DATASET}/")
        yield filled


@pytest.mark.parametrize("role", ROLE_COLUMNS)
def test_every_page_fits_its_cards_without_overlaps_or_console_errors(browser, live_server, client, world, role):
    people, objects = world
    client.force_login(people[role])
    failures, errors = [], []
    for viewport in VIEWPORTS:
        context = browser.new_context(base_url=live_server.url, viewport=viewport, bypass_csp=True)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            for path in pages_for(role, objects):
                errors.clear()
                response = page.goto(path)
                page.wait_for_load_state("networkidle")
                where = f"{role} {viewport['width']}x{viewport['height']} {path}"
                if response.status != 200:
                    failures.append(f"{where}: status {response.status}")
                    continue
                failures += [f"{where}: {problem}" for problem in page.evaluate(LAYOUT_PROBLEMS)]
                failures += [f"{where}: console: {error}" for error in errors]
        finally:
            context.close()
    assert not failures, "\n".join(failures)
