// Messages in a channel, the app's Messages tab and a thread.

import { S, regionChanged } from "./state.js";
import { $, clear, h, post } from "./dom.js";
import { channelName, timeOf, userName } from "./names.js";
import { mrkdwn } from "./mrkdwn.js";
import { renderBlocks } from "./blocks.js";
import { selectRun } from "./panel.js";

function runFor(channel, ts) {
  return (S.data?.runs || []).find((r) => r.channel_id === channel && r.message_ts === ts);
}

function renderMessage(message, channel, { inThread } = {}) {
  const ephemeral = message.subtype === "ephemeral";
  const sender = message.user;
  const bot = sender === S.data.bot.id || sender === "USLACKBOT";
  const ctx = {
    key: `msg:${channel}:${message.ts}`,
    source: { type: "message", channel, ts: message.ts, ephemeral },
  };
  const content = message.blocks && message.blocks.length ? renderBlocks(message.blocks, ctx) : h("div", { class: "mrkdwn" }, mrkdwn(message.text));
  const run = !ephemeral && runFor(channel, message.ts);
  const replies = !inThread && message.reply_count;
  const node = h(
    "div",
    {
      class: `message${ephemeral ? " ephemeral" : ""}${S.highlight === message.ts ? " highlight" : ""}`,
      dataset: { ts: message.ts, channel },
    },
    h("div", { class: `avatar${bot ? " bot" : ""}` }, (userName(sender) || "?").slice(0, 1)),
    h(
      "div",
      { class: "message-body" },
      h(
        "div",
        { class: "message-head" },
        h("span", { class: "author" }, userName(sender)),
        bot && sender !== "USLACKBOT" ? h("span", { class: "badge" }, "APP") : null,
        h("span", { class: "time" }, timeOf(message.ts)),
        run ? h("button", { type: "button", class: "link-button run-link", onclick: () => selectRun(run.id, true) }, "Request & response") : null,
      ),
      content,
      (message.files || []).map((file) =>
        h(
          "a",
          { class: "file", href: `/playground/files/${encodeURIComponent(file.id)}`, download: file.name },
          h("span", { class: "file-icon" }, "FILE"),
          h("span", {}, h("b", {}, file.title || file.name), h("span", { class: "muted" }, ` ${file.name} · ${file.size} bytes`)),
        ),
      ),
      message.edited ? h("span", { class: "edited" }, "(edited)") : null,
      ephemeral
        ? h(
            "div",
            { class: "ephemeral-note" },
            "Only visible to you · ",
            h("button", { type: "button", class: "link-button", onclick: () => post("/playground/dismiss", { user: S.user, ts: message.ts }) }, "Dismiss"),
          )
        : null,
      replies
        ? h(
            "button",
            { type: "button", class: "replies", onclick: () => openThread(channel, message.ts) },
            `${message.reply_count} ${message.reply_count === 1 ? "reply" : "replies"}`,
            h("span", { class: "muted" }, ` · last reply ${timeOf(message.latest_reply)}`),
          )
        : null,
    ),
  );
  return node;
}

export function channelItems(channel) {
  const messages = (S.data.messages[channel] || []).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const ephemerals = S.data.ephemerals.filter((e) => e.channel === channel && !e.thread_ts);
  return [...messages, ...ephemerals].sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
}

function threadItems(channel, ts) {
  const all = S.data.messages[channel] || [];
  const parent = all.find((m) => m.ts === ts);
  const replies = all.filter((m) => m.thread_ts === ts && m.ts !== ts);
  const ephemerals = S.data.ephemerals.filter((e) => e.channel === channel && e.thread_ts === ts);
  return { parent, replies: [...replies, ...ephemerals].sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts)) };
}

// A message list that was scrolled to the end stays there as messages arrive, are
// edited, or the pane gets narrower (a thread opened) and the text wraps longer.
const pinned = new WeakMap();
const watchers = new WeakMap();

function pin(container) {
  if (watchers.has(container)) return watchers.get(container);
  pinned.set(container, true);
  container.addEventListener("scroll", () => {
    pinned.set(container, container.scrollHeight - container.scrollTop - container.clientHeight < 80);
  });
  const watcher = new ResizeObserver(() => {
    if (pinned.get(container)) container.scrollTop = container.scrollHeight;
  });
  watchers.set(container, watcher);
  return watcher;
}

export function drawMessages(container, items, channel, opts) {
  const watcher = pin(container);
  const wasPinned = pinned.get(container);
  const position = container.scrollTop;
  clear(container);
  if (!items.length) container.append(h("div", { class: "empty" }, opts.empty));
  const list = h("div", { class: "message-list" });
  for (const item of items) list.append(renderMessage(item, channel, opts));
  container.append(list);
  watcher.disconnect();
  watcher.observe(container);
  watcher.observe(list);
  container.scrollTop = wasPinned ? container.scrollHeight : position;
  pinned.set(container, wasPinned);
  if (S.highlight) container.querySelector(".message.highlight")?.scrollIntoView({ block: "center" });
}

export function renderThread() {
  const pane = $("thread-pane");
  if (!S.thread) {
    pane.hidden = true;
    $("layout").classList.remove("with-thread");
    S.rendered.thread = null;
    return;
  }
  const { channel, ts } = S.thread;
  const { parent, replies } = threadItems(channel, ts);
  if (!regionChanged("thread", [channel, ts, parent, replies, S.data.users, S.data.runs.map((r) => [r.id, r.message_ts])])) return;
  pane.hidden = false;
  $("layout").classList.add("with-thread");
  $("thread-channel").textContent = channel.startsWith("D") ? "Actions" : `#${channelName(channel)}`;
  const box = clear($("thread-messages"));
  if (!parent) {
    box.append(h("div", { class: "empty" }, "This message is gone."));
    return;
  }
  box.append(renderMessage(parent, channel, { inThread: true }));
  box.append(h("div", { class: "thread-divider" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
  for (const reply of replies) box.append(renderMessage(reply, channel, { inThread: true }));
}

function openThread(channel, ts) {
  S.thread = { channel, ts };
  const run = runFor(channel, ts);
  if (run) selectRun(run.id, run.id === S.data.runs[0]?.id);
  renderThread();
}
