"""The grid page's 48 task images painted in Debian's Chromium (Playwright), at ImageNetV2's scale (issue 15: within
1 s).

Runs on the database of bench/testset_grid_bench.py (building it first where it is missing: 222,600 candidates,
6,300 tasks, about 50,000 assignments). The candidates there are rows without files; this bench generates a JPEG
(noise over a colour gradient, 500x375 and three other sizes, 60-120 KB like a photo of that size) for every image
of the tasks its annotator will be handed (--steps + 2 tasks: about 100 images a task's 48 share with others aside)
and imports them as those images' files (import_images' path: checked, stored by checksum). MEDIA_ROOT is kept
between runs (--media), so a run with --keep-db finds the files of the run before.

Then it starts gunicorn (--workers, as the Docker image runs it), logs an annotator in through /login/, has each
worker serve the page a few times (a worker's first page loads the taxonomy) and opens /testsets/<name>/annotate/ in
1280x800 windows:

- first task, cold: --loads times, each in a new browser context (empty cache): once with the task images'
  server-side renditions (the letterboxed 500x375 JPEG, grid.task_jpeg) removed first, so that the server resizes
  all 48, and once with them kept; measured from navigation start;
- next task: --steps times in one page, as an annotator works: once the page has fetched the next task and its
  images ahead (and --think-ms later), a few images selected with the keyboard and Enter pressed; measured from the
  Enter key's event.

Painted: every <img> of the task's grid complete and decoded (img.decode()), then two animation frames, the first
frame with all of them on screen produced (an init script watches #grid-app's data-task; the page's own code is
unchanged). The grid is taller than the window: the images below the fold are loaded and decoded, not on screen.
Also reported: the server's own time (Server-Timing) of the first loads' page and task-image requests.

    .venv/bin/python bench/testset_grid_paint_bench.py [--keep-db] [--database-url URL] [--steps 20] [--loads 3]
        [--think-ms 300] [--workers 3] [--media DIR] [--json FILE]

Never runs `playwright install`: Chromium is /usr/bin/chromium.
"""

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np
import testset_grid_bench

ANNOTATOR = "bench-paint"
PASSWORD = "bench-paint-pw-1"
GOAL_MS = 1000.0
VIEWPORT = {"width": 1280, "height": 800}
SIZES = [(500, 375), (375, 500), (500, 333), (640, 480)]
RENDITIONS = "cache/task-images"

