// The status banner: the save queue's trouble (offline, a server problem, the session ended) and how it
// recovers, and errors, each with its one action.

import { config, els, queue } from "./page.js";

let bannerMode = "hidden";
let hideTimer = null;

/** The banner for the save queue's state: retrying, signed out, or back to normal after either. */
export function renderBanner({ pending, status, error, retryAt }) {
  const changes = `${pending} change${pending === 1 ? "" : "s"} waiting`;
  if (status === "retrying") {
    const offline = !error || error.status === 0;
    const seconds = retryAt ? Math.max(1, Math.round((retryAt - Date.now()) / 1000)) : 0;
    const head = offline ? "Offline" : `Server problem (${error.message})`;
    setBanner("offline", `${head} — ${changes}, retrying…${seconds ? ` (next try in ${seconds}s)` : ""}`, "Retry now", () =>
      queue.retryNow(),
    );
    return;
  }
  if (status === "unauthorized") {
    setBanner("auth", `Your session has ended — ${changes}. Log in again in another tab; saving resumes by itself.`, "Log in", () =>
      window.open(config.loginUrl, "_blank", "noopener"),
    );
    return;
  }
  if (bannerMode === "offline" || bannerMode === "auth" || bannerMode === "recovering") {
    if (pending > 0) {
      setBanner("recovering", `Connected again — saving ${pending} change${pending === 1 ? "" : "s"}…`);
    } else {
      setBanner("ok", "Back online — all changes saved.");
      hideTimer = setTimeout(() => bannerMode === "ok" && hideBanner(), 3000);
    }
  }
}

/** The seconds to the next retry, counted down while the banner shows them. */
export function countDownRetry() {
  if (bannerMode === "offline") renderBanner(queue.state());
}

function setBanner(mode, message, actionLabel = "", onAction = null) {
  bannerMode = mode;
  clearTimeout(hideTimer);
  els.banner.hidden = false;
  els.banner.dataset.mode = mode;
  els.banner.querySelector(".banner__text").textContent = message;
  const action = els.banner.querySelector(".banner__action");
  action.hidden = !actionLabel;
  action.textContent = actionLabel;
  action.onclick = onAction;
}

function hideBanner() {
  bannerMode = "hidden";
  els.banner.hidden = true;
  els.banner.dataset.mode = "hidden";
}

export function showError(message, { action = "Dismiss", onAction = null } = {}) {
  setBanner("error", message, action, () => {
    hideBanner();
    if (onAction) onAction();
  });
}
