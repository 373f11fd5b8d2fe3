// DOM helpers and the page's one way to talk to the server. All text goes into the DOM
// as text nodes: nothing from the bot or the config is parsed as HTML.

export const $ = (id) => document.getElementById(id);

export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await response.json();
  } catch (_) {
    data = { ok: false, error: `HTTP ${response.status}` };
  }
  return data;
}

export function toast(text, kind) {
  const item = h("div", { class: `toast ${kind || ""}` }, text);
  $("toasts").append(item);
  setTimeout(() => item.remove(), 9000);
}

// Stable element ids per form field, so a redraw keeps focus and labels point at inputs.
let ids = 0;
const domIds = new Map();
export function domId(key) {
  if (!domIds.has(key)) domIds.set(key, `el-${++ids}`);
  return domIds.get(key);
}

export function cssEscape(text) {
  return window.CSS && CSS.escape ? CSS.escape(text) : text.replace(/["\\]/g, "\\$&");
}
