// The message box: messages and slash commands, with command hints.

import { S } from "./state.js";
import { $, clear, h, post, toast } from "./dom.js";

export function setupComposer() {
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
