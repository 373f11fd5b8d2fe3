// The side panel: runs with their webhook request and response, and the Slack traffic log.

import { S, regionChanged } from "./state.js";
import { $, clear, h } from "./dom.js";
import { channelName, userName } from "./names.js";

const STATUS = { PENDING: "pending", RUNNING: "running", SUCCESS: "success", FAILURE: "failure", TIMED_OUT: "timed out", CANCELLED: "cancelled" };

export function renderRuns() {
  const runs = S.data.runs || [];
  if (S.followLatest && runs.length && S.selectedRun !== runs[0].id) S.selectedRun = runs[0].id;
  if (!regionChanged("runs", [runs, S.selectedRun, S.data.users])) return;
  const list = clear($("run-list"));
  if (!runs.length) list.append(h("li", { class: "empty" }, "No runs yet. Press Run on a card and submit the form: the webhook request and its response show up here."));
  for (const run of runs.slice(0, 12)) {
    list.append(
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: `run-item${run.id === S.selectedRun ? " selected" : ""}`, onclick: () => selectRun(run.id, run.id === runs[0].id) },
          h("span", { class: `status status-${run.status.toLowerCase()}` }, STATUS[run.status] || run.status),
          h("span", { class: "run-name" }, run.action_name),
          h("span", { class: "muted" }, `${userName(run.user_id)} · ${new Date(run.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`),
        ),
      ),
    );
  }
}

export function selectRun(id, follow) {
  S.selectedRun = id;
  S.followLatest = !!follow;
  showPanel("runs");
  document.body.classList.remove("panel-hidden");
  $("panel-toggle").setAttribute("aria-pressed", "true");
  S.rendered.runs = null;
  renderRuns();
}

let detailTimer = null;

export function refreshRunDetail() {
  clearTimeout(detailTimer);
  detailTimer = setTimeout(async () => {
    if (!S.selectedRun) return drawRunDetail(null);
    const response = await fetch(`/playground/runs/${encodeURIComponent(S.selectedRun)}`);
    drawRunDetail(response.ok ? await response.json() : null);
  }, 50);
}

function pretty(body) {
  if (body === null || body === undefined) return "";
  if (typeof body !== "string") return JSON.stringify(body, null, 2);
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch (_) {
    return body;
  }
}

function headerTable(headers, highlight) {
  const rows = Object.entries(headers || {}).map(([name, value]) =>
    h("tr", { class: highlight(name) ? "signature" : "" }, h("th", { scope: "row" }, name), h("td", {}, String(value))),
  );
  return h("table", { class: "headers" }, h("tbody", {}, rows));
}

function originalUrl(url) {
  try {
    return new URL(url).searchParams.get("to");
  } catch (_) {
    return null;
  }
}

function where(channel) {
  if (!channel || channel.startsWith("D")) return "from the Home tab (reported in the app's Messages tab)";
  return `in #${channelName(channel)}`;
}

function drawRunDetail(detail) {
  if (!regionChanged("runDetail", detail)) return;
  const box = clear($("run-detail"));
  if (!detail) return;
  const run = detail.run;
  const prefix = (S.info?.header_prefix || "X-Actions").toLowerCase();
  const isSignature = (name) => {
    const lower = name.toLowerCase();
    return lower === `${prefix}-signature` || lower === "webhook-signature";
  };
  box.append(
    h("h3", {}, run.action_name, " ", h("span", { class: `status status-${run.status.toLowerCase()}` }, STATUS[run.status] || run.status)),
    h("div", { class: "muted small-print" }, `Run ${run.id} · by ${userName(run.user_id)} ${where(run.channel_id)}`),
  );
  for (const event of detail.events) {
    const d = event.detail || {};
    const card = h("section", { class: `event event-${event.kind}`, dataset: { kind: event.kind } });
    const head = h("header", { class: "event-head" }, h("span", { class: "event-kind" }, event.kind.replace(/_/g, " ")), h("span", { class: "muted" }, new Date(event.at).toLocaleTimeString()));
    card.append(head);
    if (event.kind === "webhook_request") {
      const original = originalUrl(d.url) || detail.original_url;
      card.append(
        h("div", { class: "request-line" }, h("b", {}, d.method), " ", h("span", { class: "url" }, d.url)),
        original ? h("div", { class: "original-url" }, "Original URL: ", h("span", { class: "url" }, original)) : null,
        h("div", { class: "sub" }, "Headers"),
        headerTable(d.headers, isSignature),
        h("div", { class: "sub" }, "Body"),
        h("pre", { class: "body" }, pretty(d.body) || "(empty)"),
      );
    } else if (event.kind === "webhook_response") {
      card.append(
        h("div", { class: "request-line" }, h("b", {}, `HTTP ${d.status}`), h("span", { class: "muted" }, ` · ${Math.round(d.duration_ms || 0)} ms${d.truncated ? " · body truncated" : ""}`)),
        h("div", { class: "sub" }, "Headers"),
        headerTable(d.headers, () => false),
        h("div", { class: "sub" }, "Body"),
        h("pre", { class: "body" }, pretty(d.body) || "(empty)"),
      );
    } else if (event.kind === "finished") {
      card.append(h("div", { class: "request-line" }, `${d.status || ""}${d.http_status ? ` · HTTP ${d.http_status}` : ""}${d.error ? ` · ${d.error}` : ""}`), h("pre", { class: "body" }, d.result || ""));
    } else {
      card.append(h("pre", { class: "body" }, pretty(d)));
    }
    box.append(card);
  }
}

export async function refreshLog() {
  if (S.panel !== "log") return;
  const response = await fetch(`/playground/log?after=${S.logAfter}`);
  if (!response.ok) return;
  const entries = await response.json();
  const list = $("log-list");
  for (const entry of entries) {
    S.logAfter = Math.max(S.logAfter, entry.n);
    const detail = {};
    for (const key of ["method", "params", "request", "response", "duration_ms"]) if (entry[key] !== undefined) detail[key] = entry[key];
    list.prepend(
      h(
        "li",
        { class: `log-${entry.kind}` },
        h(
          "details",
          {},
          h("summary", {}, h("span", { class: "log-kind" }, { api: "bot → Web API", to_bot: "Slack → bot", response_url: "bot → response_url" }[entry.kind] || entry.kind), " ", entry.summary),
          h("pre", { class: "body" }, JSON.stringify(detail, null, 2)),
        ),
      ),
    );
  }
  while (list.children.length > 300) list.lastChild.remove();
}

export function showPanel(name) {
  S.panel = name;
  $("panel-runs").hidden = name !== "runs";
  $("panel-log").hidden = name !== "log";
  $("panel-runs-tab").classList.toggle("active", name === "runs");
  $("panel-log-tab").classList.toggle("active", name === "log");
  refreshLog();
}
