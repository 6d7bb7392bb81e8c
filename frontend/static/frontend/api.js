// Every request to the Relabel API, JSON or a form with files: CSRF header, time-outs, retries with backoff,
// and an ordered save queue that keeps every change (in sessionStorage too) until the server has confirmed it.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(message, { status = 0, data = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.data = data;
  }

  /** Network failures, time-outs and server-side trouble: worth sending again. */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }

  /** The session ended or the CSRF token is stale: worth sending again after a new login. */
  get unauthorized() {
    return this.status === 401 || this.status === 403;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: about base, 2*base, 4*base ... up to max milliseconds. */
export function backoff(attempt, base = 500, max = 30000) {
  const delay = Math.min(max, base * 2 ** attempt);
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

function describe(data, status) {
  if (data && typeof data === "object") {
    if (typeof data.detail === "string") return data.detail;
    for (const [field, problems] of Object.entries(data)) {
      const text = Array.isArray(problems) ? problems.join(" ") : String(problems);
      return field === "non_field_errors" ? text : `${field}: ${text}`;
    }
  }
  if (typeof data === "string" && data && data.length < 200) return data;
  return `the server answered ${status}`;
}

/**
 * One request. Resolves to {status, data}; rejects with an ApiError (status 0 for a network
 * failure or a time-out). A FormData body goes as a multipart form (files), any other body as JSON.
 * `timeout` may be Infinity: an upload of a large file, or the long write it starts, takes its time.
 */
export async function request(url, { method = "GET", body, timeout = REQUEST_TIMEOUT_MS, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  const init = { method, headers, credentials: "same-origin", cache: "no-store", redirect: "follow" };
  if (body instanceof FormData) {
    init.body = body; // the browser writes the multipart Content-Type, with its boundary
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (!SAFE_METHODS.has(method)) headers["X-CSRFToken"] = csrfToken();
  const controller = new AbortController();
  const timer = Number.isFinite(timeout) ? setTimeout(() => controller.abort(), timeout) : null;
  let response;
  let text;
  try {
    response = await fetch(url, { ...init, signal: controller.signal });
    text = await response.text();
  } catch (error) {
    const offline = typeof navigator !== "undefined" && navigator.onLine === false;
    const why = error && error.name === "AbortError" ? "the request timed out" : "the network failed";
    throw new ApiError(offline ? "you are offline" : why, { status: 0 });
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    throw new ApiError(describe(data, response.status), { status: response.status, data });
  }
  return { status: response.status, data };
}

/** Call `fn` until it succeeds, retrying retryable ApiErrors with backoff, at most `attempts` times. */
export async function withRetry(fn, { attempts = 4, base = 400, max = 5000, onRetry } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof ApiError) || !error.retryable || attempt >= attempts - 1) throw error;
      if (onRetry) onRetry(error, attempt);
      await sleep(backoff(attempt, base, max));
    }
  }
}

export const getJSON = (url, options) => withRetry(() => request(url), options);

/**
 * Writes sent one at a time, in the order they were made. A change that fails for a network or
 * server reason stays at the head of the queue and is retried with backoff (at once when the
 * browser comes back online) so that nothing is lost and nothing overtakes it. A change whose key
 * (e.g. "verdict:12") is already waiting replaces the waiting one instead of being sent twice.
 *
 * Events (EventTarget): "change" (detail: state()), "saved" (detail: {op, data}),
 * "failed" (detail: {op, error}) for a change the server refused for good.
 */
export class SaveQueue extends EventTarget {
  constructor({ storageKey = "relabel:save-queue", storage = safeSessionStorage(), warnOnUnload = true } = {}) {
    super();
    this.storageKey = storageKey;
    this.storage = storage;
    this.ops = [];
    this.inflight = null;
    this.status = "idle"; // idle | saving | retrying | unauthorized
    this.lastError = null;
    this.retryAt = null;
    this.failures = 0;
    this.running = false;
    this.wake = null;
    this.idleWaiters = [];
    this.nextId = 1;
    this.restore();
    if (typeof window !== "undefined") {
      window.addEventListener("online", () => this.retryNow());
      if (warnOnUnload) {
        window.addEventListener("beforeunload", (event) => {
          if (this.ops.length === 0) return;
          this.persist();
          event.preventDefault();
          event.returnValue = "";
        });
      }
    }
  }

  get size() {
    return this.ops.length;
  }

  state() {
    return {
      pending: this.ops.length,
      status: this.status,
      error: this.lastError,
      retryAt: this.retryAt,
      failures: this.failures,
    };
  }

