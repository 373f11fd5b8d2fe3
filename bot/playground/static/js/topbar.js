// The top bar (who the page acts as, how the echo receiver answers) and error notices.

import { S, regionChanged } from "./state.js";
import { $, clear, h, toast } from "./dom.js";
import { humans } from "./names.js";

export function renderTopbar() {
  const d = S.data;
  if (!regionChanged("topbar", [d.users, d.admins, S.user, d.receiver])) return;
  const users = clear($("user-switcher"));
  for (const user of humans()) {
    users.append(h("option", { value: user.id, selected: user.id === S.user }, `${user.real_name}${d.admins[user.id] ? " (admin)" : ""}`));
  }
  const modes = clear($("receiver-mode"));
  const labels = { echo: "echo: 200 with the request echoed", slow: "slow: answers after 5 s", fail: "fail: answers 500", async: "async: 202, then callbacks" };
  for (const mode of d.receiver.modes) modes.append(h("option", { value: mode, selected: mode === d.receiver.mode }, labels[mode] || mode));
  modes.disabled = !d.receiver.rewritten;
}

export function renderNotices() {
  if (S.seenNotice === 0) {
    // What went wrong before this page was opened is in the Slack traffic tab already.
    S.seenNotice = Math.max(-1, ...(S.data.notices || []).map((n) => n.n));
    return;
  }
  for (const notice of S.data.notices || []) {
    if (notice.n <= S.seenNotice) continue;
    S.seenNotice = notice.n;
    toast(notice.text, "error");
  }
}
