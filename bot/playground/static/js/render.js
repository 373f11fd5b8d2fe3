// Redraw every region from the latest state, keeping the caret where it was.

import { S } from "./state.js";
import { renderThread } from "./messages.js";
import { renderMain, renderSidebar } from "./layout.js";
import { renderModal } from "./modal.js";
import { refreshLog, refreshRunDetail, renderRuns } from "./panel.js";
import { renderNotices, renderTopbar } from "./topbar.js";

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

export function render() {
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
