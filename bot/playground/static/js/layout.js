// The sidebar and the main area: a channel, or the app's Home and Messages tabs.

import { S, regionChanged } from "./state.js";
import { $, clear, h } from "./dom.js";
import { channelName } from "./names.js";
import { renderBlocks } from "./blocks.js";
import { channelItems, drawMessages } from "./messages.js";

export function renderSidebar() {
  const d = S.data;
  if (!regionChanged("sidebar", [d.channels, S.route])) return;
  $("workspace-name").textContent = d.team.name;
  const list = clear($("channel-list"));
  for (const channel of d.channels) {
    const active = S.route.kind === "channel" && S.route.id === channel.id;
    list.append(h("li", {}, h("a", { href: `#/channel/${channel.id}`, class: `sidebar-item${active ? " active" : ""}`, "aria-current": active ? "page" : null }, `# ${channel.name}`)));
  }
  $("app-link").classList.toggle("active", S.route.kind === "app");
}

export function renderMain() {
  const d = S.data;
  const inChannel = S.route.kind === "channel";
  $("channel-view").hidden = !inChannel;
  $("app-view").hidden = inChannel;
  if (inChannel) {
    const channel = S.route.id;
    const items = channelItems(channel);
    if (!regionChanged("main", [channel, items, d.users, d.runs.map((r) => [r.id, r.message_ts]), S.highlight])) return;
    $("channel-title").textContent = `# ${channelName(channel)}`;
    $("composer").placeholder = `Message #${channelName(channel)} — try /actions`;
    drawMessages($("messages"), items, channel, { empty: "No messages yet. Type /actions below to see the catalog." });
    return;
  }
  const home = S.route.tab === "home";
  $("tab-home").classList.toggle("active", home);
  $("tab-messages").classList.toggle("active", !home);
  $("home").hidden = !home;
  $("dm-messages").hidden = home;
  $("dm-note").hidden = home;
  if (home) {
    if (!regionChanged("main", ["home", d.home, d.users])) return;
    const root = clear($("home"));
    if (!d.home) {
      root.append(h("div", { class: "empty" }, "Opening the Home tab…"));
      return;
    }
    const ctx = { key: `home:${d.home.id}`, viewId: d.home.id, source: { type: "view", view_id: d.home.id } };
    root.append(renderBlocks(d.home.blocks, ctx));
  } else {
    const items = channelItems(d.dm);
    if (!regionChanged("main", ["dm", items, d.users, d.runs.map((r) => [r.id, r.message_ts])])) return;
    drawMessages($("dm-messages"), items, d.dm, { empty: "Runs started from the Home tab report here." });
  }
}
