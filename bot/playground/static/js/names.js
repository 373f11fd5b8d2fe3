// People, channels and times as Slack's client shows them.

import { S } from "./state.js";

function userById(id) {
  return (S.data?.users || []).find((u) => u.id === id);
}

export function userName(id) {
  const user = userById(id);
  return user ? user.real_name : id;
}

export function channelName(id) {
  if (id && id.startsWith("D")) return "Actions (direct message)";
  const channel = (S.data?.channels || []).find((c) => c.id === id);
  return channel ? channel.name : id;
}

export function humans() {
  return (S.data?.users || []).filter((u) => !u.is_bot);
}

export function timeOf(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
