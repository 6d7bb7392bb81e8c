"""Time from pressing "n" on the review page to the next image painted, in Debian's Chromium (Playwright).

Sets up a dedicated PostgreSQL database (default relabel_bench_browser; --sqlite for a temporary SQLite file),
imports 30 real ImageNet JPEGs from ../shared/data/imagenet-samples (generated JPEGs when that folder is absent,
said in the output) plus two generated models' predictions (~3 candidates per image), creates a reviewer, starts
gunicorn (or `manage.py runserver --noreload`) in a subprocess, logs in through /login/, opens
/datasets/<name>/review/ and, for each of 20 images: waits until the page has prefetched the next image (its
/api/review/next/?...&keep=<current> answer and its /images/<id>/display file), optionally judges the candidates
with the verdict keys, presses "n" and waits for the page's painted signal.

The page's contract (frontend/static/frontend/review.js, display()): once the new <img> has decoded it sets
document.body.dataset.imageId, window.__relabelPaintedAt = performance.now() and dispatches `relabel:painted`
on document. Latency = __relabelPaintedAt - keydown event.timeStamp (both on the page's performance clock);
"next frame" is taken in the following animation frame's callback, after the frame with the image was produced.

    .venv/bin/python bench/browser_next.py [--steps 20] [--no-judge] [--server gunicorn|runserver] [--json FILE]

Never runs `playwright install`: Chromium is /usr/bin/chromium.
"""

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import benchlib

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/relabel_bench_browser"
REVIEW_JS = benchlib.REPO / "frontend" / "static" / "frontend" / "review.js"
DATASET = "bench-browser"
USERNAME = "bench-browser-reviewer"
PASSWORD = "bench-browser-pw-1"
GOAL_MS = 100.0

