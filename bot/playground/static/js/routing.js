// Routes in the URL hash: #/channel/<id>, #/app/home, #/app/messages, and Slack permalinks.

import { S } from "./state.js";
import { post } from "./dom.js";
import { splitOnce } from "./mrkdwn.js";
import { render } from "./render.js";

export function parseRoute() {
  const hash = location.hash.replace(/^#/, "");
  const [path, query] = splitOnce(hash, "?");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "app") {
    S.route = { kind: "app", tab: parts[1] === "messages" ? "messages" : "home" };
    S.thread = null;
  } else if (parts[0] === "archives" && parts[1]) {
    // A permalink: /archives/<channel>/p<ts without the dot>[?thread_ts=…]
    const channel = parts[1];
    const digits = (parts[2] || "").replace(/^p/, "");
    const ts = digits.length > 6 ? `${digits.slice(0, -6)}.${digits.slice(-6)}` : null;
    const thread = new URLSearchParams(query || "").get("thread_ts");
    S.route = channel.startsWith("D") ? { kind: "app", tab: "messages" } : { kind: "channel", id: channel };
    S.highlight = ts;
    S.thread = thread ? { channel, ts: thread } : ts ? { channel, ts } : null;
  } else {
    S.route = { kind: "channel", id: parts[1] || "C0CHAN" };
  }
  if (S.route.kind === "app" && S.route.tab === "home") post("/playground/home", { user: S.user });
  if (S.data) render();
}