# Records, per task shown, when all its images were decoded and two frames later; and the Enter key's time.
INIT_SCRIPT = """
window.__bench = { painted: {}, enterAt: null };
window.addEventListener("keydown", (event) => {
  if (event.key === "Enter") window.__bench.enterAt = event.timeStamp;
}, true);
function watchTask(app) {
  const task = app.dataset.task;
  if (!task || task in window.__bench.painted) return;
  window.__bench.painted[task] = null;
  const shownAt = performance.now();
  const images = [...document.querySelectorAll("#task-grid img")];
  const loaded = images.map((img) => img.complete ? Promise.resolve() : new Promise((resolve) => {
    img.addEventListener("load", resolve, { once: true });
    img.addEventListener("error", resolve, { once: true });
  }));
  let loadedAt = null;
  Promise.all(loaded)
    .then(() => { loadedAt = performance.now(); })
    .then(() => Promise.all(images.map((img) => img.decode().catch(() => {}))))
    .then(() => requestAnimationFrame(() => requestAnimationFrame(() => {
      const navigation = performance.getEntriesByType("navigation")[0];
      window.__bench.painted[task] = {
        at: performance.now(),
        page: navigation ? navigation.responseEnd : null,
        shown: shownAt,
        loaded: loadedAt,
        images: images.length,
        broken: images.filter((img) => !img.naturalWidth).length,
      };
    })));
}
document.addEventListener("DOMContentLoaded", () => {
  const app = document.getElementById("grid-app");
  if (!app) return;
  new MutationObserver(() => watchTask(app)).observe(app, { attributes: true, attributeFilter: ["data-task"] });
  watchTask(app);
});
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", help="bench database (default: bench/testset_grid_bench.py's)")
    parser.add_argument("--keep-db", action="store_true", help="reuse the test set and its assignments if built")
    parser.add_argument("--steps", type=int, default=20, help="next tasks measured (default 20)")
    parser.add_argument("--loads", type=int, default=3, help="first-task page loads of each kind (default 3)")
    parser.add_argument("--think-ms", type=int, default=300, help="pause after the prefetch, before Enter")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as in the Dockerfile)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    parser.add_argument("--media", help="MEDIA_ROOT kept between runs (default: a folder named after the database)")
    parser.add_argument("--headed", action="store_true", help="show the browser (debugging)")
    return parser.parse_args()


# --- data -----------------------------------------------------------------------------------------------------


def photo_like_jpeg(rng, size):
    """A JPEG of `size` about as heavy as a photo: a colour gradient under noise."""
    from PIL import Image

    width, height = size
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    ramp = np.linspace(0, 1, width)[None, :, None]
    pixels = start + (end - start) * ramp + rng.normal(0, 18, (height, width, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def tasks_ahead(testset, user, count):
    """The tasks the annotator will be handed, in order: each the next with those before it skipped."""
    from testsets import grid

    handed = []
    while len(handed) < count:
        task, _ = grid.next_task(testset, user, handed)
        if task is None:
            break
        handed.append(task.pk)
    return handed


def attach_files(testset, tasks, work):
    """Generated files for the images of the tasks that have none (or whose file is gone from storage)."""
    from django.core.files.storage import default_storage

    from annotate.image_import import NO_FILE, import_image_folder
    from annotate.models import Image

    images = Image.objects.filter(pk__in=testset.tasks.filter(pk__in=tasks).values("images__image"))
    gone = [image.pk for image in images.exclude(file="") if not default_storage.exists(image.file.name)]
    Image.objects.filter(pk__in=gone).update(**NO_FILE)
    rng = np.random.default_rng(0)
    attached = 0
    for dataset in (testset.pool.name, testset.reference.name):
        folder = Path(work) / dataset
        for name, wnid in images.filter(dataset__name=dataset, file="").values_list("file_name", "original_wnid"):
            (folder / wnid).mkdir(parents=True, exist_ok=True)
            (folder / wnid / name).write_bytes(photo_like_jpeg(rng, SIZES[int(rng.integers(len(SIZES)))]))
        if folder.exists():
            report = import_image_folder(dataset_name=dataset, directory=folder)
            if report.failed:
                sys.exit(f"error: attaching files failed: {report.failed[:3]}")
            attached += report.attached
    return {"task_images": images.count(), "files_attached_now": attached}


def prepare(args, work):
    """The annotator (a password to log in with), their earlier answers removed, the files of their tasks."""
    from django.contrib.auth import get_user_model

    from accounts.services import annotator_accounts
    from testsets.selectors import testset_named

    if not (args.keep_db and testset_grid_bench.built()):
        testset_grid_bench.build({}, Path(work))
    testset_grid_bench.reset_web_answers()
    accounts, _ = annotator_accounts([ANNOTATOR])
    user = get_user_model().objects.get(pk=accounts[ANNOTATOR])
    user.set_password(PASSWORD)
    user.save()
    testset = testset_named(testset_grid_bench.TESTSET)
    tasks = tasks_ahead(testset, user, args.steps + 2)
    data = attach_files(testset, tasks, work)
    data["tasks_ahead"] = len(tasks)
    return testset.name, data


# --- browser --------------------------------------------------------------------------------------------------


def painted(page, task, timeout_ms=30_000):
    """The page's record of the task painted: {at, images, broken}."""
    page.wait_for_function(
        "(task) => window.__bench && window.__bench.painted[task]", arg=str(task), timeout=timeout_ms
    )
    return page.evaluate("(task) => window.__bench.painted[task]", str(task))


def current_task(page):
    return page.evaluate("document.getElementById('grid-app').dataset.task")


def server_ms(response):
    for part in (response.headers.get("server-timing") or "").split(","):
        name, _, params = part.strip().partition(";")
        if name == "app" and params.startswith("dur="):
            return float(params[4:])
    return None


