// The playground page: a small Slack client. It renders what the in-process Slack holds
// (messages, ephemerals, modals, the Home tab) and reports what the person does to the
// playground server, which turns it into the signed request Slack would send the bot.
// This module starts it and keeps it in step with the server (a long poll).

import { S } from "./state.js";
import { $, append, h, post } from "./dom.js";
import { renderThread } from "./messages.js";
import { showPanel } from "./panel.js";
import { parseRoute } from "./routing.js";
import { setupComposer } from "./composer.js";
import { render } from "./render.js";

async function poll() {
  for (;;) {
    const controller = new AbortController();
    S.poll = controller;
    const user = S.user;
    try {
      const response = await fetch(`/playground/state?user=${encodeURIComponent(user)}&version=${S.version}`, { signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      if (user !== S.user) continue;
      S.data = data;
      S.version = data.version;
      render();
    } catch (error) {
      if (error.name === "AbortError") continue;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function switchUser(user) {
  S.user = user;
  localStorage.setItem("playground.user", user);
  S.version = -1;
  S.rendered = {};
  S.thread = null;
  if (S.poll) S.poll.abort();
  if (S.route.kind === "app" && S.route.tab === "home") post("/playground/home", { user });
}

async function start() {
  setupComposer();
  $("user-switcher").addEventListener("change", (event) => switchUser(event.target.value));
  $("receiver-mode").addEventListener("change", (event) => post("/playground/receiver", { mode: event.target.value }));
  $("thread-close").addEventListener("click", () => {
    S.thread = null;
    S.highlight = null;
    renderThread();
  });
  $("panel-toggle").addEventListener("click", () => {
    const hidden = document.body.classList.toggle("panel-hidden");
    $("panel-toggle").setAttribute("aria-pressed", hidden ? "false" : "true");
  });
  for (const tab of document.querySelectorAll("[data-panel]")) tab.addEventListener("click", () => showPanel(tab.dataset.panel));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.querySelector(".confirm-layer")?.remove();
  });
  window.addEventListener("hashchange", parseRoute);
  try {
    S.info = await (await fetch("/playground/info")).json();
    const note = $("setup-note");
    const secrets = S.info.stand_in_secrets;
    append(note, [
      h("div", { title: S.info.config }, "Config: ", h("code", {}, S.info.config_name)),
      Object.keys(S.info.originals || {}).length ? h("div", {}, "Webhooks go to the echo receiver; each run shows its original URL.") : null,
      secrets.length
        ? h("div", { title: secrets.join(", ") }, `${secrets.length} secrets have stand-in values; set ACTIONS_SECRET_<NAME> for real ones.`)
        : null,
    ]);
  } catch (_) {
    S.info = null;
  }
  parseRoute();
  poll();
}

start();
