// The playground page: a small Slack client. It renders what the in-process Slack holds
// (messages, ephemerals, modals, the Home tab) and reports what the person does to the
// playground server, which turns it into the signed request Slack would send the bot.
// All text goes into the DOM as text nodes: nothing from the bot or the config is parsed
// as HTML.
"use strict";

(() => {
  // ---------------------------------------------------------------- state

  const S = {
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
  };

  // ---------------------------------------------------------------- DOM helpers

  const $ = (id) => document.getElementById(id);

  function h(tag, props, ...children) {
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

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  async function post(path, body) {
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

  function toast(text, kind) {
    const item = h("div", { class: `toast ${kind || ""}` }, text);
    $("toasts").append(item);
    setTimeout(() => item.remove(), 9000);
  }

  let ids = 0;
  const domIds = new Map();
  const typingTimers = {};
  function domId(key) {
    if (!domIds.has(key)) domIds.set(key, `el-${++ids}`);
    return domIds.get(key);
  }

  // ---------------------------------------------------------------- names

  function userById(id) {
    return (S.data?.users || []).find((u) => u.id === id);
  }
  function userName(id) {
    const user = userById(id);
    return user ? user.real_name : id;
  }
  function channelName(id) {
    if (id && id.startsWith("D")) return "Actions (direct message)";
    const channel = (S.data?.channels || []).find((c) => c.id === id);
    return channel ? channel.name : id;
  }
  function humans() {
    return (S.data?.users || []).filter((u) => !u.is_bot);
  }
  function timeOf(ts) {
    const date = new Date(parseFloat(ts) * 1000);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // ---------------------------------------------------------------- mrkdwn

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

  function linesOf(text, decodeEntities) {
    const out = [];
    text.split("\n").forEach((line, i) => {
      if (i) out.push(h("br"));
      out.push(textWithEmoji(decodeEntities ? decode(line) : line));
    });
    return out;
  }

  function safeHref(url) {
    return /^(https?:|mailto:)/i.test(url) ? url : null;
  }

  function link(url, label) {
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

  function splitOnce(text, sep) {
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

  function mrkdwn(text) {
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

  function textObject(obj, extraClass) {
    if (!obj) return null;
    if (obj.type === "mrkdwn") return h("span", { class: `mrkdwn ${extraClass || ""}` }, mrkdwn(obj.text));
    return h("span", { class: `plain ${extraClass || ""}` }, linesOf(String(obj.text ?? ""), false));
  }

  function plainText(obj) {
    return obj ? String(obj.text ?? "") : "";
  }

  // ---------------------------------------------------------------- element state

  function optionsOf(el) {
    if (el.option_groups) return el.option_groups.flatMap((g) => g.options || []);
    return el.options || [];
  }

  function initialState(el) {
    const t = el.type;
    switch (t) {
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input":
        return { type: t, value: el.initial_value ?? null };
      case "static_select":
      case "external_select":
      case "radio_buttons":
        return { type: t, selected_option: el.initial_option ?? null };
      case "multi_static_select":
      case "multi_external_select":
      case "checkboxes":
        return { type: t, selected_options: el.initial_options ?? [] };
      case "users_select":
        return { type: t, selected_user: el.initial_user ?? null };
      case "multi_users_select":
        return { type: t, selected_users: el.initial_users ?? [] };
      case "conversations_select":
        return { type: t, selected_conversation: el.initial_conversation ?? null };
      case "multi_conversations_select":
        return { type: t, selected_conversations: el.initial_conversations ?? [] };
      case "channels_select":
        return { type: t, selected_channel: el.initial_channel ?? null };
      case "multi_channels_select":
        return { type: t, selected_channels: el.initial_channels ?? [] };
      case "datepicker":
        return { type: t, selected_date: el.initial_date ?? null };
      case "timepicker":
        return { type: t, selected_time: el.initial_time ?? null };
      case "datetimepicker":
        return { type: t, selected_date_time: el.initial_date_time ?? null };
      default:
        return null;
    }
  }

  function formKey(ctx, block, el) {
    return `${ctx.key}|${block.block_id}|${el.action_id}`;
  }

  function getState(ctx, block, el) {
    const key = formKey(ctx, block, el);
    const saved = S.form.get(key);
    if (saved && saved.type === el.type) return saved;
    const fresh = initialState(el);
    if (fresh) S.form.set(key, fresh);
    return fresh;
  }

  function setState(ctx, block, el, patch) {
    const key = formKey(ctx, block, el);
    const next = { ...getState(ctx, block, el), ...patch };
    S.form.set(key, next);
    const errors = S.clientErrors[ctx.viewId];
    if (errors && errors[block.block_id]) {
      delete errors[block.block_id];
      const note = document.querySelector(`[data-error-for="${cssEscape(ctx.key + "|" + block.block_id)}"]`);
      if (note) note.remove();
    }
    return next;
  }

  function cssEscape(text) {
    return window.CSS && CSS.escape ? CSS.escape(text) : text.replace(/["\\]/g, "\\$&");
  }

  function statefulElements(block) {
    const found = [];
    if (block.type === "input" && block.element) found.push(block.element);
    if (block.type === "actions") found.push(...(block.elements || []));
    if (block.type === "section" && block.accessory) found.push(block.accessory);
    return found.filter((el) => initialState(el) !== null);
  }

  // state.values as Slack sends it: block_id -> action_id -> element state.
  function collectValues(ctx) {
    const values = {};
    for (const block of ctx.blocks || []) {
      for (const el of statefulElements(block)) {
        values[block.block_id] = values[block.block_id] || {};
        values[block.block_id][el.action_id] = getState(ctx, block, el);
      }
    }
    return values;
  }

  // ---------------------------------------------------------------- interactions

  function actionPayload(block, el, state) {
    const action = { type: el.type, action_id: el.action_id, block_id: block.block_id };
    if (el.type === "button") {
      action.text = el.text;
      if (el.value !== undefined) action.value = el.value;
      if (el.style) action.style = el.style;
      if (el.url) action.url = el.url;
    } else if (state) {
      Object.assign(action, state);
      action.type = el.type;
    }
    return action;
  }

  async function dispatch(ctx, block, el, state) {
    const action = actionPayload(block, el, state);
    const answer = await post("/playground/action", {
      user: S.user,
      source: ctx.source,
      action,
      values: collectValues(ctx),
    });
    if (!answer.ok) toast(`The app did not respond (${answer.error || "error"}).`, "error");
  }

  function withConfirm(confirm, then) {
    if (!confirm) return then();
    const close = () => layer.remove();
    const layer = h(
      "div",
      { class: "overlay confirm-layer" },
      h(
        "div",
        { class: "confirm", role: "alertdialog", "aria-label": plainText(confirm.title) || "Are you sure?" },
        h("h3", {}, plainText(confirm.title) || "Are you sure?"),
        h("div", { class: "confirm-text" }, textObject(confirm.text)),
        h(
          "div",
          { class: "modal-footer" },
          h("button", { type: "button", class: "btn", onclick: close }, plainText(confirm.deny) || "Cancel"),
          h(
            "button",
            {
              type: "button",
              class: `btn ${confirm.style === "danger" ? "danger" : "primary"}`,
              onclick: () => {
                close();
                then();
              },
            },
            plainText(confirm.confirm) || "Yes",
          ),
        ),
      ),
    );
    document.body.append(layer);
    layer.querySelector(".btn.primary, .btn.danger").focus();
  }

  // ---------------------------------------------------------------- elements

  function labelFor(block) {
    return block && block.type === "input" ? plainText(block.label) : null;
  }

  // `where`: "input" (in an input block), "actions" or "accessory" (act at once).
  function renderElement(el, block, ctx, where) {
    const immediate = where !== "input" || block.dispatch_action;
    const wrap = (node) =>
      h("div", { class: `element el-${el.type}`, dataset: { actionId: el.action_id || "" } }, node);
    const label = labelFor(block);
    const id = domId(formKey(ctx, block, el));
    const placeholder = plainText(el.placeholder);
    const changed = (patch) => {
      const state = setState(ctx, block, el, patch);
      if (immediate && ctx.source) withConfirm(el.confirm, () => dispatch(ctx, block, el, state));
    };

    switch (el.type) {
      case "button": {
        const cls = `btn ${el.style || ""}`;
        return wrap(
          h(
            "button",
            {
              type: "button",
              class: cls,
              onclick: () =>
                withConfirm(el.confirm, () => {
                  if (el.url && safeHref(el.url)) window.open(el.url, "_blank", "noopener");
                  dispatch(ctx, block, el, null);
                }),
            },
            plainText(el.text),
          ),
        );
      }
      case "overflow":
        return wrap(menuButton(el, (option) => withConfirm(el.confirm, () => dispatch(ctx, block, el, { selected_option: option }))));
      case "image":
        return wrap(imagePlaceholder(el.alt_text, el.image_url));
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input": {
        const state = getState(ctx, block, el);
        const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[el.type] || "text";
        const attrs = {
          id,
          name: el.action_id,
          placeholder,
          "aria-label": label || placeholder || el.action_id,
          value: state.value ?? "",
        };
        let input;
        if (el.multiline) {
          input = h("textarea", { ...attrs, rows: 4 });
          input.value = state.value ?? "";
        } else {
          input = h("input", { ...attrs, type });
          if (el.type === "number_input") {
            input.step = el.is_decimal_allowed ? "any" : "1";
            if (el.min_value !== undefined) input.min = el.min_value;
            if (el.max_value !== undefined) input.max = el.max_value;
          }
        }
        if (el.focus_on_load) input.autofocus = true;
        const trigger = el.dispatch_action_config?.trigger_actions_on || ["on_enter_pressed"];
        input.addEventListener("input", () => {
          const state = setState(ctx, block, el, { value: input.value === "" ? null : input.value });
          if (block.dispatch_action && trigger.includes("on_character_entered")) {
            // Like Slack, wait for a pause in typing before telling the app.
            clearTimeout(typingTimers[id]);
            typingTimers[id] = setTimeout(() => dispatch(ctx, block, el, state), 400);
          }
          if (el.max_length) counter.textContent = `${input.value.length}/${el.max_length}`;
        });
        input.addEventListener("keydown", (event) => {
          if (event.key === "Enter" && !event.shiftKey && block.dispatch_action && trigger.includes("on_enter_pressed")) {
            event.preventDefault();
            dispatch(ctx, block, el, getState(ctx, block, el));
          }
        });
        const counter = el.max_length
          ? h("span", { class: "counter" }, `${(state.value || "").length}/${el.max_length}`)
          : null;
        return wrap([input, counter]);
      }
      case "static_select": {
        const state = getState(ctx, block, el);
        const select = h("select", { id, name: el.action_id, "aria-label": label || placeholder || el.action_id });
        select.append(h("option", { value: "" }, placeholder || "Select an item"));
        const add = (parent, option) =>
          parent.append(h("option", { value: option.value, selected: state.selected_option?.value === option.value }, plainText(option.text)));
        if (el.option_groups) {
          for (const group of el.option_groups) {
            const node = h("optgroup", { label: plainText(group.label) });
            (group.options || []).forEach((o) => add(node, o));
            select.append(node);
          }
        } else (el.options || []).forEach((o) => add(select, o));
        select.addEventListener("change", () => {
          const option = optionsOf(el).find((o) => o.value === select.value) || null;
          changed({ selected_option: option });
        });
        return wrap(select);
      }
      case "users_select":
      case "conversations_select":
      case "channels_select": {
        const key = { users_select: "selected_user", conversations_select: "selected_conversation", channels_select: "selected_channel" }[el.type];
        const state = getState(ctx, block, el);
        const select = h("select", { id, name: el.action_id, "aria-label": label || placeholder || el.action_id });
        select.append(h("option", { value: "" }, placeholder || (el.type === "users_select" ? "Select a user" : "Select a channel")));
        for (const item of pickable(el.type, el.filter)) {
          select.append(h("option", { value: item.value, selected: state[key] === item.value }, item.label));
        }
        select.addEventListener("change", () => changed({ [key]: select.value || null }));
        return wrap(select);
      }
      case "multi_static_select":
      case "multi_users_select":
      case "multi_conversations_select":
      case "multi_channels_select":
        return wrap(multiSelect(el, block, ctx, id, label, placeholder, changed));
      case "external_select":
      case "multi_external_select":
        return wrap(externalSelect(el, block, ctx, id, label, placeholder, changed));
      case "checkboxes":
      case "radio_buttons": {
        const state = getState(ctx, block, el);
        const multi = el.type === "checkboxes";
        const group = h("div", { class: "choices", role: multi ? "group" : "radiogroup", "aria-label": label || el.action_id });
        (el.options || []).forEach((option, i) => {
          const checked = multi
            ? (state.selected_options || []).some((o) => o.value === option.value)
            : state.selected_option?.value === option.value;
          const input = h("input", {
            type: multi ? "checkbox" : "radio",
            name: id,
            id: `${id}-${i}`,
            value: option.value,
            checked,
          });
          input.addEventListener("change", () => {
            const chosen = [...group.querySelectorAll("input")].filter((x) => x.checked).map((x) => optionsOf(el).find((o) => o.value === x.value));
            changed(multi ? { selected_options: chosen } : { selected_option: chosen[0] || null });
          });
          group.append(
            h(
              "label",
              { class: "choice", for: `${id}-${i}` },
              input,
              h("span", {}, textObject(option.text), option.description ? h("span", { class: "choice-description" }, textObject(option.description)) : null),
            ),
          );
        });
        return wrap(group);
      }
      case "datepicker":
      case "timepicker":
      case "datetimepicker": {
        const state = getState(ctx, block, el);
        const type = { datepicker: "date", timepicker: "time", datetimepicker: "datetime-local" }[el.type];
        const input = h("input", { id, type, name: el.action_id, "aria-label": label || placeholder || el.action_id });
        if (el.type === "datepicker") input.value = state.selected_date || "";
        if (el.type === "timepicker") input.value = state.selected_time || "";
        if (el.type === "datetimepicker" && state.selected_date_time) input.value = localDateTime(state.selected_date_time);
        input.addEventListener("change", () => {
          if (el.type === "datepicker") changed({ selected_date: input.value || null });
          else if (el.type === "timepicker") changed({ selected_time: input.value || null });
          else changed({ selected_date_time: input.value ? Math.floor(new Date(input.value).getTime() / 1000) : null });
        });
        return wrap(input);
      }
      default:
        return wrap(h("div", { class: "unsupported" }, `The playground does not render ${el.type} elements.`));
    }
  }

  function localDateTime(seconds) {
    const d = new Date(seconds * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  // Users or channels a select offers, as {value, label}.
  function pickable(type, filter) {
    if (type.includes("users")) return humans().map((u) => ({ value: u.id, label: u.real_name }));
    const channels = (S.data?.channels || []).map((c) => ({ value: c.id, label: `#${c.name}` }));
    const include = filter?.include;
    const ims = !include || include.includes("im");
    if (type.includes("conversations") && S.data && ims) channels.push({ value: S.data.dm, label: "Actions (direct message)" });
    return channels;
  }

  const MULTI_KEYS = {
    multi_static_select: "selected_options",
    multi_external_select: "selected_options",
    multi_users_select: "selected_users",
    multi_conversations_select: "selected_conversations",
    multi_channels_select: "selected_channels",
  };

  function multiSelect(el, block, ctx, id, label, placeholder, changed) {
    const key = MULTI_KEYS[el.type];
    const isOptions = el.type === "multi_static_select";
    const all = isOptions ? optionsOf(el).map((o) => ({ value: o.value, label: plainText(o.text), option: o })) : pickable(el.type, el.filter);
    const box = h("div", { class: "multi" });
    const draw = () => {
      clear(box);
      const chosen = getState(ctx, block, el)[key] || [];
      const values = chosen.map((c) => (isOptions ? c.value : c));
      const chips = h("div", { class: "chips" });
      for (const value of values) {
        const item = all.find((a) => a.value === value);
        chips.append(
          h(
            "span",
            { class: "chip" },
            item ? item.label : value,
            h(
              "button",
              {
                type: "button",
                class: "chip-remove",
                "aria-label": `Remove ${item ? item.label : value}`,
                onclick: () => {
                  const rest = chosen.filter((c) => (isOptions ? c.value : c) !== value);
                  changed({ [key]: rest });
                  draw();
                },
              },
              "×",
            ),
          ),
        );
      }
      const full = el.max_selected_items && values.length >= el.max_selected_items;
      const select = h("select", { id, name: el.action_id, "aria-label": label || placeholder || el.action_id, disabled: full });
      select.append(h("option", { value: "" }, placeholder || "Select items"));
      for (const item of all) if (!values.includes(item.value)) select.append(h("option", { value: item.value }, item.label));
      select.addEventListener("change", () => {
        const item = all.find((a) => a.value === select.value);
        if (!item) return;
        changed({ [key]: [...chosen, isOptions ? item.option : item.value] });
        draw();
        box.querySelector("select")?.focus();
      });
      box.append(chips, select);
    };
    draw();
    return box;
  }

  // A typeahead that asks the app for options (a signed block_suggestion request).
  function externalSelect(el, block, ctx, id, label, placeholder, changed) {
    const multi = el.type === "multi_external_select";
    const box = h("div", { class: "external" });
    const list = h("ul", { class: "suggestions", role: "listbox", hidden: true });
    const chips = h("div", { class: "chips" });
    const input = h("input", { id, type: "text", name: el.action_id, placeholder: placeholder || "Type to search", "aria-label": label || placeholder || el.action_id, role: "combobox", "aria-autocomplete": "list" });
    const minimum = el.min_query_length ?? 3;
    const drawChips = () => {
      clear(chips);
      if (!multi) return;
      const chosen = getState(ctx, block, el).selected_options || [];
      for (const option of chosen) {
        chips.append(
          h("span", { class: "chip" }, plainText(option.text),
            h("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${plainText(option.text)}`, onclick: () => {
              changed({ selected_options: chosen.filter((o) => o.value !== option.value) });
              drawChips();
            } }, "×")),
        );
      }
    };
    if (!multi) input.value = plainText(getState(ctx, block, el).selected_option?.text);
    let timer = null;
    let asked = 0;
    const ask = async () => {
      const mine = ++asked;
      const answer = await post("/playground/suggest", {
        user: S.user,
        source: ctx.source || { type: "view", view_id: ctx.viewId },
        action_id: el.action_id,
        block_id: block.block_id,
        value: input.value,
      });
      if (mine !== asked) return;
      clear(list);
      const groups = answer.option_groups?.length ? answer.option_groups : [{ options: answer.options || [] }];
      let count = 0;
      for (const group of groups) {
        if (group.label) list.append(h("li", { class: "group-label" }, plainText(group.label)));
        for (const option of group.options || []) {
          count += 1;
          list.append(
            h("li", { role: "option", class: "suggestion", onmousedown: (event) => {
              event.preventDefault();
              list.hidden = true;
              if (multi) {
                const chosen = getState(ctx, block, el).selected_options || [];
                if (!chosen.some((o) => o.value === option.value)) changed({ selected_options: [...chosen, option] });
                input.value = "";
                drawChips();
              } else {
                input.value = plainText(option.text);
                changed({ selected_option: option });
              }
            } }, plainText(option.text)),
          );
        }
      }
      if (!count) list.append(h("li", { class: "no-options" }, answer.ok ? "No results" : "The app did not send options"));
      list.hidden = false;
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      if (!multi) setState(ctx, block, el, { selected_option: null });
      if (input.value.length < minimum) {
        list.hidden = true;
        return;
      }
      timer = setTimeout(ask, 200);
    });
    input.addEventListener("focus", () => {
      if (minimum === 0 && list.hidden) ask();
    });
    input.addEventListener("blur", () => setTimeout(() => (list.hidden = true), 150));
    drawChips();
    box.append(chips, input, list);
    return box;
  }

  function menuButton(el, choose) {
    const menu = h("ul", { class: "menu", role: "menu", hidden: true });
    for (const option of el.options || []) {
      menu.append(h("li", { role: "menuitem", tabindex: "0", onclick: () => {
        menu.hidden = true;
        choose(option);
      } }, plainText(option.text)));
    }
    const button = h("button", { type: "button", class: "btn overflow", "aria-label": "More actions", onclick: () => (menu.hidden = !menu.hidden) }, "⋯");
    return h("div", { class: "menu-wrap" }, button, menu);
  }

  function imagePlaceholder(alt, url) {
    return h("div", { class: "image-placeholder", title: url || "" }, h("span", { class: "muted" }, "image: "), alt || "");
  }

  // ---------------------------------------------------------------- blocks

  function renderBlocks(blocks, ctx) {
    ctx.blocks = blocks || [];
    const root = h("div", { class: "blocks" });
    for (const block of ctx.blocks) root.append(renderBlock(block, ctx));
    return root;
  }

  function renderBlock(block, ctx) {
    const node = (cls, ...children) => h("div", { class: `block ${cls}`, dataset: { blockId: block.block_id || "", blockType: block.type } }, ...children);
    switch (block.type) {
      case "header":
        return node("header-block", h("h2", {}, linesOf(plainText(block.text), false)));
      case "divider":
        return node("divider-block", h("hr"));
      case "section": {
        const body = h("div", { class: "section-body" });
        if (block.text) body.append(h("div", { class: "section-text" }, textObject(block.text)));
        if (block.fields) body.append(h("div", { class: "fields" }, block.fields.map((f) => h("div", { class: "field" }, textObject(f)))));
        const accessory = block.accessory
          ? h("div", { class: "accessory" }, block.accessory.type === "image" ? imagePlaceholder(block.accessory.alt_text, block.accessory.image_url) : renderElement(block.accessory, block, ctx, "accessory"))
          : null;
        return node("section-block", body, accessory);
      }
      case "context":
        return node(
          "context-block",
          (block.elements || []).map((el) => (el.type === "image" ? h("span", { class: "context-image" }, `[${el.alt_text || "image"}]`) : h("span", { class: "context-item" }, textObject(el)))),
        );
      case "actions":
        return node("actions-block", (block.elements || []).map((el) => renderElement(el, block, ctx, "actions")));
      case "image":
        return node("image-block", block.title ? h("div", { class: "image-title" }, textObject(block.title)) : null, imagePlaceholder(block.alt_text, block.image_url));
      case "input": {
        const el = block.element || {};
        const id = domId(formKey(ctx, block, el));
        const errorKey = `${ctx.key}|${block.block_id}`;
        const error = (S.clientErrors[ctx.viewId] || {})[block.block_id] || (ctx.errors || {})[block.block_id];
        return node(
          `input-block${error ? " has-error" : ""}`,
          h("label", { class: "input-label", for: id }, plainText(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
          renderElement(el, block, ctx, "input"),
          block.hint ? h("div", { class: "hint" }, textObject(block.hint)) : null,
          error ? h("div", { class: "input-error", role: "alert", dataset: { errorFor: errorKey } }, error) : null,
        );
      }
      case "rich_text":
        return node("rich-text-block", (block.elements || []).map(richText));
      default:
        return node("unsupported", `The playground does not render ${block.type} blocks.`);
    }
  }

  function richText(part) {
    const inlineParts = (elements) =>
      (elements || []).map((e) => {
        let node;
        if (e.type === "link") node = link(e.url, e.text || e.url);
        else if (e.type === "user") node = h("span", { class: "mention" }, `@${userName(e.user_id)}`);
        else if (e.type === "channel") node = h("span", { class: "mention" }, `#${channelName(e.channel_id)}`);
        else if (e.type === "emoji") node = h("span", { class: "emoji" }, `:${e.name}:`);
        else if (e.type === "broadcast") node = h("span", { class: "mention loud" }, `@${e.range}`);
        else node = h("span", {}, linesOf(e.text || "", false));
        const style = e.style || {};
        if (style.code) node = h("code", {}, node);
        if (style.bold) node = h("b", {}, node);
        if (style.italic) node = h("i", {}, node);
        if (style.strike) node = h("s", {}, node);
        return node;
      });
    if (part.type === "rich_text_preformatted") return h("pre", { class: "code-block" }, inlineParts(part.elements));
    if (part.type === "rich_text_quote") return h("blockquote", {}, inlineParts(part.elements));
    if (part.type === "rich_text_list") {
      const tag = part.style === "ordered" ? "ol" : "ul";
      return h(tag, {}, (part.elements || []).map((item) => h("li", {}, inlineParts(item.elements))));
    }
    return h("div", {}, inlineParts(part.elements));
  }

  // ---------------------------------------------------------------- messages

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

  function channelItems(channel) {
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

  function drawMessages(container, items, channel, opts) {
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

  // ---------------------------------------------------------------- regions

  function regionChanged(region, key) {
    const text = JSON.stringify(key);
    if (S.rendered[region] === text) return false;
    S.rendered[region] = text;
    return true;
  }

  function renderSidebar() {
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

  function renderMain() {
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

  function renderThread() {
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

  function renderModal() {
    const d = S.data;
    const stack = d.modals || [];
    const top = stack[stack.length - 1];
    // Client-side errors are drawn by submit() itself: typing clears them in place, so they
    // are not part of the key (a redraw would close an open type-ahead list).
    const key = top ? [top, stack.length, S.busy[top.view.id], d.users] : null;
    if (!regionChanged("modal", key)) return;
    const root = clear($("modal-root"));
    if (!top) return;
    const view = top.view;
    const ctx = { key: `view:${view.id}`, viewId: view.id, errors: top.errors, source: { type: "view", view_id: view.id } };
    const busy = !!S.busy[view.id];
    const title = plainText(view.title);
    const close = (all) => post("/playground/close", { user: S.user, view_id: view.id, all });
    const body = renderBlocks(view.blocks, ctx);
    const dialog = h(
      "div",
      { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title, dataset: { viewId: view.id, callbackId: view.callback_id || "" } },
      h(
        "header",
        { class: "modal-header" },
        stack.length > 1 ? h("button", { type: "button", class: "icon-button", "aria-label": "Back", onclick: () => close(false) }, "‹") : null,
        h("h2", {}, title),
        h("button", { type: "button", class: "icon-button", "aria-label": "Close modal", onclick: () => close(true) }, "×"),
      ),
      h("div", { class: "modal-body" }, body),
      top.notice ? h("div", { class: "modal-notice", role: "alert" }, top.notice) : null,
      h(
        "footer",
        { class: "modal-footer" },
        h("button", { type: "button", class: "btn", onclick: () => close(stack.length === 1) }, plainText(view.close) || (view.submit ? "Cancel" : "Close")),
        view.submit
          ? h("button", { type: "button", class: "btn primary", disabled: busy, onclick: () => submit(view, ctx) }, busy ? "Sending…" : plainText(view.submit))
          : null,
      ),
    );
    root.append(h("div", { class: "overlay" }, dialog));
    const first = dialog.querySelector("[autofocus]");
    if (first) first.focus();
  }

  // What Slack's client checks before it sends a view_submission at all.
  function clientErrors(ctx) {
    const errors = {};
    for (const block of ctx.blocks) {
      if (block.type !== "input" || !block.element) continue;
      const el = block.element;
      const state = getState(ctx, block, el);
      if (!state) continue;
      const value = state.value ?? state.selected_option ?? state.selected_user ?? state.selected_conversation ?? state.selected_channel ?? state.selected_date ?? state.selected_time ?? state.selected_date_time;
      const list = state.selected_options ?? state.selected_users ?? state.selected_conversations ?? state.selected_channels;
      const empty = list ? list.length === 0 : value === null || value === undefined || value === "";
      if (empty) {
        if (!block.optional) errors[block.block_id] = "Please complete this required field.";
        continue;
      }
      if (typeof state.value === "string") {
        const text = state.value;
        if (el.min_length && text.length < el.min_length) errors[block.block_id] = `Must be at least ${el.min_length} characters.`;
        if (el.max_length && text.length > el.max_length) errors[block.block_id] = `Must be ${el.max_length} characters or fewer.`;
        if (el.type === "number_input") {
          const number = Number(text);
          if (text.trim() === "" || Number.isNaN(number)) errors[block.block_id] = "Please enter a number.";
          else if (!el.is_decimal_allowed && !Number.isInteger(number)) errors[block.block_id] = "Please enter a whole number.";
          else if (el.min_value !== undefined && number < Number(el.min_value)) errors[block.block_id] = `Must be at least ${el.min_value}.`;
          else if (el.max_value !== undefined && number > Number(el.max_value)) errors[block.block_id] = `Must be ${el.max_value} or less.`;
        }
        if (el.type === "email_text_input" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text)) errors[block.block_id] = "Please enter a valid email address.";
        if (el.type === "url_text_input" && !/^https?:\/\/\S+$/i.test(text)) errors[block.block_id] = "Please enter a valid URL.";
      }
    }
    return errors;
  }

  async function submit(view, ctx) {
    const errors = clientErrors(ctx);
    S.clientErrors[view.id] = errors;
    if (Object.keys(errors).length) {
      S.rendered.modal = null;
      renderModal();
      return;
    }
    S.busy[view.id] = true;
    S.rendered.modal = null;
    renderModal();
    const answer = await post("/playground/submit", { user: S.user, view_id: view.id, values: collectValues(ctx) });
    delete S.busy[view.id];
    S.rendered.modal = null;
    if (!answer.ok) toast(`The submission failed: ${answer.error}`, "error");
    renderModal();
  }

  // ---------------------------------------------------------------- side panel

  const STATUS = { PENDING: "pending", RUNNING: "running", SUCCESS: "success", FAILURE: "failure", TIMED_OUT: "timed out", CANCELLED: "cancelled" };

  function renderRuns() {
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

  function selectRun(id, follow) {
    S.selectedRun = id;
    S.followLatest = !!follow;
    showPanel("runs");
    document.body.classList.remove("panel-hidden");
    $("panel-toggle").setAttribute("aria-pressed", "true");
    S.rendered.runs = null;
    renderRuns();
  }

  let detailTimer = null;
  function refreshRunDetail() {
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

  async function refreshLog() {
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

  function showPanel(name) {
    S.panel = name;
    $("panel-runs").hidden = name !== "runs";
    $("panel-log").hidden = name !== "log";
    $("panel-runs-tab").classList.toggle("active", name === "runs");
    $("panel-log-tab").classList.toggle("active", name === "log");
    refreshLog();
  }

  // ---------------------------------------------------------------- top bar

  function renderTopbar() {
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

  function renderNotices() {
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

  // ---------------------------------------------------------------- routing

  function parseRoute() {
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

  function openThread(channel, ts) {
    S.thread = { channel, ts };
    const run = runFor(channel, ts);
    if (run) selectRun(run.id, run.id === S.data.runs[0]?.id);
    renderThread();
  }

  // ---------------------------------------------------------------- composer

  function setupComposer() {
    const input = $("composer");
    const hints = $("command-hints");
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      hints.hidden = true;
      const channel = S.route.id;
      const answer = text.startsWith("/")
        ? await post("/playground/command", { user: S.user, channel, text })
        : await post("/playground/message", { user: S.user, channel, text });
      if (!answer.ok && answer.error !== "unknown_command") toast(`Not sent: ${answer.error}`, "error");
    };
    $("composer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        send();
      }
    });
    input.addEventListener("input", () => {
      const text = input.value;
      clear(hints);
      const commands = Object.entries(S.data?.commands || {}).filter(([name]) => text.startsWith("/") && !text.includes(" ") && name.startsWith(text));
      hints.hidden = !commands.length;
      for (const [name, about] of commands) {
        hints.append(
          h(
            "button",
            { type: "button", class: "hint-item", onclick: () => {
              input.value = `${name} `;
              hints.hidden = true;
              input.focus();
            } },
            h("b", {}, name),
            about.usage_hint ? h("span", { class: "muted" }, ` ${about.usage_hint}`) : null,
            h("span", { class: "hint-about" }, about.description),
          ),
        );
      }
    });
  }

  // ---------------------------------------------------------------- main loop

  // Keep the caret where it was when a region is redrawn (a modal updated while typing).
  function keepFocus(draw) {
    const active = document.activeElement;
    const id = active && active.id;
    let range = null;
    try {
      range = [active.selectionStart, active.selectionEnd];
    } catch (_) {
      range = null;
    }
    draw();
    const again = id && document.getElementById(id);
    if (again && again !== active) {
      again.focus();
      if (range && range[0] !== null) {
        try {
          again.setSelectionRange(range[0], range[1]);
        } catch (_) {
          // not a text field
        }
      }
    }
  }

  function render() {
    keepFocus(renderAll);
  }

  function renderAll() {
    renderTopbar();
    renderSidebar();
    renderMain();
    renderThread();
    renderModal();
    renderRuns();
    refreshRunDetail();
    renderNotices();
    if (S.panel === "log") refreshLog();
    document.body.dataset.version = String(S.data.version);
    document.body.dataset.user = S.data.me; // whose view of the workspace this is
  }

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
})();
