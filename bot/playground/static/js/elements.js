// Block Kit elements (buttons, inputs, selects…) and the block_actions they send.

import { S } from "./state.js";
import { clear, domId, h, post, toast } from "./dom.js";
import { humans } from "./names.js";
import { plainText, safeHref, textObject } from "./mrkdwn.js";
import { collectValues, formKey, getState, optionsOf, setState } from "./form.js";

const typingTimers = {};

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

function labelFor(block) {
  return block && block.type === "input" ? plainText(block.label) : null;
}

// `where`: "input" (in an input block), "actions" or "accessory" (act at once).
export function renderElement(el, block, ctx, where) {
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

export function imagePlaceholder(alt, url) {
  return h("div", { class: "image-placeholder", title: url || "" }, h("span", { class: "muted" }, "image: "), alt || "");
}
