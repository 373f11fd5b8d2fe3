// Element state in Slack's state.values shape, and what Slack's client checks before a
// view_submission.

import { S } from "./state.js";
import { cssEscape } from "./dom.js";

export function optionsOf(el) {
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

export function formKey(ctx, block, el) {
  return `${ctx.key}|${block.block_id}|${el.action_id}`;
}

export function getState(ctx, block, el) {
  const key = formKey(ctx, block, el);
  const saved = S.form.get(key);
  if (saved && saved.type === el.type) return saved;
  const fresh = initialState(el);
  if (fresh) S.form.set(key, fresh);
  return fresh;
}

export function setState(ctx, block, el, patch) {
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

function statefulElements(block) {
  const found = [];
  if (block.type === "input" && block.element) found.push(block.element);
  if (block.type === "actions") found.push(...(block.elements || []));
  if (block.type === "section" && block.accessory) found.push(block.accessory);
  return found.filter((el) => initialState(el) !== null);
}

// state.values as Slack sends it: block_id -> action_id -> element state.
export function collectValues(ctx) {
  const values = {};
  for (const block of ctx.blocks || []) {
    for (const el of statefulElements(block)) {
      values[block.block_id] = values[block.block_id] || {};
      values[block.block_id][el.action_id] = getState(ctx, block, el);
    }
  }
  return values;
}

// What Slack's client checks before it sends a view_submission at all.
export function clientErrors(ctx) {
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