INIT_SCRIPT = """
window.__benchKeyAt = null;
window.__benchSignalAt = null;
window.__benchNextFrameAt = null;
window.addEventListener("keydown", (event) => {
  if (event.key === "n") { window.__benchKeyAt = event.timeStamp; window.__benchKeyHandlerAt = performance.now(); }
}, true);
document.addEventListener("relabel:painted", (event) => {
  window.__benchSignalAt = (event.detail && event.detail.at) || performance.now();
  requestAnimationFrame(() => { window.__benchNextFrameAt = performance.now(); });
});
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--database-url", help=f"PostgreSQL URL (default {DEFAULT_DATABASE_URL})")
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--images", type=int, default=30, help="images to import (default 30)")
    parser.add_argument("--steps", type=int, default=20, help="presses of 'n' measured (default 20)")
    parser.add_argument("--think-ms", type=int, default=300, help="pause after the prefetch, before 'n' (default 300)")
    parser.add_argument("--no-judge", action="store_true", help="press 'n' without giving verdicts first")
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, 4 threads each)")
    parser.add_argument("--headed", action="store_true", help="show the browser (debugging)")
    return parser.parse_args()


# --- data -----------------------------------------------------------------------------------------------------


def generated_jpeg(index):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (500, 375), ((index * 53) % 256, (index * 97) % 256, (index * 31) % 256))
    draw = ImageDraw.Draw(image)
    for k in range(12):
        x, y = (index * 37 + k * 71) % 500, (index * 11 + k * 43) % 375
        draw.ellipse([x - 30, y - 30, x + 30, y + 30], fill=((k * 40) % 256, (index * 7) % 256, (k * 90) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def image_folder(workdir, count):
    """A folder of `count` <wnid>_<name>.JPEG files: links to the real samples, or generated JPEGs."""
    folder = Path(workdir) / "images"
    folder.mkdir()
    samples = benchlib.SHARED_DATA / "imagenet-samples"
    if samples.is_dir():
        files = sorted(p for p in samples.iterdir() if p.is_file() and not p.name.startswith("."))
        step = max(1, len(files) // count)
        for path in files[::step][:count]:
            (folder / path.name).symlink_to(path)
        return folder, f"{count} real images from {samples}"
    import taxonomy

    wnids = taxonomy.class_wnids()
    for index in range(count):
        (folder / f"{wnids[index * 31 % len(wnids)]}_generated_{index}.JPEG").write_bytes(generated_jpeg(index))
    return folder, f"{count} generated JPEGs ({samples} is absent)"


def build_data(args, workdir):
    import numpy as np
    from django.contrib.auth.models import Group, User

    from accounts import roles
    from annotate.image_import import import_image_folder
    from annotate.models import Image, ReviewItem
    from annotate.prediction_import import import_predictions

    folder, source = image_folder(workdir, args.images)
    report = import_image_folder(dataset_name=DATASET, directory=folder)
    if report.failed:
        sys.exit(f"error: importing images failed: {report.failed[:3]}")
    rng = np.random.default_rng(7)
    count = Image.objects.filter(dataset__name=DATASET).count()
    for name in ("bench-browser-model-a", "bench-browser-model-b"):
        path = Path(workdir) / f"{name}.npy"
        np.save(path, rng.integers(0, 1000, count).astype(np.uint16))
        import_predictions(model_name=name, dataset_name=DATASET, path=path)
    user, _ = User.objects.get_or_create(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=roles.REVIEWER))
    return {
        "images_source": source,
        "images": count,
        "review_items": ReviewItem.objects.filter(dataset__name=DATASET).count(),
    }


# --- server ---------------------------------------------------------------------------------------------------


# --- browser --------------------------------------------------------------------------------------------------


def _keeps(url):
    return parse_qs(urlsplit(url).query).get("keep", [])


class Watcher:
    """Responses of the queue API and finished image requests, as the page makes them."""

    def __init__(self, page):
        self.next_responses = []
        self.finished = set()
        page.on("response", self._response)
        page.on("requestfinished", lambda request: self.finished.add(request.url.split("?")[0]))

    def _response(self, response):
        if "/api/review/next/" in response.url:
            self.next_responses.append(response)

    def prefetched(self, page, current_id, timeout_s=15):
        """The id of the image prefetched after `current_id` once its file has loaded; None at the queue's end."""
        deadline = time.monotonic() + timeout_s
        response = None
        while response is None:
            response = next((r for r in self.next_responses if str(current_id) in _keeps(r.url)), None)
            if response is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no prefetch of the image after {current_id}")
                page.wait_for_timeout(10)
        if response.status == 204:
            return None
        payload = response.json()
        if payload.get("display_url"):
            while not any(url.endswith(payload["display_url"]) for url in self.finished):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the display file of image {payload['id']} did not load")
                page.wait_for_timeout(10)
        return payload


def run_browser(args, base_url):
    from playwright.sync_api import sync_playwright

    results = {"latency_ms": [], "next_frame_ms": [], "key_to_handler_ms": [], "verdicts_pressed": 0}
    with sync_playwright() as playwright:
        browser = benchlib.launch_chromium(playwright, args.headed)
        # The bench's own probes are evaluated strings, which the app's Content-Security-Policy forbids pages.
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, bypass_csp=True)
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if "/login/" in page.url:
            raise RuntimeError("login failed")
        watcher = Watcher(page)
        page.goto(f"/datasets/{DATASET}/review/")
        page.wait_for_function("document.body.dataset.imageId")
        for step in range(args.steps):
            current = int(page.evaluate("document.body.dataset.imageId"))
            upcoming = watcher.prefetched(page, current)
            if upcoming is None:
                print(f"the queue ended after {step} steps", file=sys.stderr)
                break
            if not args.no_judge:
                count = page.locator("#candidates .candidate").count()
                for index in range(count):
                    page.keyboard.press("1" if index == 0 else "2")
                results["verdicts_pressed"] += count
            page.wait_for_timeout(args.think_ms)
            page.evaluate("window.__benchKeyAt = null; window.__benchSignalAt = null; window.__benchNextFrameAt = null")
            page.keyboard.press("n")
            page.wait_for_function(
                """id => document.body.dataset.imageId === String(id) && window.__benchKeyAt !== null
                        && window.__relabelPaintedAt > window.__benchKeyAt && window.__benchNextFrameAt !== null""",
                arg=upcoming["id"],
            )
            key_at, painted_at, frame_at, handler_at = page.evaluate(
                "[__benchKeyAt, __relabelPaintedAt, __benchNextFrameAt, __benchKeyHandlerAt].map(Number)"
            )
            results["latency_ms"].append(painted_at - key_at)
            results["next_frame_ms"].append(frame_at - key_at)
            results["key_to_handler_ms"].append(handler_at - key_at)
        if not args.no_judge:
            page.wait_for_function(
                "document.body.dataset.pendingSaves === undefined || document.body.dataset.pendingSaves === '0'"
            )
        context.close()
        browser.close()
    return results


