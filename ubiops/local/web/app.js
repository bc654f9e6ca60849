// The web view of ubiops-local: one page, hash routes, plain JavaScript (no build step, nothing downloaded).
//
// It reads and acts only through the server's API under /v2.1 (and two read endpoints under /ui/api) with the
// session cookie plus the page's CSRF token in a header: the server accepts no cookie alone, so no other site can
// make the browser act. Everything shown is built with textContent, never parsed as HTML: request data, outputs and
// log lines are the deployments' own text.
//
// Routes: #/ overview, #/requests[/<deployment>[/<version>]]?status=S&before=CURSOR,
// #/request/<deployment>/<version>/<id>, #/try/<deployment>.
"use strict";

(() => {
  const CSRF = metaContent("csrf-token");
  const PROJECT = metaContent("project");
  const API = `/v2.1/projects/${encodeURIComponent(PROJECT)}`;
  const STATUSES = ["pending", "processing", "completed", "failed", "cancelled_pending", "cancelled"];
  const FINAL = new Set(["completed", "failed", "cancelled"]);
  const OVERVIEW_EVERY = 2000; // ms; the server expects polling at about these rates
  const LIST_EVERY = 1000;
  const PAGE_SIZE = 50; // the server pages lists: the view never asks for more than one page
  const MAX_BATCH = 250; // the API's limit per batch
  const SHOW_CHARS = 200000; // longer inputs and outputs are cut on screen (the page stays responsive)
  const LOG_LINES = 1000;
  const LOGS_AFTER = 10000; // ms after a request ends during which its last log lines may still arrive

  // -- small helpers ---------------------------------------------------------------------------------------------

  function metaContent(name) {
    const meta = document.querySelector(`meta[name="${name}"]`);
    return meta ? meta.getAttribute("content") : "";
  }

  /** An element: h("a", {href: "#/", class: "x"}, "text", child, [more]). Strings become text nodes. */
  function h(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    append(element, children);
    return element;
  }

  function append(element, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(element, child);
      else element.append(child instanceof Node ? child : String(child));
    }
  }

  const enc = encodeURIComponent;

  /** A hash link to a route; names are encoded, so any deployment or version name is safe. */
  function route(...parts) {
    let query = "";
    const last = parts[parts.length - 1];
    if (last && typeof last === "object") {
      parts.pop();
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(last)) if (value !== null && value !== undefined && value !== "") params.set(key, value);
      query = params.toString() ? `?${params}` : "";
    }
    return `#/${parts.filter((p) => p !== null && p !== undefined).map(enc).join("/")}${query}`;
  }

  function versionPath(deployment, version) {
    return `${API}/deployments/${enc(deployment)}/versions/${enc(version)}`;
  }

  function pad(number, width = 2) {
    return String(number).padStart(width, "0");
  }

  /** A time in local time: HH:MM:SS.mmm today, else with its date. */
  function formatTime(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    const now = new Date();
    const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
    if (date.toDateString() === now.toDateString()) return clock;
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock}`;
  }

  function timeElement(iso) {
    return iso ? h("time", { datetime: iso, title: iso }, formatTime(iso)) : h("span", { class: "muted" }, "–");
  }

  function formatDuration(ms) {
    if (ms < 0) ms = 0;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 10000) return `${(ms / 1000).toFixed(2)} s`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    const minutes = Math.floor(ms / 60000);
    return `${minutes} min ${Math.round((ms - minutes * 60000) / 1000)} s`;
  }

  /** How long a request ran (or has been running, marked with "…"). */
  function runTime(request) {
    if (!request.time_started) return "";
    const started = Date.parse(request.time_started);
    if (request.time_completed) return formatDuration(Date.parse(request.time_completed) - started);
    return FINAL.has(request.status) ? "" : `${formatDuration(Date.now() - started)}…`;
  }

  function formatBytes(size) {
    if (size === null || size === undefined) return "–";
    if (size < 1024) return `${size} B`;
    if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
    return `${(size / 1024 / 1024).toFixed(1)} MiB`;
  }

  function statusBadge(status) {
    return h("span", { class: `status s-${status}` }, status.replace("_", " "));
  }

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  /** Input or output for the screen: text as it is, anything else as indented JSON; long values cut. */
  function shownData(value) {
    const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    if (text.length <= SHOW_CHARS) return { text, cut: false, kind: typeof value === "string" ? "text" : "JSON" };
    return { text: text.slice(0, SHOW_CHARS), cut: true, kind: typeof value === "string" ? "text" : "JSON" };
  }

  /** Input or output on the page, with a button that downloads it whole from `url` (the API's input or output). */
  function dataBlock(label, value, url) {
    const shown = shownData(value);
    const failed = h("span", { class: "error-inline", role: "alert" });
    const button = h("button", { type: "button", class: "small", "data-key": `download-${label}` }, "Download");
    button.addEventListener("click", () => download(url, button, failed));
    return h(
      "section",
      { class: "data", "aria-label": label },
      h("h2", null, label, " ", h("span", { class: "kind" }, shown.kind), " ", button, failed),
      h("pre", { class: "data-text", tabindex: "0" }, shown.text),
      shown.cut ? h("p", { class: "muted" }, `Only the first ${SHOW_CHARS.toLocaleString()} characters are shown.`) : null,
    );
  }

  /** A download through the API: a plain link cannot send the CSRF header, so the file is fetched and handed over. */
  async function download(url, button, failed) {
    button.disabled = true;
    failed.textContent = "";
    try {
      const response = await call("GET", url);
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      const link = h("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "data" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    } catch (error) {
      if (error.status !== 401) failed.textContent = `Download failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  // -- talking to the server -------------------------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** A call with the session cookie and the CSRF header (the server wants both on every call, GET too). */
  async function call(method, url, { json, text, signal } = {}) {
    const headers = { "X-CSRF-Token": CSRF, Accept: "application/json" };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (text !== undefined) {
      headers["Content-Type"] = "text/plain; charset=utf-8";
      body = text;
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body, signal, credentials: "same-origin", cache: "no-store" });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      connection(false);
      throw new HttpError(0, "The server does not answer (is ubiops-local still running?)");
    }
    connection(true);
    if (response.status === 401) {
      sessionEnded();
      throw new HttpError(401, "Not logged in");
    }
    if (!response.ok) throw new HttpError(response.status, await errorText(response));
    return response;
  }

  async function errorText(response) {
    const text = await response.text();
    try {
      const parsed = JSON.parse(text);
      return parsed.error_message || parsed.error || text;
    } catch (_) {
      return text || `HTTP ${response.status}`;
    }
  }

  async function getJson(url, signal) {
    return (await call("GET", url, { signal })).json();
  }

  let lastOverview = null; // the newest overview, for views that need the deployments' declarations

  async function fetchOverview(signal) {
    lastOverview = await getJson("/ui/api/overview", signal);
    return lastOverview;
  }

  async function overviewData(signal) {
    return lastOverview || fetchOverview(signal);
  }

  function findDeployment(overview, name) {
    return overview.deployments.find((d) => d.name === name) || null;
  }

  function connection(ok) {
    const element = document.getElementById("connection");
    if (!element) return;
    element.textContent = ok ? "" : "The server does not answer; retrying…";
    element.classList.toggle("down", !ok);
  }

  let ended = false;

  /** The session is gone (a restarted server, or logged out elsewhere): stop everything, offer the login page. */
  function sessionEnded() {
    if (ended) return;
    ended = true;
    stopView();
    const main = document.getElementById("main");
    main.replaceChildren(
      h("h1", { tabindex: "-1" }, "Logged out"),
      h("p", null, "This page's session has ended (did the server restart?). ", h("a", { href: "/login" }, "Log in again"), "."),
    );
    main.querySelector("h1").focus();
  }

  // -- views: each has a context that ends its timers and fetches when the route changes ------------------------

  class ViewContext {
    constructor() {
      this.alive = true;
      this.controller = new AbortController();
      this.timers = [];
    }

    get signal() {
      return this.controller.signal;
    }

    /** Runs fn now and then every `ms` after it finished, while the view lives and until fn returns false;
     * paused while the tab is hidden. */
    every(ms, fn) {
      const timer = { handle: null, running: false, stopped: false };
      const tick = async () => {
        timer.handle = null;
        if (!this.alive || timer.running || timer.stopped) return;
        if (!document.hidden) {
          timer.running = true;
          try {
            if ((await fn()) === false) timer.stopped = true;
          } catch (error) {
            this.failed(error);
          } finally {
            timer.running = false;
          }
        }
        if (this.alive && !timer.stopped) timer.handle = setTimeout(tick, ms);
      };
      timer.wake = () => {
        if (timer.handle !== null) {
          clearTimeout(timer.handle);
          tick();
        }
      };
      timer.stop = () => {
        timer.stopped = true;
        clearTimeout(timer.handle);
      };
      this.timers.push(timer);
      timer.handle = setTimeout(tick, 0); // after the caller kept the timer
      return timer;
    }

    /** A failed fetch of a live view: shown in its error line, and the polling goes on. */
    failed(error) {
      if (!this.alive || error.name === "AbortError" || error.status === 401 || error.status === 0) return;
      if (this.onError) this.onError(error);
      else console.error(error);
    }

    wake() {
      for (const timer of this.timers) timer.wake();
    }

    stop() {
      this.alive = false;
      this.controller.abort();
      for (const timer of this.timers) clearTimeout(timer.handle);
    }
  }

  let current = null;
  let focusAfterRoute = null; // the id of the element that keeps the focus after the next route change

  function stopView() {
    if (current) current.stop();
    current = null;
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && current) current.wake();
  });

  /** Puts new content in place, giving focus back to the element of the same data-key (live updates keep it). */
  function swap(container, ...nodes) {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.dataset.key : undefined;
    container.replaceChildren(...nodes.flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false));
    if (key) {
      const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) again.focus();
    }
  }

  function errorLine() {
    return h("p", { class: "error", role: "alert", hidden: true });
  }

  function showError(element, message) {
    element.textContent = message || "";
    element.hidden = !message;
  }

  function breadcrumbs(...items) {
    const list = h("ol");
    items.forEach(([label, href]) => list.append(h("li", null, href ? h("a", { href }, label) : h("span", { "aria-current": "page" }, label))));
    return h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, list);
  }

  // -- requests table (overview and list): rows kept by id, so live updates leave focus and selection alone ------

  class RequestTable {
    constructor({ showDeployment, caption, empty }) {
      this.showDeployment = showDeployment;
      this.rows = new Map();
      this.body = h("tbody");
      const heads = ["Request", showDeployment ? "Deployment" : null, "Version", "Status", "Created", "Started", "Completed", "Duration"];
      this.table = h(
        "table",
        { class: "requests" },
        caption ? h("caption", null, caption) : null,
        h("thead", null, h("tr", null, heads.filter(Boolean).map((head) => h("th", { scope: "col" }, head)))),
        this.body,
      );
      this.empty = h("p", { class: "muted empty", hidden: true }, empty || "No requests.");
      this.element = h("div", { class: "table-wrap" }, this.table, this.empty);
    }

    row(request) {
      const href = route("request", request.deployment, request.version, request.id);
      return h(
        "tr",
        { "data-id": request.id, "data-status": request.status },
        h("td", { class: "id" }, h("a", { href, "data-key": `request-${request.id}` }, request.id)),
        this.showDeployment ? h("td", null, request.deployment) : null,
        h("td", null, request.version),
        h("td", null, statusBadge(request.status)),
        h("td", null, timeElement(request.time_created)),
        h("td", null, timeElement(request.time_started)),
        h("td", null, timeElement(request.time_completed)),
        h("td", { class: "number" }, runTime(request)),
      );
    }

    update(requests) {
      const active = document.activeElement;
      const key = active && this.table.contains(active) ? active.dataset.key : undefined;
      const kept = new Map();
      const second = Math.floor(Date.now() / 1000);
      requests.forEach((request, index) => {
        // a running request's duration changes every second; a final one's row never changes again
        const signature = JSON.stringify(request) + (FINAL.has(request.status) ? "" : second);
        let row = this.rows.get(request.id);
        if (!row || row.signature !== signature) {
          const tr = this.row(request);
          if (row) row.tr.replaceWith(tr);
          row = { tr, signature };
        }
        kept.set(request.id, row);
        const there = this.body.children[index];
        if (there !== row.tr) this.body.insertBefore(row.tr, there || null);
      });
      while (this.body.children.length > requests.length) this.body.lastElementChild.remove();
      this.rows = kept;
      this.table.hidden = requests.length === 0;
      this.empty.hidden = requests.length !== 0;
      if (key && !this.table.contains(document.activeElement)) {
        const again = this.table.querySelector(`[data-key="${CSS.escape(key)}"]`);
        if (again) again.focus();
      }
    }
  }

  // -- overview -------------------------------------------------------------------------------------------------

  function describeType(type, fields) {
    if (!type) return [h("span", { class: "type" }, "not declared"), " ", h("span", { class: "muted" }, "(JSON as structured, text as plain)")];
    if (type !== "structured" || !fields.length) return h("span", { class: "type" }, type);
    return [
      h("span", { class: "type" }, type),
      ": ",
      fields.map((field, index) => [index ? ", " : "", h("code", null, field.name), " ", h("span", { class: "muted" }, field.data_type)]),
    ];
  }

  function instanceBadges(instances) {
    const badges = instances.map((instance) => {
      const title = [`instance ${instance.index}: ${instance.state}`, instance.pid ? `pid ${instance.pid}` : null, instance.error]
        .filter(Boolean)
        .join("; ");
      return h("li", { class: `instance i-${instance.state}`, title }, `${instance.index}: ${instance.state}`);
    });
    // why an instance failed or crashed is shown, not only in a tooltip
    const errors = instances.filter((instance) => instance.error).map((instance) => h("p", { class: "instance-error" }, `${instance.index}: ${instance.error}`));
    return [h("ul", { class: "instances" }, badges), errors];
  }

  function deploymentCard(deployment) {
    const name = deployment.name;
    const versions = h(
      "table",
      { class: "versions" },
      h(
        "thead",
        null,
        h("tr", null, [
            ["Version"],
            ["Instances"],
            ["Pending", "Requests waiting for an instance"],
            ["Processing", "Requests running now"],
            ["Done/min", "Requests completed in the last minute"],
            ["Failed/min", "Requests failed in the last minute"],
          ].map(([head, title]) => h("th", { scope: "col", title }, head))),
      ),
      h(
        "tbody",
        null,
        deployment.versions.map((version) =>
          h(
            "tr",
            { "data-version": version.name },
            h(
              "th",
              { scope: "row" },
              h("a", { href: route("requests", name, version.name), "data-key": `version-${name}-${version.name}` }, version.name),
              version.name === deployment.default_version ? h("span", { class: "tag" }, "default") : null,
            ),
            h("td", null, instanceBadges(version.instances)),
            h("td", { class: "number queue-pending" }, version.pending),
            h("td", { class: "number queue-processing" }, version.processing),
            h("td", { class: "number" }, version.completed_last_minute),
            h("td", { class: `number${version.failed_last_minute ? " bad" : ""}` }, version.failed_last_minute),
          ),
        ),
      ),
    );
    return h(
      "article",
      { class: "deployment", "data-deployment": name, "aria-labelledby": `deployment-${name}` },
      h(
        "header",
        null,
        h("h3", { id: `deployment-${name}` }, name),
        h(
          "span",
          { class: "actions" },
          h("a", { class: "button", href: route("requests", name), "data-key": `requests-${name}` }, "Requests"),
          h("a", { class: "button", href: route("try", name), "data-key": `try-${name}` }, "Try it"),
        ),
      ),
      h(
        "dl",
        { class: "types" },
        h("dt", null, "Input"),
        h("dd", null, describeType(deployment.input_type, deployment.input_fields)),
        h("dt", null, "Output"),
        h("dd", null, describeType(deployment.output_type, deployment.output_fields)),
      ),
      h("div", { class: "table-wrap" }, versions),
    );
  }

  function renderOverview(ctx, main) {
    document.title = `${PROJECT}: ubiops-local`;
    const error = errorLine();
    const deployments = h("div", { class: "deployments" }, h("p", { class: "muted" }, "Loading…"));
    const recent = new RequestTable({ showDeployment: true, empty: "No requests yet: send one with “Try it”." });
    main.replaceChildren(
      h("h1", { tabindex: "-1" }, "Project ", h("span", { class: "name" }, PROJECT)),
      error,
      h("section", { "aria-labelledby": "deployments-heading" }, h("h2", { id: "deployments-heading" }, "Deployments"), deployments),
      h(
        "section",
        { "aria-labelledby": "recent-heading", class: "recent" },
        h("h2", { id: "recent-heading" }, "Recent requests ", h("a", { href: route("requests"), class: "more" }, "all requests")),
        recent.element,
      ),
    );
    ctx.onError = (e) => showError(error, e.message);
    let shown = "";
    ctx.every(OVERVIEW_EVERY, async () => {
      const overview = await fetchOverview(ctx.signal);
      if (!ctx.alive) return;
      showError(error, "");
      const signature = JSON.stringify(overview.deployments);
      if (signature !== shown) {
        shown = signature;
        swap(deployments, ...overview.deployments.map(deploymentCard));
      }
      recent.update(overview.recent);
    });
  }

  // -- requests list ---------------------------------------------------------------------------------------------

  const visitedPages = new Map(); // list key -> the cursors of the pages visited, newest first ("Newer" links)

  function renderRequests(ctx, main, deployment, version, query) {
    const status = query.get("status") || "";
    const before = query.get("before") || "";
    const where = deployment ? (version ? `${deployment} / ${version}` : deployment) : "all deployments";
    document.title = `Requests of ${where}: ubiops-local`;
    const listKey = JSON.stringify([deployment, version, status]);
    let pages = visitedPages.get(listKey);
    if (!before || !pages || !pages.includes(before)) pages = [before];
    visitedPages.set(listKey, pages);
    const pageIndex = pages.indexOf(before);

    const error = errorLine();
    const table = new RequestTable({ showDeployment: !deployment, empty: status ? `No ${status.replace("_", " ")} requests.` : "No requests." });
    const summary = h("p", { class: "summary", "aria-live": "polite" });
    const paging = h("nav", { class: "paging", "aria-label": "Pages" });

    const statusSelect = h(
      "select",
      { id: "status-filter", name: "status" },
      h("option", { value: "" }, "every status"),
      STATUSES.map((s) => h("option", { value: s, selected: s === status }, s.replace("_", " "))),
    );
    const versionSelect = h("select", { id: "version-filter", name: "version", disabled: !deployment }, h("option", { value: "" }, "every version"));
    const go = (event) => {
      // arrow keys on a select change it at once: the new page keeps the focus there, so the keyboard can go on
      if (event && event.target && event.target.id) focusAfterRoute = event.target.id;
      location.hash = route("requests", deployment, deployment ? versionSelect.value || null : null, { status: statusSelect.value });
    };
    statusSelect.addEventListener("change", go);
    versionSelect.addEventListener("change", go);
    const filters = h(
      "form",
      {
        class: "filters",
        onsubmit: (event) => {
          event.preventDefault();
          go();
        },
      },
      h("label", { for: "status-filter" }, "Status"),
      statusSelect,
      deployment ? [h("label", { for: "version-filter" }, "Version"), versionSelect] : null,
    );

    const crumbs = [["Overview", "#/"]];
    if (deployment) {
      crumbs.push(["Requests", route("requests")]);
      crumbs.push([deployment, version ? route("requests", deployment) : null]);
      if (version) crumbs.push([version, null]);
    } else crumbs.push(["Requests", null]);

    main.replaceChildren(
      breadcrumbs(...crumbs),
      h(
        "div",
        { class: "title-row" },
        h("h1", { tabindex: "-1" }, "Requests ", h("span", { class: "name" }, where)),
        deployment ? h("a", { class: "button", href: route("try", deployment) }, "Try it") : null,
      ),
      filters,
      error,
      summary,
      table.element,
      paging,
    );

    if (deployment) {
      overviewData(ctx.signal)
        .then((overview) => {
          const found = findDeployment(overview, deployment);
          if (!found || !ctx.alive) return;
          for (const v of found.versions) {
            versionSelect.append(h("option", { value: v.name, selected: v.name === version }, v.name === found.default_version ? `${v.name} (default)` : v.name));
          }
          versionSelect.value = version || "";
        })
        .catch((e) => ctx.failed(e));
    }

    ctx.onError = (e) => showError(error, e.message);
    let nextShown;
    ctx.every(LIST_EVERY, async () => {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (deployment) params.set("deployment", deployment);
      if (version) params.set("version", version);
      if (status) params.set("status", status);
      if (before) params.set("before", before);
      const page = await getJson(`/ui/api/requests?${params}`, ctx.signal);
      if (!ctx.alive) return;
      showError(error, "");
      table.update(page.requests);
      const first = pageIndex <= 0 && !before;
      summary.textContent = `${plural(page.requests.length, "request")} on this page, newest first${first ? " (live: new requests appear at the top)" : ""}.`;
      const next = page.next === null || page.next === undefined ? "" : String(page.next);
      if (next !== nextShown) {
        nextShown = next;
        const links = [];
        if (before) links.push(h("a", { href: route("requests", deployment, version, { status }), "data-key": "newest" }, "Newest"));
        if (pageIndex > 0) links.push(h("a", { href: route("requests", deployment, version, { status, before: pages[pageIndex - 1] }), "data-key": "newer" }, "← Newer"));
        if (next) {
          const older = h("a", { href: route("requests", deployment, version, { status, before: next }), "data-key": "older" }, "Older →");
          older.addEventListener("click", () => {
            pages.length = pageIndex + 1;
            pages.push(next);
          });
          links.push(older);
        }
        swap(paging, ...links);
      }
    });
  }

  // -- one request -----------------------------------------------------------------------------------------------

  function renderRequest(ctx, main, deployment, version, id) {
    document.title = `Request ${id}: ubiops-local`;
    const url = `${versionPath(deployment, version)}/requests/${enc(id)}`;
    const error = errorLine();
    const outcome = h("p", { class: "outcome", role: "status", "aria-live": "polite" });
    const head = h("div", { class: "request-head" });
    const body = h("div", { class: "request-body" }, h("p", { class: "muted" }, "Loading…"));
    const logs = h("div", { class: "logs" }, h("p", { class: "muted" }, "Loading…"));
    const cancel = h("button", { type: "button", id: "cancel", disabled: true }, "Cancel request");
    const remove = h("button", { type: "button", id: "delete", class: "danger" }, "Delete…");
    const confirmBox = h(
      "div",
      { class: "confirm", hidden: true, role: "group", "aria-label": "Confirm delete" },
      h("span", null, "Delete this request, its input and its output for good?"),
      h("button", { type: "button", id: "confirm-delete", class: "danger" }, "Delete"),
      h("button", { type: "button", id: "keep" }, "Keep it"),
    );
    let record = null;
    let deleted = false;

    main.replaceChildren(
      breadcrumbs(["Overview", "#/"], [deployment, route("requests", deployment)], [version, route("requests", deployment, version)], ["Request", null]),
      h("h1", { tabindex: "-1" }, "Request ", h("span", { class: "name id" }, id)),
      head,
      h("div", { class: "actions" }, cancel, remove, confirmBox),
      outcome,
      error,
      body,
      h("section", { "aria-labelledby": "logs-heading" }, h("h2", { id: "logs-heading" }, "Logs"), logs),
    );
    ctx.onError = (e) => {
      if (e.status === 404 && !record) {
        stopTimers();
        body.replaceChildren(h("p", null, "There is no such request (it may have been deleted). ", h("a", { href: route("requests", deployment, version) }, "Back to the requests"), "."));
        logs.replaceChildren();
        head.replaceChildren();
        cancel.hidden = remove.hidden = true;
      } else showError(error, e.message);
    };

    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      outcome.textContent = "Cancelling…";
      try {
        const answer = await (await call("PATCH", url, { json: { status: "cancelled" }, signal: ctx.signal })).json();
        outcome.textContent =
          answer.status === "cancelled" ? "Cancelled." : answer.status === "cancelled_pending" ? "Cancelling: the instance running it is being stopped." : `Not cancelled: the request is ${answer.status}.`;
        recordTimer.wake();
      } catch (e) {
        if (e.name !== "AbortError") outcome.textContent = `Cancel failed: ${e.message}`;
        cancel.disabled = false;
      }
    });
    remove.addEventListener("click", () => {
      confirmBox.hidden = false;
      remove.hidden = true;
      confirmBox.querySelector("#confirm-delete").focus();
    });
    confirmBox.querySelector("#keep").addEventListener("click", () => {
      confirmBox.hidden = true;
      remove.hidden = false;
      remove.focus();
    });
    confirmBox.querySelector("#confirm-delete").addEventListener("click", async () => {
      try {
        await call("DELETE", url, { signal: ctx.signal });
      } catch (e) {
        if (e.name !== "AbortError") outcome.textContent = `Delete failed: ${e.message}`;
        return;
      }
      deleted = true;
      stopTimers();
      confirmBox.hidden = true;
      cancel.hidden = true;
      head.replaceChildren(statusBadge("deleted"));
      body.replaceChildren();
      logs.replaceChildren(h("p", { class: "muted" }, "The request is deleted; its log lines stay in the deployment's log file."));
      outcome.replaceChildren("Deleted. ", h("a", { href: route("requests", deployment, version), id: "back" }, "Back to the requests"));
      outcome.querySelector("a").focus();
    });

    let shownRecord = "";
    const recordTimer = ctx.every(LIST_EVERY, async () => {
      const fresh = await getJson(url, ctx.signal);
      if (!ctx.alive || deleted) return false;
      const first = record === null;
      record = fresh;
      if (first) logTimer.wake(); // its logs need the record's creation time
      showError(error, "");
      const running = !FINAL.has(record.status);
      cancel.disabled = !(record.status === "pending" || record.status === "processing");
      const signature = JSON.stringify(record) + (running ? Math.floor(Date.now() / 1000) : "");
      if (signature !== shownRecord) {
        shownRecord = signature;
        swap(head, ...requestHead(record));
        swap(body, ...requestBody(record));
      }
      return running; // a final request does not change any more
    });

    let shownLogs = "";
    const logTimer = ctx.every(LIST_EVERY + 500, async () => {
      if (!record) return true; // the record comes first: its creation time bounds the search
      const created = Date.parse(record.time_created);
      const params = new URLSearchParams({
        query: `{deployment_request_id="${id}"}`,
        // forwards from just before the request, so the oldest line comes first
        start: ((created - 1000) / 1000).toFixed(3),
        end: ((Date.now() + 60000) / 1000).toFixed(3),
        limit: String(LOG_LINES),
      });
      const lines = await getJson(`${API}/logs?${params}`, ctx.signal);
      if (!ctx.alive || deleted) return false;
      const signature = JSON.stringify(lines);
      if (signature !== shownLogs) {
        shownLogs = signature;
        swap(logs, logTable(lines));
      }
      // the last lines of a request may reach the log a moment after its outcome: look again for a while
      const completed = record.time_completed ? Date.parse(record.time_completed) : null;
      return !(FINAL.has(record.status) && completed !== null && Date.now() - completed > LOGS_AFTER);
    });
    const stopTimers = () => {
      recordTimer.stop();
      logTimer.stop();
    };
  }

  function requestHead(record) {
    return [
      statusBadge(record.status),
      " ",
      h("span", { class: "muted" }, `deployment ${record.deployment}, version ${record.version}`),
    ];
  }

  function requestBody(record) {
    const url = `${versionPath(record.deployment, record.version)}/requests/${enc(record.id)}`;
    const created = Date.parse(record.time_created);
    const started = record.time_started ? Date.parse(record.time_started) : null;
    const waited = started !== null ? formatDuration(started - created) : FINAL.has(record.status) ? "–" : `${formatDuration(Date.now() - created)}…`;
    const facts = [
      ["Created", timeElement(record.time_created)],
      ["Started", timeElement(record.time_started)],
      ["Completed", timeElement(record.time_completed)],
      ["Waited", waited],
      ["Ran", runTime(record) || "–"],
      ["Timeout", `${record.timeout} s`],
      ["Input size", formatBytes(record.input_size)],
      ["Output size", formatBytes(record.output_size)],
    ];
    return [
      h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)])),
      record.error_message ? h("section", { class: "error-message", "aria-label": "Error" }, h("h2", null, "Error"), h("pre", { class: "error-text" }, record.error_message)) : null,
      h(
        "div",
        { class: "io" },
        dataBlock("Input", record.request_data, `${url}/input`),
        record.result !== null && record.result !== undefined
          ? dataBlock("Output", record.result, `${url}/output`)
          : h("section", { class: "data" }, h("h2", null, "Output"), h("p", { class: "muted" }, FINAL.has(record.status) ? "No output." : "Not yet.")),
      ),
    ];
  }

  function logTable(lines) {
    if (!lines.length) return h("p", { class: "muted" }, "No log lines for this request (yet).");
    return h(
      "table",
      { class: "log-lines" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Level"), h("th", { scope: "col" }, "Instance"), h("th", { scope: "col" }, "Line"))),
      h(
        "tbody",
        null,
        lines.map((line) => {
          const level = (line.metadata && line.metadata.level) || "info";
          return h(
            "tr",
            { class: `level-${level}` },
            h("td", null, h("time", { title: line.timestamp_str }, formatTime(line.timestamp_str))),
            h("td", null, level),
            h("td", null, line.metadata ? String(line.metadata.process_id ?? "") : ""),
            h("td", { class: "log-text" }, line.log),
          );
        }),
      ),
    );
  }

  // -- try it ----------------------------------------------------------------------------------------------------

  const TYPE_CHECKS = {
    int: (v) => typeof v === "number" && Number.isInteger(v),
    double: (v) => typeof v === "number" && Number.isFinite(v),
    string: (v) => typeof v === "string",
    file: (v) => typeof v === "string",
    bool: (v) => typeof v === "boolean",
    dict: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  };

  function jsonType(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "int" : "double";
    if (typeof value === "boolean") return "bool";
    return typeof value === "object" ? "object" : typeof value;
  }

  /** Why a structured item does not match the declared fields (the server's own rules), or null. */
  function fieldError(value, fields) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return `expected a JSON object with the fields ${fields.map((f) => f.name).join(", ") || "(none)"}, got ${jsonType(value)}`;
    }
    const declared = new Set(fields.map((f) => f.name));
    for (const key of Object.keys(value)) {
      if (!declared.has(key)) return `unknown field '${key}' (declared fields: ${[...declared].sort().join(", ") || "none"})`;
    }
    for (const field of fields) {
      if (!(field.name in value)) return `field '${field.name}' is missing (data_type ${field.data_type})`;
      const item = value[field.name];
      if (field.data_type.startsWith("array_")) {
        const inner = field.data_type.slice(6);
        if (!Array.isArray(item)) return `field '${field.name}': expected ${field.data_type} (a list), got ${jsonType(item)}`;
        const bad = item.findIndex((element) => !TYPE_CHECKS[inner](element));
        if (bad >= 0) return `field '${field.name}'[${bad}]: expected ${inner}, got ${jsonType(item[bad])}`;
      } else if (TYPE_CHECKS[field.data_type] && !TYPE_CHECKS[field.data_type](item)) {
        return `field '${field.name}': expected ${field.data_type}, got ${jsonType(item)}`;
      }
    }
    return null;
  }

  function parseJson(text) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false, error: error.message };
    }
  }

  /** What the form sends for a direct request: {json} or {text}, or {error} (then nothing is sent). */
  function directBody(deployment, text) {
    if (deployment.input_type === "plain") return text === "" ? { error: "Enter the input text." } : { text };
    if (text.trim() === "") return { error: "Enter the input." };
    const parsed = parseJson(text);
    if (deployment.input_type === "structured") {
      if (!parsed.ok) return { error: `The input is not valid JSON: ${parsed.error}` };
      const items = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
      if (Array.isArray(parsed.value) && !items.length) return { error: "The list of inputs is empty." };
      for (let index = 0; index < items.length; index++) {
        const problem = fieldError(items[index], deployment.input_fields);
        if (problem) return { error: Array.isArray(parsed.value) ? `Item ${index}: ${problem}` : problem };
      }
      return { json: parsed.value };
    }
    // not declared: JSON that parses goes as JSON (structured), anything else as text
    return parsed.ok ? { json: parsed.value } : { text };
  }

  /** The items of a batch, one per non-empty line, or {error} naming the line. */
  function batchItems(deployment, text) {
    const items = [];
    const lines = text.split("\n");
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index].replace(/\r$/, "");
      if (line.trim() === "") continue;
      const parsed = parseJson(line);
      if (deployment.input_type === "structured") {
        if (!parsed.ok) return { error: `Line ${index + 1} is not valid JSON: ${parsed.error}` };
        const problem = fieldError(parsed.value, deployment.input_fields);
        if (problem) return { error: `Line ${index + 1}: ${problem}` };
        items.push(parsed.value);
      } else if (deployment.input_type === "plain") {
        items.push(parsed.ok && typeof parsed.value === "string" ? parsed.value : line);
      } else {
        items.push(parsed.ok ? parsed.value : line);
      }
    }
    if (!items.length) return { error: "Enter at least one input, one per line." };
    if (items.length > MAX_BATCH) return { error: `At most ${MAX_BATCH} requests per batch; these are ${items.length}.` };
    return { items };
  }

  const EXAMPLE_VALUES = { int: 0, double: 0.0, string: "", file: "", bool: false, dict: {} };

  function example(deployment) {
    if (deployment.input_type === "structured") {
      const value = {};
      for (const field of deployment.input_fields) value[field.name] = field.data_type.startsWith("array_") ? [] : EXAMPLE_VALUES[field.data_type];
      return JSON.stringify(value, null, 2);
    }
    return "";
  }

  function inputHint(deployment) {
    if (deployment.input_type === "structured") return "A JSON object with the declared fields (or a list of them, for the deployment's requests method).";
    if (deployment.input_type === "plain") return "Text, sent as it is.";
    return "Input type not declared: JSON that parses is sent as JSON (structured), anything else as text.";
  }

  /** Reads a server-sent-events body: calls onUpdate(text) per data event; returns the final JSON line. */
  async function readStream(response, onUpdate) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let data = [];
    let final = null;
    const take = (line) => {
      if (line.startsWith("data:")) data.push(line.slice(5));
      else if (line === "") {
        if (data.length) onUpdate(data.join("\n"));
        data = [];
      } else if (line.startsWith("event:") || line.startsWith(":") || line.startsWith("id:") || line.startsWith("retry:")) {
        // other SSE fields: not sent by the server, ignored as SSE says
      } else final = line; // the direct answer (or an error), as one JSON line
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        take(buffer.slice(0, newline).replace(/\r$/, ""));
        buffer = buffer.slice(newline + 1);
      }
    }
    buffer += decoder.decode();
    if (buffer) take(buffer);
    if (data.length) onUpdate(data.join("\n"));
    if (final === null) throw new HttpError(0, "The stream ended without an answer.");
    return JSON.parse(final);
  }

  async function renderTry(ctx, main, name) {
    document.title = `Try ${name}: ubiops-local`;
    main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    const overview = await overviewData(ctx.signal);
    if (!ctx.alive) return;
    const deployment = findDeployment(overview, name);
    if (!deployment) return renderNotFound(main, `There is no deployment ${name}.`);

    const versionSelect = h(
      "select",
      { id: "try-version", name: "version" },
      deployment.versions.map((v) => h("option", { value: v.name, selected: v.name === deployment.default_version }, v.name === deployment.default_version ? `${v.name} (default)` : v.name)),
    );
    const input = h("textarea", { id: "try-input", name: "input", rows: 8, spellcheck: "false", "aria-describedby": "try-hint try-error" });
    input.value = example(deployment);
    const inputError = h("p", { class: "error", id: "try-error", role: "alert", hidden: true });
    const send = h("button", { type: "submit", id: "send" }, "Send request");
    const updates = h("ol", { class: "updates", id: "updates", "aria-live": "polite" });
    const state = h("p", { class: "stream-state", id: "stream-state", role: "status" });
    const result = h("div", { class: "result", id: "result" });
    const resultBox = h("section", { class: "stream", "aria-labelledby": "stream-heading", hidden: true }, h("h2", { id: "stream-heading" }, "Answer"), state, h("h3", null, "Streamed updates"), updates, result);

    const form = h(
      "form",
      { id: "direct-form", class: "try-form", novalidate: true },
      h("h2", null, "Direct request"),
      h("div", { class: "field" }, h("label", { for: "try-version" }, "Version"), versionSelect),
      h("div", { class: "field" }, h("label", { for: "try-input" }, "Input"), h("p", { class: "hint", id: "try-hint" }, inputHint(deployment)), input, inputError),
      h("div", { class: "buttons" }, send, h("span", { class: "hint" }, "Ctrl+Enter sends")),
    );

    const batchInput = h("textarea", { id: "batch-input", name: "batch", rows: 6, spellcheck: "false", "aria-describedby": "batch-hint batch-error" });
    const batchError = h("p", { class: "error", id: "batch-error", role: "alert", hidden: true });
    const batchResult = h("div", { class: "batch-result", id: "batch-result", role: "status" });
    const batchSend = h("button", { type: "submit", id: "send-batch" }, "Create batch");
    const batchForm = h(
      "form",
      { id: "batch-form", class: "try-form", novalidate: true },
      h("h2", null, "Batch"),
      h(
        "div",
        { class: "field" },
        h("label", { for: "batch-input" }, "Inputs, one per line (JSON lines)"),
        h(
          "p",
          { class: "hint", id: "batch-hint" },
          deployment.input_type === "structured" ? "One JSON object per line." : "One input per line: JSON, or text as it is.",
          ` At most ${MAX_BATCH}. They run in the background on the chosen version.`,
        ),
        batchInput,
        batchError,
      ),
      h("div", { class: "buttons" }, batchSend),
      batchResult,
    );

    main.replaceChildren(
      breadcrumbs(["Overview", "#/"], [name, route("requests", name)], ["Try it", null]),
      h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, "Try ", h("span", { class: "name" }, name)), h("a", { class: "button", href: route("requests", name) }, "Requests")),
      h("dl", { class: "types" }, h("dt", null, "Input"), h("dd", null, describeType(deployment.input_type, deployment.input_fields)), h("dt", null, "Output"), h("dd", null, describeType(deployment.output_type, deployment.output_fields))),
      h("div", { class: "try" }, h("div", null, form, resultBox), batchForm),
    );

    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    input.addEventListener("input", () => showError(inputError, ""));
    batchInput.addEventListener("input", () => showError(batchError, ""));

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = directBody(deployment, input.value);
      if (body.error) {
        showError(inputError, body.error);
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      showError(inputError, "");
      send.disabled = true;
      resultBox.hidden = false;
      updates.replaceChildren();
      result.replaceChildren();
      state.replaceChildren(statusBadge("processing"), " Sent; waiting for updates…");
      const started = Date.now();
      try {
        const response = await call("POST", `${versionPath(deployment.name, versionSelect.value)}/requests/stream`, { ...body, signal: ctx.signal });
        const answer = await readStream(response, (text) => {
          updates.append(h("li", null, h("span", { class: "muted" }, `+${formatDuration(Date.now() - started)} `), text));
        });
        if (!ctx.alive) return;
        if (!updates.children.length) updates.append(h("li", { class: "muted" }, "(none)"));
        if (answer.id === undefined) {
          state.replaceChildren(statusBadge("failed"), ` ${answer.error_message || answer.error}`);
          return;
        }
        state.replaceChildren(statusBadge(answer.status), ` after ${formatDuration(Date.now() - started)}. `, h("a", { href: route("request", answer.deployment, answer.version, answer.id), id: "open-request" }, `Open request ${answer.id}`));
        if (answer.error_message) result.append(h("h3", null, "Error"), h("pre", { class: "error-text" }, answer.error_message));
        if (answer.result !== null && answer.result !== undefined) {
          const shown = shownData(answer.result);
          result.append(h("h3", null, "Output ", h("span", { class: "kind" }, shown.kind)), h("pre", { class: "data-text", id: "result-output", tabindex: "0" }, shown.text));
        }
      } catch (error) {
        if (error.name === "AbortError" || !ctx.alive) return;
        state.replaceChildren(statusBadge("failed"), ` ${error.message}`);
      } finally {
        send.disabled = false;
      }
    });

    batchForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const parsed = batchItems(deployment, batchInput.value);
      if (parsed.error) {
        showError(batchError, parsed.error);
        batchInput.setAttribute("aria-invalid", "true");
        batchInput.focus();
        return;
      }
      batchInput.removeAttribute("aria-invalid");
      showError(batchError, "");
      batchSend.disabled = true;
      const version = versionSelect.value;
      try {
        const created = await (await call("POST", `${versionPath(deployment.name, version)}/requests/batch`, { json: parsed.items, signal: ctx.signal })).json();
        batchResult.replaceChildren(
          `Created ${plural(created.length, "request")}. `,
          h("a", { href: route("requests", deployment.name, version), id: "batch-link" }, "Watch them in the requests list"),
          ".",
        );
      } catch (error) {
        if (error.name !== "AbortError") showError(batchError, error.message);
      } finally {
        batchSend.disabled = false;
      }
    });
  }

  function renderNotFound(main, message) {
    document.title = "Not found: ubiops-local";
    main.replaceChildren(h("h1", { tabindex: "-1" }, "Not found"), h("p", null, message, " ", h("a", { href: "#/" }, "Go to the overview"), "."));
  }

  // -- routing ---------------------------------------------------------------------------------------------------

  function parseRoute() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, search] = hash.split("?", 2);
    let parts;
    try {
      parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    } catch (_) {
      parts = ["?"];
    }
    return { parts, query: new URLSearchParams(search || "") };
  }

  function show(moveFocus) {
    if (ended) return;
    stopView();
    const ctx = new ViewContext();
    current = ctx;
    const main = document.getElementById("main");
    const { parts, query } = parseRoute();
    const [page, ...rest] = parts;
    let navigation = "";
    let rendered;
    if (!page) {
      navigation = "overview";
      rendered = renderOverview(ctx, main);
    } else if (page === "requests" && rest.length <= 2) {
      navigation = "requests";
      rendered = renderRequests(ctx, main, rest[0] || null, rest[1] || null, query);
    } else if (page === "request" && rest.length === 3) {
      rendered = renderRequest(ctx, main, ...rest);
    } else if (page === "try" && rest.length === 1) {
      rendered = renderTry(ctx, main, rest[0]);
    } else {
      renderNotFound(main, `There is no page ${location.hash}.`);
    }
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === navigation) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    Promise.resolve(rendered)
      .then(() => {
        // after a navigation, keyboard and screen-reader users start at the new page's heading
        const heading = main.querySelector("h1");
        const kept = focusAfterRoute && document.getElementById(focusAfterRoute);
        focusAfterRoute = null;
        if (moveFocus && ctx.alive && (kept || heading)) (kept || heading).focus();
      })
      .catch((error) => {
        if (!ctx.alive || error.name === "AbortError" || error.status === 401) return;
        main.replaceChildren(h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
      });
  }

  async function logout() {
    try {
      await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": CSRF } });
    } finally {
      location.assign("/login");
    }
  }

  function start() {
    document.getElementById("logout").addEventListener("click", logout);
    window.addEventListener("hashchange", () => show(true));
    show(false);
  }

  start();
})();
