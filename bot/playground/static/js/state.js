// What the page knows: the workspace as the server last sent it, and the page's own state.

export const S = {
  user: localStorage.getItem("playground.user") || "U0DEV",
  route: { kind: "channel", id: "C0CHAN" },
  thread: null, // {channel, ts}
  data: null,
  version: -1,
  poll: null, // AbortController of the running long poll
  form: new Map(), // "surface|block|action" -> element state, in Slack's state.values shape
  clientErrors: {}, // view id -> {block_id: message}
  busy: {}, // view id -> true while a submission is in flight
  rendered: {}, // region -> key of what it shows, to redraw only what changed
  seenNotice: 0,
  selectedRun: null,
  followLatest: true,
  runDetail: null,
  panel: "runs",
  logAfter: 0,
  highlight: null,
  info: null, // /playground/info: the config, the echo receiver, stand-in secrets
};

// Whether `region` must be redrawn: what it would show (`key`) differs from what it shows.
export function regionChanged(region, key) {
  const text = JSON.stringify(key);
  if (S.rendered[region] === text) return false;
  S.rendered[region] = text;
  return true;
}
