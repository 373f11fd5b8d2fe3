// Block Kit blocks: the renderer messages, modals and the Home tab share.

import { S } from "./state.js";
import { domId, h } from "./dom.js";
import { channelName, userName } from "./names.js";
import { linesOf, link, plainText, textObject } from "./mrkdwn.js";
import { formKey } from "./form.js";
import { imagePlaceholder, renderElement } from "./elements.js";

export function renderBlocks(blocks, ctx) {
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
