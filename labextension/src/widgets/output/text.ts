// kino.text: plain text, or a terminal with ANSI colours (SGR codes only).
// Every piece of text goes through textContent.
import "./text.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";

const COLORS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

function applyCodes(style: Style, codes: number[]): Style {
  const s = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.keys(s).forEach((k) => delete (s as Record<string, unknown>)[k]);
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c >= 30 && c <= 37) s.fg = COLORS[c - 30];
    else if (c >= 90 && c <= 97) s.fg = "bright-" + COLORS[c - 90];
    else if (c === 39) delete s.fg;
    else if (c >= 40 && c <= 47) s.bg = COLORS[c - 40];
    else if (c >= 100 && c <= 107) s.bg = "bright-" + COLORS[c - 100];
    else if (c === 49) delete s.bg;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) i += 2;
    else if ((c === 38 || c === 48) && codes[i + 1] === 2) i += 4;
  }
  return s;
}

/** Splits text into styled spans; escape sequences other than SGR are dropped. */
export function ansiSpans(text: string): HTMLElement[] {
  const out: HTMLElement[] = [];
  // eslint-disable-next-line no-control-regex
  const re = /\u001b\[([0-9;]*)([A-Za-z])/g;
  let style: Style = {};
  let last = 0;
  const push = (chunk: string) => {
    if (!chunk) return;
    const cls = ["kino-ansi"];
    if (style.fg) cls.push(`kino-fg-${style.fg}`);
    if (style.bg) cls.push(`kino-bg-${style.bg}`);
    if (style.bold) cls.push("kino-bold");
    if (style.dim) cls.push("kino-dim");
    if (style.italic) cls.push("kino-italic");
    if (style.underline) cls.push("kino-underline");
    out.push(h("span", { class: cls.join(" ") }, chunk));
  };
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    push(text.slice(last, m.index));
    if (m[2] === "m") style = applyCodes(style, (m[1] || "0").split(";").map((x) => Number(x) || 0));
    last = re.lastIndex;
  }
  push(text.slice(last));
  return out;
}

/** The synced traits of kino.ui.output.text.Text. */
interface TextTraits {
  value: string;
  terminal: boolean;
}

function render({ model, el }: RenderProps<TextTraits>) {
  const root = h("div", { class: "kino kino-text" });
  el.appendChild(root);
  const draw = () => {
    const terminal = !!model.get("terminal");
    const text = model.get("value") ?? "";
    root.classList.toggle("kino-terminal", terminal);
    if (terminal) {
      root.replaceChildren(...ansiSpans(text));
      root.scrollTop = root.scrollHeight;
    } else {
      root.textContent = text;
    }
  };
  draw();
  return watch(model, ["value", "terminal"], draw);
}

export default { render };
