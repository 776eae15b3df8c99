// The code panel of a smart cell with no plugin to write its code into a cell:
// the code, live, and a Copy button.
import { h } from "../base/_dom";

/** Copies `text`: the Clipboard API, or a selected textarea where it is refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, no focus): fall back below.
  }
  const area = h("textarea", { class: "kino-sc-copy-buffer", readonly: "" });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } finally {
    area.remove();
  }
  return ok;
}

/** The panel; `update(code)` shows new code. */
export function codePanel(): { el: HTMLElement; update(code: string): void } {
  const code = h("code");
  const copy = h("button", { type: "button", class: "kino-sc-copy" }, "Copy");
  let reset = 0;
  copy.addEventListener("click", async () => {
    const ok = await copyText(code.textContent ?? "");
    copy.textContent = ok ? "Copied" : "Copy failed: select the code";
    clearTimeout(reset);
    reset = window.setTimeout(() => (copy.textContent = "Copy"), 2000);
  });
  const el = h(
    "div",
    { class: "kino-sc-code" },
    h(
      "div",
      { class: "kino-sc-code-bar" },
      h("span", {}, "The code this form stands for: paste it into a cell"),
      copy,
    ),
    h("pre", {}, code),
  );
  return { el, update: (text: string) => (code.textContent = text) };
}