# --- main -----------------------------------------------------------------------------------------------------


def summary_ms(values):
    return benchlib.latency_summary([v / 1000 for v in values])


def main():
    args = parse_args()
    if not REVIEW_JS.exists():
        sys.exit(
            f"error: {REVIEW_JS.relative_to(benchlib.REPO)} does not exist yet; this benchmark drives the review page "
            "(contract: document.body.dataset.imageId, window.__relabelPaintedAt, the relabel:painted event)"
        )
    benchlib.require_chromium()
    workdir = tempfile.mkdtemp(prefix="relabel-bench-browser-")
    try:
        if args.sqlite:
            database_url = f"sqlite:///{workdir}/bench.sqlite3"
        else:
            database_url = args.database_url or os.environ.get("BENCH_BROWSER_DATABASE_URL") or DEFAULT_DATABASE_URL
        os.environ["DATABASE_URL"] = database_url
        benchlib.setup_django(reset=True, database_url=database_url)
        from django.core.management import call_command
        from django.db import connections

        call_command("collectstatic", interactive=False, verbosity=0)
        data = build_data(args, workdir)
        connections.close_all()
        port = benchlib.free_port()
        server = benchlib.start_server(args.server, args.workers, port, Path(workdir) / "server.log")
        try:
            measured = run_browser(args, f"http://127.0.0.1:{port}")
        finally:
            benchlib.stop_server(server)
        server_log = (Path(workdir) / "server.log").read_text()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    errors = [line for line in server_log.splitlines() if " 500 " in line or "Traceback" in line]
    results = {
        "parameters": {k: v for k, v in vars(args).items() if k not in {"json", "database_url"}},
        "data": data,
        "painted": summary_ms(measured["latency_ms"]),
        "next_frame": summary_ms(measured["next_frame_ms"]),
        "key_to_handler": summary_ms(measured["key_to_handler_ms"]),
        "samples_ms": measured["latency_ms"],
        "verdicts_pressed": measured["verdicts_pressed"],
        "server_errors": errors[:20],
    }
    print(f"data: {data['images_source']}; {data['images']} images, {data['review_items']} review items")
    print(f"server: {args.server}; judged before 'n': {not args.no_judge}; think time {args.think_ms} ms")
    rows = []
    for key, label in (
        ("painted", "n -> relabel:painted"),
        ("next_frame", "n -> next frame start"),
        ("key_to_handler", "n -> keydown handler"),
    ):
        s = results[key]
        rows.append([label, s["n"], s["mean_ms"], s["p50_ms"], s["p95_ms"], s["max_ms"]])
    benchlib.print_table(
        "Browser: press 'n' to next image painted (ms)", ["measure", "n", "mean", "p50", "p95", "max"], rows
    )
    benchlib.print_table(
        "Goal",
        ["goal", "measured", "target", "status"],
        [benchlib.goal_line("n -> painted p95", results["painted"]["p95_ms"], GOAL_MS, "ms")],
    )
    if errors:
        print(f"warning: the server log has {len(errors)} error lines, first: {errors[0]}")
    goals = {"painted_p95_ms": {"limit": GOAL_MS, "value": results["painted"]["p95_ms"]}}
    goals["painted_p95_ms"]["met"] = results["painted"]["p95_ms"] < GOAL_MS
    benchlib.write_json(args.json, "browser_next", database_url, results, goals)


if __name__ == "__main__":
    main()
