// Small DOM helpers shared by the widget modules. Everything user-supplied is
// set through textContent or attributes, never innerHTML.

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") el.className = value;
    else el.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

/** Shows a readable error inside a widget instead of a blank cell. */
export function showError(el: HTMLElement, message: string): HTMLElement {
  const box = h("div", { class: "kino-error", role: "alert" }, message);
  el.appendChild(box);
  return box;
}

/** True when the page uses a dark JupyterLab theme (or Voila's dark theme). */
export function isDarkTheme(): boolean {
  const body = document.body;
  const attr = body.dataset.jpThemeLight;
  if (attr !== undefined) return attr === "false";
  const bg = getComputedStyle(body).getPropertyValue("--jp-layout-color0").trim();
  if (bg.startsWith("#") && bg.length >= 7) {
    const r = parseInt(bg.slice(1, 3), 16);
    const g = parseInt(bg.slice(3, 5), 16);
    const b = parseInt(bg.slice(5, 7), 16);
    return 0.299 * r + 0.587 * g + 0.114 * b < 128;
  }
  return false;
}

/** Calls `fn` whenever JupyterLab switches between light and dark themes. */
export function onThemeChange(fn: (dark: boolean) => void): () => void {
  const observer = new MutationObserver(() => fn(isDarkTheme()));
  observer.observe(document.body, {
    attributes: true,
    attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"],
  });
  return () => observer.disconnect();
}