  /** The newest waiting or in-flight change under `key`, if any. */
  pendingFor(key) {
    for (let i = this.ops.length - 1; i >= 0; i -= 1) {
      if (this.ops[i].key === key) return this.ops[i];
    }
    return undefined;
  }

  enqueue({ key, method, url, body, meta = {} }) {
    const waiting = this.ops.findIndex((op) => op.key === key && op !== this.inflight);
    let op;
    if (key && waiting !== -1) {
      // A new id too: the waiting op may have been sent already (and applied, its answer lost), and its
      // id is the idempotency key under which the server stored it.
      op = this.ops[waiting];
      Object.assign(op, { id: this.nextOpId(), method, url, body, meta });
    } else {
      op = { id: this.nextOpId(), key, method, url, body, meta, queuedAt: Date.now() };
      this.ops.push(op);
    }
    this.persist();
    this.emitChange();
    this.pump();
    return op;
  }

  /** Resolves once every queued change is saved, or after `timeout` ms (false then). */
  idle(timeout = Infinity) {
    if (this.ops.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = (value) => resolve(value);
      this.idleWaiters.push(waiter);
      if (Number.isFinite(timeout)) {
        setTimeout(() => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeout);
      }
    });
  }

  /** Skip the backoff wait and try the head of the queue now. */
  retryNow() {
    if (this.wake) this.wake();
    else this.pump();
  }

  start() {
    this.pump();
  }

  /** Unique across tabs and sessions: the server keeps it as the change's idempotency key. */
  nextOpId() {
    if (typeof crypto !== "undefined" && crypto.randomUUID) return crypto.randomUUID();
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${this.nextId}`;
    this.nextId += 1;
    return id;
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.ops.length > 0) {
        const op = this.ops[0];
        this.inflight = op;
        if (this.status === "idle") this.status = "saving";
        this.emitChange();
        const sent = { method: op.method, url: op.url, body: op.body, headers: { "Idempotency-Key": op.id } };
        try {
          const { data } = await request(sent.url, sent);
          this.inflight = null;
          // The op may have been rewritten while in flight only if it was not the head; it was the
          // head, so it is exactly what was sent.
          this.ops.shift();
          this.failures = 0;
          this.lastError = null;
          this.retryAt = null;
          this.status = this.ops.length ? "saving" : "idle";
          this.persist();
          this.dispatchEvent(new CustomEvent("saved", { detail: { op, data } }));
          this.emitChange();
        } catch (error) {
          this.inflight = null;
          const apiError = error instanceof ApiError ? error : new ApiError(String(error), { status: 0 });
          if (apiError.retryable || apiError.unauthorized) {
            this.failures += 1;
            this.lastError = apiError;
            this.status = apiError.unauthorized ? "unauthorized" : "retrying";
            const delay = apiError.unauthorized ? 10000 : backoff(this.failures - 1, 1000, 30000);
            this.retryAt = Date.now() + delay;
            this.emitChange();
            await this.waitOrWake(delay);
            this.retryAt = null;
            continue;
          }
          this.ops.shift();
          this.persist();
          this.status = this.ops.length ? "saving" : "idle";
          this.dispatchEvent(new CustomEvent("failed", { detail: { op, error: apiError } }));
          this.emitChange();
        }
      }
    } finally {
      this.running = false;
      this.inflight = null;
      if (this.ops.length === 0) {
        this.status = "idle";
        this.emitChange();
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const waiter of waiters) waiter(true);
      }
    }
  }

  waitOrWake(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  emitChange() {
    this.dispatchEvent(new CustomEvent("change", { detail: this.state() }));
  }

  persist() {
    if (!this.storage) return;
    try {
      if (this.ops.length === 0) this.storage.removeItem(this.storageKey);
      else {
        const ops = this.ops.map(({ id, key, method, url, body, meta, queuedAt }) => ({
          id,
          key,
          method,
          url,
          body,
          meta,
          queuedAt,
        }));
        this.storage.setItem(this.storageKey, JSON.stringify(ops));
      }
    } catch {
      // Storage full or disabled: the queue still lives in memory.
    }
  }

  restore() {
    if (!this.storage) return;
    try {
      const saved = JSON.parse(this.storage.getItem(this.storageKey) || "[]");
      if (Array.isArray(saved)) {
        this.ops = saved.filter((op) => op && typeof op.url === "string" && typeof op.method === "string");
      }
    } catch {
      this.ops = [];
    }
  }
}

function safeSessionStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