def first_load(browser, base_url, state, path):
    """(ms from navigation start to the first task painted, its record, the server's ms per request by kind) in a
    new context, with an empty cache."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, bypass_csp=True, storage_state=state)
    context.add_init_script(INIT_SCRIPT)
    served = {"page": [], "task image": []}

    def record_server_time(response):
        kind = "task image" if "/task-images/" in response.url else "page" if response.url.endswith(path) else None
        if kind and server_ms(response) is not None:
            served[kind].append(server_ms(response))

    try:
        page = context.new_page()
        page.on("response", record_server_time)
        page.goto(path)
        page.wait_for_function("document.getElementById('grid-app').dataset.state === 'answering'")
        record = painted(page, current_task(page))
        return record["at"], record, served
    finally:
        context.close()


class Prefetches:
    """The next-task answers the page fetched ahead and the task images it finished loading."""

    def __init__(self, page):
        self.answers = {}
        self.finished = set()
        page.on("response", self._response)
        page.on("requestfinished", lambda request: self.finished.add(request.url.split("?")[0]))

    def _response(self, response):
        if "/tasks/next/?skip=" in response.url and response.status == 200:
            skipped = response.url.rsplit("skip=", 1)[1]
            self.answers[skipped] = response

    def wait(self, page, task, timeout_s=30):
        """The task fetched ahead of `task`, once all its images have loaded; None when none is left."""
        deadline = time.monotonic() + timeout_s
        while str(task) not in self.answers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no prefetch after task {task}")
            page.wait_for_timeout(10)
        upcoming = self.answers[str(task)].json()["task"]
        if upcoming is None:
            return None
        urls = [image["url"] for image in upcoming["images"]]
        while not all(any(done.endswith(url) for done in self.finished) for url in urls):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the images of task {upcoming['id']} did not load")
            page.wait_for_timeout(10)
        return upcoming["id"]


def run_browser(args, base_url, path):
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    renditions = Path(settings.MEDIA_ROOT) / RENDITIONS
    measured = {"first_cold_ms": [], "first_warm_ms": [], "next_ms": [], "broken_images": 0}
    milestones = {"cold": [], "warm": []}
    served = {"cold": {"page": [], "task image": []}, "warm": {"page": [], "task image": []}}
    with sync_playwright() as playwright:
        browser = benchlib.launch_chromium(playwright, args.headed)
        login = browser.new_context(base_url=base_url, viewport=VIEWPORT)
        page = login.new_page()
        page.goto("/login/")
        page.fill("#id_username", ANNOTATOR)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if "/login/" in page.url:
            raise RuntimeError("login failed")
        state = login.storage_state()
        # Each gunicorn worker's first page loads the taxonomy and the templates: not what an annotator waits for.
        for _ in range(4 * args.workers):
            login.request.get(path)
        login.close()

        for _ in range(args.loads):
            # Once the requests of the page before (its prefetch) are through, not under one writing a rendition.
            time.sleep(1)
            shutil.rmtree(renditions, ignore_errors=True)
            for kind in ("cold", "warm"):
                ms, record, times = first_load(browser, base_url, state, path)
                measured[f"first_{kind}_ms"].append(ms)
                measured["broken_images"] += record["broken"]
                milestones[kind].append(record)
                for request, values in times.items():
                    served[kind][request] += values

        context = browser.new_context(base_url=base_url, viewport=VIEWPORT, bypass_csp=True, storage_state=state)
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        page.set_default_timeout(30_000)
        prefetches = Prefetches(page)
        page.goto(path)
        page.wait_for_function("document.getElementById('grid-app').dataset.state === 'answering'")
        task = current_task(page)
        painted(page, task)
        for _ in range(args.steps):
            upcoming = prefetches.wait(page, task)
            if upcoming is None:
                print("no task left to measure", file=sys.stderr)
                break
            page.wait_for_timeout(args.think_ms)
            for key in ("Space", "l", "l", "Space", "j", "Space"):
                page.keyboard.press(key)
            page.keyboard.press("Enter")
            record = painted(page, upcoming)
            enter_at = page.evaluate("window.__bench.enterAt")
            measured["next_ms"].append(record["at"] - enter_at)
            measured["broken_images"] += record["broken"]
            task = str(upcoming)
        context.close()
        browser.close()
    # Median ms from navigation start to: the page received, the first task shown (the scripts ran), its images
    # loaded, painted.
    measured["first_load_milestones_ms"] = {
        kind: {
            milestone: statistics.median(record[milestone] for record in records)
            for milestone in ("page", "shown", "loaded", "at")
        }
        for kind, records in milestones.items()
        if records
    }
    measured["server_ms"] = {
        f"{request}, renditions {'made now' if kind == 'cold' else 'kept'}": benchlib.latency_summary(
            [ms / 1000 for ms in values]
        )
        | {"sum_per_load_ms": sum(values) / args.loads}
        for kind, requests in served.items()
        for request, values in requests.items()
    }
    return measured


# --- main -----------------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    benchlib.require_chromium()
    database_url = args.database_url or testset_grid_bench.DATABASE_URL
    name = database_url.rsplit("/", 1)[-1]
    os.environ["MEDIA_ROOT"] = args.media or str(Path(tempfile.gettempdir()) / f"relabel-bench-media-{name}")
    database_url = benchlib.setup_django(reset=not args.keep_db, database_url=database_url)
    from django.core.management import call_command
    from django.db import connections

    call_command("collectstatic", interactive=False, verbosity=0)
    workdir = tempfile.mkdtemp(prefix="relabel-bench-paint-")
    try:
        testset_name, data = prepare(args, workdir)
        connections.close_all()
        port = benchlib.free_port()
        log = Path(workdir) / "gunicorn.log"
        server = benchlib.start_server("gunicorn", args.workers, port, log, threads=args.threads)
        try:
            measured = run_browser(args, f"http://127.0.0.1:{port}", f"/testsets/{testset_name}/annotate/")
        finally:
            benchlib.stop_server(server)
        lines = log.read_text().splitlines()
        errors = [line for line in lines if '" 500 ' in line]
        if any(line.startswith("Traceback") for line in lines):
            first = next(at for at, line in enumerate(lines) if line.startswith("Traceback"))
            errors.append("\n".join(lines[first : first + 40]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = {
        "parameters": {k: v for k, v in vars(args).items() if k not in {"json", "database_url"}},
        "data": data,
        "first_task_cold_renditions": benchlib.latency_summary([ms / 1000 for ms in measured["first_cold_ms"]]),
        "first_task_warm_renditions": benchlib.latency_summary([ms / 1000 for ms in measured["first_warm_ms"]]),
        "next_task": benchlib.latency_summary([ms / 1000 for ms in measured["next_ms"]]),
        "samples_ms": measured,
        "server_errors": errors[:20],
    }
    print(f"data: {data}; gunicorn {args.workers} workers x {args.threads} threads; think {args.think_ms} ms")
    rows = [
        [label, s["n"], s["mean_ms"], s["p50_ms"], s["p95_ms"], s["max_ms"]]
        for label, s in (
            ("first task: navigation -> 48 painted, renditions made now", results["first_task_cold_renditions"]),
            ("first task: navigation -> 48 painted, renditions kept", results["first_task_warm_renditions"]),
            ("next task: Enter -> 48 painted (fetched ahead)", results["next_task"]),
        )
    ]
    benchlib.print_table("Chromium, 1280x800 (ms)", ["measure", "n", "mean", "p50", "p95", "max"], rows)
    benchlib.print_table(
        "First loads, median ms from navigation start to",
        ["renditions", "page received", "task shown", "its images loaded", "painted"],
        [
            ["made now" if kind == "cold" else "kept", *times.values()]
            for kind, times in measured["first_load_milestones_ms"].items()
        ],
    )
    benchlib.print_table(
        "Server time of the first loads' requests (Server-Timing, ms)",
        ["request", "n", "p50", "p95", "sum per load"],
        [[k, s["n"], s["p50_ms"], s["p95_ms"], s["sum_per_load_ms"]] for k, s in measured["server_ms"].items()],
    )
    goals = {
        key: {"limit": GOAL_MS, "value": results[key]["p95_ms"], "met": results[key]["p95_ms"] < GOAL_MS}
        for key in ("first_task_cold_renditions", "first_task_warm_renditions", "next_task")
    }
    benchlib.print_table(
        "Goals",
        ["measure", "value", "goal", "status"],
        [benchlib.goal_line(f"{key} p95", goal["value"], GOAL_MS, "ms") for key, goal in goals.items()],
    )
    if measured["broken_images"] or errors:
        print(f"warning: {measured['broken_images']} images did not load; server errors:", *errors[-3:], sep="\n")
    benchlib.write_json(args.json, "testset_grid_paint_bench", database_url, results, goals)


if __name__ == "__main__":
    main()
