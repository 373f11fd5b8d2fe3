// Slack's mrkdwn and text objects, rendered as DOM nodes.

import { S } from "./state.js";
import { append, h } from "./dom.js";
import { channelName, userName } from "./names.js";

function decode(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// Text with :emoji: shortcodes shown as text, in a span so they stand out.
function textWithEmoji(text) {
  const out = [];
  const re = /:[a-z0-9][a-z0-9_+'-]*:/g;
  let last = 0;
  let match;
  while ((match = re.exec(text))) {
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(h("span", { class: "emoji", title: match[0] }, match[0]));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function linesOf(text, decodeEntities) {
  const out = [];
  text.split("\n").forEach((line, i) => {
    if (i) out.push(h("br"));
    out.push(textWithEmoji(decodeEntities ? decode(line) : line));
  });
  return out;
}

export function safeHref(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

export function link(url, label) {
  const href = safeHref(url);
  if (!href) return h("span", {}, label);
  return h(
    "a",
    {
      href,
      target: "_blank",
      rel: "noopener noreferrer",
      onclick: (event) => {
        if (openInternal(href)) event.preventDefault();
      },
    },
    label,
  );
}

function special(token) {
  const [body, label] = splitOnce(token, "|");
  if (body.startsWith("@")) {
    const id = body.slice(1);
    return h("span", { class: "mention", dataset: { user: id } }, `@${label || userName(id)}`);
  }
  if (body.startsWith("#")) {
    const id = body.slice(1);
    return h(
      "a",
      {
        class: "mention channel",
        href: `#/channel/${id}`,
      },
      `#${label || channelName(id)}`,
    );
  }
  if (body.startsWith("!")) {
    const name = body.slice(1);
    if (name.startsWith("subteam^")) {
      return h("span", { class: "mention" }, label || `@${name.slice(8)}`);
    }
    if (name.startsWith("date^")) return h("span", {}, decode(label || name));
    return h("span", { class: "mention loud" }, `@${name}`);
  }
  return link(decode(body), decode(label || body));
}

export function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

const INLINE =
  /`([^`\n]+)`|<([^<>\n]+)>|(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])|(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/g;

function inline(text) {
  const out = [];
  const re = new RegExp(INLINE.source, "g");
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(linesOf(text.slice(last, m.index), true));
    if (m[1] !== undefined) out.push(h("code", {}, decode(m[1])));
    else if (m[2] !== undefined) out.push(special(m[2]));
    else if (m[3] !== undefined) out.push(h("b", {}, inline(m[3])));
    else if (m[4] !== undefined) out.push(h("i", {}, inline(m[4])));
    else if (m[5] !== undefined) out.push(h("s", {}, inline(m[5])));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(linesOf(text.slice(last), true));
  return out;
}

export function mrkdwn(text) {
  const out = [];
  const parts = String(text || "").split("```");
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      out.push(h("pre", { class: "code-block" }, decode(part.replace(/^\n/, "").replace(/\n$/, ""))));
      return;
    }
    if (i % 2 === 1) part = "```" + part; // an unclosed fence is plain text
    if (i > 0) part = part.replace(/^\n/, ""); // the code block already ends the line
    if (i < parts.length - 1) part = part.replace(/\n$/, "");
    let quote = null;
    let buffer = [];
    const flush = () => {
      if (buffer.length) out.push(h("span", {}, inline(buffer.join("\n"))));
      buffer = [];
    };
    for (const line of part.split("\n")) {
      const quoted = /^(&gt;|>) ?/.exec(line);
      if (quoted) {
        flush();
        if (!quote) {
          quote = h("blockquote");
          out.push(quote);
        } else quote.append(h("br"));
        append(quote, [inline(line.slice(quoted[0].length))]);
      } else {
        quote = null;
        buffer.push(line);
      }
    }
    flush();
  });
  return out;
}

export function textObject(obj, extraClass) {
  if (!obj) return null;
  if (obj.type === "mrkdwn") return h("span", { class: `mrkdwn ${extraClass || ""}` }, mrkdwn(obj.text));
  return h("span", { class: `plain ${extraClass || ""}` }, linesOf(String(obj.text ?? ""), false));
}

export function plainText(obj) {
  return obj ? String(obj.text ?? "") : "";
}

// A link to one of this page's own routes (a permalink the bot posted): follow it here.
function openInternal(href) {
  try {
    const url = new URL(href);
    if (url.hash.startsWith("#/") && url.port === (location.port || (location.protocol === "https:" ? "443" : "80")) && url.pathname === "/") {
      location.hash = url.hash;
      return true;
    }
  } catch (_) {
    return false;
  }
  return false;
}
