// The modal stack: the top view, and its submission.

import { S, regionChanged } from "./state.js";
import { $, clear, h, post, toast } from "./dom.js";
import { plainText } from "./mrkdwn.js";
import { clientErrors, collectValues } from "./form.js";
import { renderBlocks } from "./blocks.js";

export function renderModal() {
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
