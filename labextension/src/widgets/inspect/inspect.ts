// kino.inspect: tensor and model inspector. Python computes statistics and a
// downsampled view on the device; the view's float32 (or RGBA) bytes arrive in
// the `view_data` trait, and requests for another slice, axis pair, reduction
// or leaf go back as custom messages. The selection lives in synced traits, so
// a saved notebook reopens showing the same view.
import "./inspect.css";
import { h, isDarkTheme, onThemeChange } from "../base/_dom";
import { watch, type AnyModel, type RenderProps } from "../base/_model";
import { keepChildren } from "./_children";
import { heatmapBox, imageBox, sizeTo } from "./_layout";
import {
  Block,
  Histogram,
  bytesOf,
  colourBar,
  colourise,
  colouriseColumns,
  floats,
  fmt,
  fmtBytes,
  histogram,
  scaleOf,
  shardingMap,
  svg,
} from "./_draw";

interface PartStats {
  min: unknown;
  max: unknown;
  mean: unknown;
  std: unknown;
  nan: number;
  posinf: number;
  neginf: number;
  zeros: number;
  finite: number;
  histogram: Histogram;
}

interface Summary {
  shape: number[];
  dtype: string;
  kind: string;
  bytes: number;
  size: number;
  note: string;
  views: string[];
  parts: string[];
  path?: string;
  sharding: { devices: string[]; kind: string; spec: string; blocks: Block[] };
  stats: { kind: string; count: number; parts: Record<string, PartStats> };
}

interface Selection {
  axes: number[];
  index: number[];
  mode: string;
  part: string;
  view: string;
  /** "all": one colour scale for the slice; "columns": one per column. */
  scale: string;
}

interface View {
  kind: string;
  part: string;
  scale?: string;
  /** A table of features (kino.ui.inspect.columns.is_tabular): per-column colour applies. */
  tabular?: boolean;
  signed: boolean;
  rows?: number;
  cols?: number;
  block?: number[] | number;
  slice_shape?: number[];
  points?: number;
  length?: number;
  height?: number;
  width?: number;
  table?: string[][] | null;
}

interface CompareTop {
  index: number[];
  a: unknown;
  b: unknown;
  diff: unknown;
}

/** compare_stats() of kino/ui/inspect/stats.py, plus each side's dtype and shape. */
interface Compare {
  max_abs?: unknown;
  mean_abs?: unknown;
  max_rel?: unknown;
  not_equal?: number;
  nan_mismatch?: number;
  nonfinite_diff?: number;
  top?: CompareTop[];
  a?: { dtype: string; shape: number[] };
  b?: { dtype: string; shape: number[] };
}

interface TreeTotals {
  params?: number;
  bytes?: number;
  leaves?: number;
  nan?: number;
  inf?: number;
  types?: Record<string, number>;
}

/** kino/ui/inspect/tree.py's Tree as Inspector sends it ({} until a tree is shown). */
interface TreeData {
  rows?: Row[];
  totals?: TreeTotals;
  truncated?: number;
}

/**
 * The synced traits of kino.ui.inspect.widget.Inspector. The dict traits are
 * `{}` until Python fills them, so the code checks them (e.g. `summary.shape`)
 * before use.
 */
interface InspectTraits {
  kind: "array" | "tree" | "compare";
  title: string;
  summary: Summary;
  selection: Selection;
  view: View;
  /** The view's float32 (or RGBA) bytes. */
  view_data: DataView | null;
  tree: TreeData;
  selected_leaf: number;
  leaf_summary: Summary;
  compare: Compare;
  error: string;
}

type InspectModel = AnyModel<InspectTraits>;

const PART_LABEL: Record<string, string> = {
  value: "value",
  abs: "magnitude |x|",
  angle: "phase",
  real: "real",
  imag: "imaginary",
};
const VIEW_LABEL: Record<string, string> = {
  heatmap: "Heatmap",
  image: "Image",
  line: "Line",
  scalar: "Value",
  empty: "Empty",
};

function shapeText(s: Summary): string {
  return `${s.dtype}[${s.shape.join(", ")}]`;
}

/** The header: dtype[shape], bytes, devices, sharding. */
function header(s: Summary, title?: string): HTMLElement {
  const devs = s.sharding.devices;
  const chips = [
    h("span", { class: "kino-inspect-chip" }, fmtBytes(s.bytes)),
    h(
      "span",
      { class: "kino-inspect-chip", title: devs.join(", ") },
      devs.length === 1 ? devs[0] : `${devs.length} devices`,
    ),
  ];
  if (s.sharding.blocks.length > 1) {
    const spec = s.sharding.spec ? ` ${s.sharding.spec}` : "";
    chips.push(h("span", { class: "kino-inspect-chip" }, `${s.sharding.kind}${spec}`));
  }
  if (s.note) chips.push(h("span", { class: "kino-inspect-chip kino-inspect-muted" }, s.note));
  return h(
    "div",
    { class: "kino-inspect-header" },
    title ? h("span", { class: "kino-inspect-title" }, title) : null,
    h("span", { class: "kino-inspect-shape" }, shapeText(s)),
    ...chips,
  );
}

/** A label/value grid; a row marked bad shows its value in the warning colour. */
function statGrid(rows: [string, unknown, boolean?][], extraClass = ""): HTMLElement {
  const grid = h("div", { class: `kino-inspect-grid${extraClass}` });
  for (const [label, value, bad] of rows) {
    grid.append(
      h("span", { class: "kino-inspect-label" }, label),
      h("span", { class: `kino-inspect-num${bad ? " kino-inspect-bad" : ""}` }, fmt(value)),
    );
  }
  return grid;
}

/** Statistics (one column per part) and the histogram. */
function statsPanel(s: Summary): HTMLElement {
  const parts = Object.keys(s.stats.parts);
  const box = h("div", { class: "kino-inspect-stats" });
  for (const name of parts) {
    const p = s.stats.parts[name];
    const grid = statGrid([
      ["min", p.min],
      ["max", p.max],
      ["mean", p.mean],
      ["std", p.std],
      ["NaN", p.nan, p.nan > 0],
      ["+inf", p.posinf, p.posinf > 0],
      ["−inf", p.neginf, p.neginf > 0],
      ["zeros", p.zeros],
    ]);
    const col = h(
      "div",
      { class: "kino-inspect-part" },
      parts.length > 1 ? h("div", { class: "kino-inspect-part-title" }, PART_LABEL[name] ?? name) : null,
      grid,
      histogram(p.histogram, s.size),
    );
    box.append(col);
  }
  return box;
}

function valuesTable(rows: string[][], twoD: boolean): HTMLElement {
  const table = h("table", { class: "kino-inspect-table" });
  if (twoD && rows.length > 0) {
    const head = h("tr", {}, h("th", {}, ""));
    rows[0].forEach((_, j) => head.append(h("th", {}, String(j))));
    table.append(h("thead", {}, head));
  }
  const body = h("tbody");
  rows.forEach((row, i) => {
    const tr = h("tr", {}, twoD ? h("th", {}, String(i)) : null);
    for (const v of row) tr.append(h("td", {}, v));
    body.append(tr);
  });
  table.append(body);
  return h("div", { class: "kino-inspect-table-box" }, table);
}

/** Shows a slider's position in its label and to screen readers. */
function showPosition(input: HTMLInputElement, length: number) {
  const text = `${input.value} / ${length - 1}`;
  input.setAttribute("aria-valuetext", text);
  const label = input.nextElementSibling;
  if (label) label.textContent = text;
}

/** Slider steps per key; PageUp/PageDown move a tenth of the axis. */
function keyStep(key: string, value: number, length: number): number | null {
  const big = Math.max(1, Math.round((length - 1) / 10));
  switch (key) {
    case "ArrowRight":
    case "ArrowUp":
      return value + 1;
    case "ArrowLeft":
    case "ArrowDown":
      return value - 1;
    case "PageUp":
      return value + big;
    case "PageDown":
      return value - big;
    case "Home":
      return 0;
    case "End":
      return length - 1;
    default:
      return null;
  }
}

/**
 * Steps a slice slider from the keyboard. The keys are handled here, the same in
 * every browser, and kept from JupyterLab, whose notebook shortcuts would
 * otherwise move the active cell on ArrowUp/ArrowDown.
 */
function stepFromKeyboard(ev: KeyboardEvent, input: HTMLInputElement, length: number) {
  if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  const value = Number(input.value);
  const next = keyStep(ev.key, value, length);
  if (next === null) return;
  ev.preventDefault();
  ev.stopPropagation();
  const clamped = Math.max(0, Math.min(length - 1, next));
  if (clamped === value) return;
  input.value = String(clamped);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

class ArrayView {
  el: HTMLElement;
  private pending: Partial<Selection> | null = null;
  private timer: number | undefined;
  private controls: HTMLElement | null = null;
  private controlsKey = "";
  private scaleToggle: HTMLInputElement | null = null;

  constructor(
    private model: InspectModel,
    private summaryTrait: "summary" | "leaf_summary" = "summary",
  ) {
    this.el = h("div", { class: "kino-inspect-array" });
  }

  private request(change: Partial<Selection>) {
    this.pending = { ...(this.pending ?? {}), ...change };
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      const msg = { type: "select", ...this.pending };
      this.pending = null;
      this.model.send(msg);
    }, 40);
  }

  draw() {
    const s = this.model.get(this.summaryTrait);
    const sel = this.model.get("selection");
    const view = this.model.get("view");
    if (!s || !s.shape || !sel || !view) {
      this.el.replaceChildren();
      return;
    }
    // Controls are rebuilt only when their structure changes and are never
    // detached: a slider being dragged or stepped from the keyboard keeps its
    // state and the focus while new slices arrive.
    const key = JSON.stringify([s.shape, s.dtype, s.views, sel.axes, sel.view, sel.part, sel.mode, view.block]);
    if (this.controls && key === this.controlsKey) {
      for (const input of this.controls.querySelectorAll<HTMLInputElement>("input.kino-inspect-slider")) {
        // The slider being used may be ahead of the slice Python last sent.
        if (document.activeElement === input) continue;
        const a = Number(input.dataset.axis);
        if (Number(input.value) !== sel.index[a]) {
          input.value = String(sel.index[a]);
          showPosition(input, s.shape[a]);
        }
      }
      if (this.scaleToggle && this.pending?.scale === undefined) {
        this.scaleToggle.checked = sel.scale === "columns";
      }
    } else {
      this.scaleToggle = null;
      this.controls = this.buildControls(s, sel, view);
      this.controlsKey = key;
    }
    const [body, table] = this.drawBody(s, sel, view);
    keepChildren(this.el, [this.controls, body, table]);
  }

  private buildControls(s: Summary, sel: Selection, view: View): HTMLElement {
    const controls = h("div", { class: "kino-inspect-controls" });
    if (s.views.length > 1) {
      const tabs = h("div", { class: "kino-inspect-tabs", role: "tablist" });
      for (const v of s.views) {
        const b = h("button", { class: "kino-inspect-tab", role: "tab", "data-view": v }, VIEW_LABEL[v] ?? v);
        b.setAttribute("aria-selected", String(v === sel.view));
        b.addEventListener("click", () => this.request({ view: v }));
        tabs.append(b);
      }
      controls.append(tabs);
    }
    if (s.parts.length > 1 && sel.view !== "image") {
      const select = h("select", { class: "kino-inspect-part-select", "aria-label": "part" });
      for (const p of s.parts) {
        const o = h("option", { value: p }, PART_LABEL[p] ?? p);
        o.selected = p === sel.part;
        select.append(o);
      }
      select.addEventListener("change", () => this.request({ part: select.value }));
      controls.append(h("label", { class: "kino-inspect-field" }, "show ", select));
    }
    if (sel.view === "heatmap") this.heatmapControls(controls, s, sel, view);
    return controls;
  }

  private drawBody(s: Summary, sel: Selection, view: View): [HTMLElement, HTMLElement | null] {
    const body = h("div", { class: "kino-inspect-view" });
    if (sel.view === "heatmap") body.append(this.heatmap(s, sel, view));
    else if (sel.view === "line") body.append(this.line(view));
    else if (sel.view === "image") body.append(this.image(view));
    else if (sel.view === "empty")
      body.append(h("div", { class: "kino-inspect-muted" }, "empty array: no values"));
    const table = view.table && sel.view !== "image" ? valuesTable(view.table, s.shape.length >= 2) : null;
    return [body, table];
  }

  private heatmapControls(box: HTMLElement, s: Summary, sel: Selection, view: View) {
    const nd = s.shape.length;
    const axisSelect = (which: 0 | 1) => {
      const select = h("select", {
        class: `kino-inspect-axis kino-inspect-axis-${which === 0 ? "rows" : "cols"}`,
        "aria-label": which === 0 ? "rows axis" : "columns axis",
      });
      for (let a = 0; a < nd; a++) {
        const o = h("option", { value: String(a) }, `axis ${a} (${s.shape[a]})`);
        o.selected = a === sel.axes[which];
        select.append(o);
      }
      select.addEventListener("change", () => {
        const a = Number(select.value);
        const axes = [...sel.axes];
        if (axes[1 - which] === a) axes[1 - which] = axes[which];
        axes[which] = a;
        this.request({ axes });
      });
      return select;
    };
    if (nd > 2) {
      box.append(
        h("label", { class: "kino-inspect-field" }, "rows ", axisSelect(0)),
        h("label", { class: "kino-inspect-field" }, "cols ", axisSelect(1)),
      );
    }
    const block = (view.block as number[] | undefined) ?? [1, 1];
    const mode = h("select", { class: "kino-inspect-mode", "aria-label": "block reduction" });
    for (const [v, label] of [
      ["mean", "block mean"],
      ["maxabs", "block max |x|"],
    ]) {
      const o = h("option", { value: v }, label);
      o.selected = v === sel.mode;
      mode.append(o);
    }
    mode.disabled = block[0] === 1 && block[1] === 1;
    mode.title = mode.disabled ? "shown at full resolution" : `each cell is a ${block[0]}×${block[1]} block`;
    mode.addEventListener("change", () => this.request({ mode: mode.value }));
    box.append(h("label", { class: "kino-inspect-field" }, "downsample ", mode));
    // Per-column colour is for tables; an image or feature map has no such columns.
    if (view.tabular || sel.scale === "columns") {
      const toggle = h("input", { type: "checkbox", class: "kino-inspect-scale" });
      toggle.checked = sel.scale === "columns";
      toggle.title = "colour each column from its own range (a table of features)";
      toggle.addEventListener("change", () => this.request({ scale: toggle.checked ? "columns" : "all" }));
      this.scaleToggle = toggle;
      box.append(h("label", { class: "kino-inspect-field" }, toggle, " colour per column"));
    }
    const sliders = h("div", { class: "kino-inspect-sliders" });
    for (let a = 0; a < nd; a++) {
      const n = s.shape[a];
      // An axis of length 1 (a grey image's channel) has nothing to slide over.
      if (a === sel.axes[0] || a === sel.axes[1] || n === 1) continue;
      const input = h("input", {
        type: "range",
        min: "0",
        max: String(n - 1),
        value: String(sel.index[a]),
        class: "kino-inspect-slider",
        "data-axis": String(a),
        "aria-label": `axis ${a}`,
      });
      const label = h("span", { class: "kino-inspect-num" });
      input.addEventListener("input", () => {
        showPosition(input, n);
        const index = [...(this.pending?.index ?? this.model.get("selection").index)];
        index[a] = Number(input.value);
        this.request({ index });
      });
      input.addEventListener("keydown", (ev) => stepFromKeyboard(ev, input, n));
      sliders.append(h("label", { class: "kino-inspect-slider-row" }, `axis ${a}`, input, label));
      showPosition(input, n);
    }
    if (sliders.childElementCount) box.append(sliders);
  }

  private heatmap(s: Summary, sel: Selection, view: View): HTMLElement {
    const rows = view.rows ?? 0;
    const cols = view.cols ?? 0;
    const values = floats(this.model.get("view_data"));
    const dark = isDarkTheme();
    const perColumn = view.scale === "columns";
    const scale = scaleOf(values, view.signed && !perColumn);
    const canvas = h("canvas", { class: "kino-inspect-canvas", width: String(cols), height: String(rows) });
    const ctx = canvas.getContext("2d");
    if (ctx && rows > 0 && cols > 0 && values.length === rows * cols) {
      const img = ctx.createImageData(cols, rows);
      if (perColumn) colouriseColumns(values, rows, cols, dark, img.data);
      else colourise(values, scale, dark, img.data);
      ctx.putImageData(img, 0, 0);
    }
    sizeTo(canvas, heatmapBox(rows, cols));
    const block = (view.block as number[]) ?? [1, 1];
    const [ra, ca] = sel.axes;
    const readout = h("div", { class: "kino-inspect-readout" }, "hover a cell to read its value");
    canvas.addEventListener("mousemove", (ev) => {
      const r = canvas.getBoundingClientRect();
      const j = Math.min(cols - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * cols)));
      const i = Math.min(rows - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * rows)));
      const v = values[i * cols + j];
      if (block[0] === 1 && block[1] === 1) {
        const idx = sel.index.map((p, a) => (a === ra ? i : a === ca ? j : p));
        readout.textContent = `[${idx.join(", ")}] = ${fmt(v)}`;
      } else {
        const sh = view.slice_shape ?? [rows, cols];
        const r1 = Math.min(sh[0], (i + 1) * block[0]) - 1;
        const c1 = Math.min(sh[1], (j + 1) * block[1]) - 1;
        const what = sel.mode === "mean" ? "mean" : "max |x|";
        readout.textContent =
          `axis ${ra} ${i * block[0]}–${r1}, axis ${ca} ${j * block[1]}–${c1}: ${what} = ${fmt(v)}`;
      }
      readout.dataset.row = String(i);
      readout.dataset.col = String(j);
    });
    const sh = view.slice_shape ?? [rows, cols];
    const caption =
      block[0] * block[1] > 1
        ? `axis ${ra} × axis ${ca} (${sh[0]}×${sh[1]}) shown as ${rows}×${cols} cells of ${block[0]}×${block[1]}`
        : `rows: axis ${ra} (${sh[0]}) · columns: axis ${ca} (${sh[1]})`;
    return h(
      "div",
      { class: "kino-inspect-heatmap" },
      h("div", { class: "kino-inspect-muted" }, caption),
      canvas,
      colourBar(scale, dark, perColumn),
      readout,
    );
  }

  private line(view: View): HTMLElement {
    const n = view.points ?? 0;
    const data = floats(this.model.get("view_data"));
    const lo = data.subarray(0, n);
    const hi = data.subarray(n, 2 * n);
    const mean = data.subarray(2 * n, 3 * n);
    const flags = data.subarray(3 * n, 4 * n);
    let ymin = Infinity;
    let ymax = -Infinity;
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(lo[i])) ymin = Math.min(ymin, lo[i]);
      if (Number.isFinite(hi[i])) ymax = Math.max(ymax, hi[i]);
    }
    if (ymin === Infinity) {
      ymin = 0;
      ymax = 1;
    }
    if (ymax === ymin) {
      ymin -= 0.5;
      ymax += 0.5;
    }
    const W = 640;
    const H = 170;
    const P = 6;
    const x = (i: number) => P + (n <= 1 ? (W - 2 * P) / 2 : (i / (n - 1)) * (W - 2 * P));
    const y = (v: number) => P + (1 - (v - ymin) / (ymax - ymin)) * (H - 2 * P - 8);
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "kino-inspect-line" });
    if (ymin < 0 && ymax > 0) {
      s.append(svg("line", { x1: 0, x2: W, y1: y(0), y2: y(0), class: "kino-inspect-zero" }));
    }
    const block = (view.block as number) ?? 1;
    if (block > 1) {
      let d = "";
      for (let i = 0; i < n; i++) if (Number.isFinite(hi[i])) d += `${d ? "L" : "M"}${x(i)},${y(hi[i])}`;
      for (let i = n - 1; i >= 0; i--) if (Number.isFinite(lo[i])) d += `L${x(i)},${y(lo[i])}`;
      if (d) s.append(svg("path", { d: d + "Z", class: "kino-inspect-band" }));
    }
    let d = "";
    let pen = false;
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(mean[i])) {
        d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(mean[i]).toFixed(1)}`;
        pen = true;
      } else pen = false;
    }
    s.append(svg("path", { d, class: "kino-inspect-mean" }));
    for (let i = 0; i < n; i++) {
      const f = flags[i];
      if (!f) continue;
      const cls = f & 1 ? "kino-inspect-mark-nan" : f & 2 ? "kino-inspect-mark-pinf" : "kino-inspect-mark-ninf";
      s.append(svg("rect", { x: x(i) - 1.5, y: H - 8, width: 3, height: 8, class: cls }));
    }
    const readout = h("div", { class: "kino-inspect-readout" }, "hover to read values");
    s.addEventListener("mousemove", (ev) => {
      const r = s.getBoundingClientRect();
      const px = ((ev.clientX - r.left) / r.width) * W;
      const i = Math.max(0, Math.min(n - 1, Math.round(((px - P) / (W - 2 * P)) * (n - 1))));
      const first = i * block;
      const last = Math.min(view.length ?? n, first + block) - 1;
      const where = block > 1 ? `[${first}–${last}]` : `[${first}]`;
      const extra = block > 1 ? ` (min ${fmt(lo[i])}, max ${fmt(hi[i])})` : "";
      const bad = flags[i] ? `, has ${[flags[i] & 1 ? "NaN" : "", flags[i] & 2 ? "+inf" : "", flags[i] & 4 ? "−inf" : ""].filter(Boolean).join(", ")}` : "";
      readout.textContent = `${where} ${block > 1 ? "mean " : ""}= ${fmt(mean[i])}${extra}${bad}`;
    });
    const axis = h(
      "div",
      { class: "kino-inspect-hist-axis" },
      h("span", {}, "0"),
      h("span", {}, block > 1 ? `${fmt(n)} blocks of ${fmt(block)}` : ""),
      h("span", {}, fmt((view.length ?? n) - 1)),
    );
    return h(
      "div",
      { class: "kino-inspect-linebox" },
      h("div", { class: "kino-inspect-muted" }, `y: ${fmt(ymin)} … ${fmt(ymax)}`),
      s,
      axis,
      readout,
    );
  }

  private image(view: View): HTMLElement {
    const w = view.width ?? 0;
    const hgt = view.height ?? 0;
    const data = bytesOf(this.model.get("view_data"));
    const canvas = h("canvas", { class: "kino-inspect-image", width: String(w), height: String(hgt) });
    const ctx = canvas.getContext("2d");
    if (ctx && w && hgt && data.length === w * hgt * 4) {
      const img = ctx.createImageData(w, hgt);
      img.data.set(data);
      ctx.putImageData(img, 0, 0);
    }
    sizeTo(canvas, imageBox(w, hgt));
    const block = (view.block as number) ?? 1;
    return h(
      "div",
      { class: "kino-inspect-imagebox" },
      canvas,
      block > 1 ? h("div", { class: "kino-inspect-muted" }, `shown at 1/${block} resolution`) : null,
    );
  }
}

function arraySection(model: InspectModel): { el: HTMLElement; draw: () => void } {
  const el = h("div", { class: "kino-inspect-section" });
  const view = new ArrayView(model);
  // The header and statistics change only with the array: a new slice keeps them.
  let shown: [Summary, string] | null = null;
  let head: HTMLElement | null = null;
  let top: HTMLElement | null = null;
  const draw = () => {
    const s = model.get("summary");
    if (!s || !s.shape) {
      el.replaceChildren();
      shown = null;
      return;
    }
    const kind = model.get("kind");
    if (!shown || shown[0] !== s || shown[1] !== kind) {
      const map = shardingMap(s.sharding.blocks, s.shape);
      top = h("div", { class: "kino-inspect-top" }, statsPanel(s));
      if (map) top.append(h("div", { class: "kino-inspect-shardbox" }, h("div", { class: "kino-inspect-part-title" }, "sharding"), map));
      head = header(s, kind === "compare" ? "a − b" : undefined);
      shown = [s, kind];
    }
    keepChildren(el, [head, top, view.el]);
    view.draw();
  };
  return { el, draw };
}

function compareSection(model: InspectModel): HTMLElement {
  const c = model.get("compare") ?? {};
  const grid = statGrid(
    [
      ["max |a − b|", c.max_abs],
      ["mean |a − b|", c.mean_abs],
      ["max relative", c.max_rel],
      ["elements differing", c.not_equal],
      ["NaN in one only", c.nan_mismatch, (c.nan_mismatch ?? 0) > 0],
      ["non-finite differences", c.nonfinite_diff, (c.nonfinite_diff ?? 0) > 0],
    ],
    " kino-inspect-grid-wide",
  );
  const box = h(
    "div",
    { class: "kino-inspect-compare" },
    h(
      "div",
      { class: "kino-inspect-header" },
      h("span", { class: "kino-inspect-title" }, "compare"),
      h("span", { class: "kino-inspect-shape" }, `a: ${c.a?.dtype}[${(c.a?.shape ?? []).join(", ")}]`),
      h("span", { class: "kino-inspect-shape" }, `b: ${c.b?.dtype}[${(c.b?.shape ?? []).join(", ")}]`),
    ),
    grid,
  );
  const top = c.top ?? [];
  if (top.length) {
    const table = h("table", { class: "kino-inspect-table" });
    table.append(h("thead", {}, h("tr", {}, h("th", {}, "index"), h("th", {}, "a"), h("th", {}, "b"), h("th", {}, "|a − b|"))));
    const body = h("tbody");
    for (const t of top) {
      body.append(h("tr", {}, h("td", {}, `[${t.index.join(", ")}]`), h("td", {}, fmt(t.a)), h("td", {}, fmt(t.b)), h("td", {}, fmt(t.diff))));
    }
    table.append(body);
    box.append(h("div", { class: "kino-inspect-part-title" }, "largest differences"), h("div", { class: "kino-inspect-table-box" }, table));
  } else {
    box.append(h("div", { class: "kino-inspect-muted" }, "the arrays are equal"));
  }
  return box;
}

interface Row {
  id: number;
  parent: number;
  depth: number;
  name: string;
  path: string;
  node: boolean;
  type: string;
  shape: number[] | null;
  dtype: string;
  params: number;
  bytes: number;
  leaves: number;
  nan: number;
  inf: number;
  leaf: number;
  value: string | null;
}

function treeSection(model: InspectModel, collapsed: Set<number>): HTMLElement {
  const tree = model.get("tree") ?? {};
  const rows = tree.rows ?? [];
  const totals = tree.totals ?? {};
  const box = h("div", { class: "kino-inspect-tree" });
  const types = Object.entries(totals.types ?? {})
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${fmt(n)}`);
  box.append(
    h(
      "div",
      { class: "kino-inspect-header" },
      h("span", { class: "kino-inspect-title" }, model.get("title") || "tree"),
      h("span", { class: "kino-inspect-chip kino-inspect-total-params" }, `${fmt(totals.params ?? 0)} params`),
      h("span", { class: "kino-inspect-chip" }, fmtBytes(totals.bytes ?? 0)),
      h("span", { class: "kino-inspect-chip" }, `${fmt(totals.leaves ?? 0)} leaves`),
      types.length > 1 ? h("span", { class: "kino-inspect-chip kino-inspect-muted" }, types.join(" · ")) : null,
      totals.nan || totals.inf
        ? h("span", { class: "kino-inspect-chip kino-inspect-bad" }, `${fmt(totals.nan)} NaN · ${fmt(totals.inf)} inf`)
        : null,
    ),
  );
  const table = h("table", { class: "kino-inspect-treetable", role: "treegrid" });
  table.append(
    h(
      "thead",
      {},
      h("tr", {}, ...["name", "type", "shape", "dtype", "params", "bytes"].map((t) => h("th", {}, t))),
    ),
  );
  const body = h("tbody");
  const hidden = (r: Row): boolean => {
    let p = r.parent;
    while (p >= 0) {
      if (collapsed.has(p)) return true;
      p = rows[p]?.parent ?? -1;
    }
    return false;
  };
  const selected = model.get("selected_leaf");
  for (const r of rows) {
    if (hidden(r)) continue;
    const bad = r.nan > 0 || r.inf > 0;
    const cls = [
      "kino-inspect-row",
      r.node ? "kino-inspect-node" : "kino-inspect-leaf",
      bad ? "kino-inspect-row-bad" : "",
      !r.node && r.leaf >= 0 && r.leaf === selected ? "kino-inspect-row-selected" : "",
    ].join(" ");
    const toggle = r.node ? (collapsed.has(r.id) ? "▸" : "▾") : "";
    const name = h(
      "td",
      { class: "kino-inspect-name", style: `padding-left:${8 + r.depth * 16}px` },
      h("span", { class: "kino-inspect-toggle" }, toggle),
      r.name,
      bad ? h("span", { class: "kino-inspect-badge" }, [r.nan ? `${fmt(r.nan)} NaN` : "", r.inf ? `${fmt(r.inf)} inf` : ""].filter(Boolean).join(" · ")) : null,
    );
    const tr = h(
      "tr",
      { class: cls, "data-path": r.path, "data-id": String(r.id) },
      name,
      h("td", { class: "kino-inspect-type" }, r.type),
      h("td", { class: "kino-inspect-mono" }, r.shape ? `(${r.shape.join(", ")})` : r.value ?? ""),
      h("td", { class: "kino-inspect-mono" }, r.dtype),
      h("td", { class: "kino-inspect-num" }, r.params ? fmt(r.params) : ""),
      h("td", { class: "kino-inspect-num" }, r.bytes ? fmtBytes(r.bytes) : ""),
    );
    if (r.node) {
      tr.setAttribute("aria-expanded", String(!collapsed.has(r.id)));
      tr.addEventListener("click", () => {
        if (collapsed.has(r.id)) collapsed.delete(r.id);
        else collapsed.add(r.id);
        body.dispatchEvent(new CustomEvent("kino-redraw", { bubbles: true }));
      });
    } else if (r.leaf >= 0) {
      tr.addEventListener("click", () => model.send({ type: "leaf", leaf: r.leaf }));
      tr.title = "click for statistics";
    }
    body.append(tr);
  }
  table.append(body);
  box.append(h("div", { class: "kino-inspect-table-box kino-inspect-tree-box" }, table));
  if (tree.truncated) {
    box.append(h("div", { class: "kino-inspect-muted" }, `… ${fmt(tree.truncated)} more rows not shown`));
  }
  const leaf = model.get("leaf_summary");
  if (leaf && leaf.shape) {
    box.append(
      h(
        "div",
        { class: "kino-inspect-leafpanel" },
        header(leaf, leaf.path),
        statsPanel(leaf),
      ),
    );
  }
  return box;
}

function render({ model, el }: { model: InspectModel; el: HTMLElement }) {
  const root = h("div", { class: "kino kino-inspect" });
  el.appendChild(root);
  const errorBox = h("div", { class: "kino-error", role: "alert" });
  const collapsed = new Set<number>();
  let initialised = false;
  const array = arraySection(model);
  let compared: [Compare, HTMLElement] | null = null;
  const draw = () => {
    const kind = model.get("kind");
    const err = model.get("error");
    if (err) errorBox.textContent = err;
    const error = err ? errorBox : null;
    if (kind === "tree") {
      if (!initialised) {
        const rows = model.get("tree")?.rows ?? [];
        for (const r of rows) if (r.node && r.depth >= 2) collapsed.add(r.id);
        initialised = true;
      }
      keepChildren(root, [treeSection(model, collapsed), error]);
      return;
    }
    let compare: HTMLElement | null = null;
    if (kind === "compare") {
      const c = model.get("compare");
      if (!compared || compared[0] !== c) compared = [c, compareSection(model)];
      compare = compared[1];
    }
    // The array section stays in the page (see keepChildren): its slider keeps the focus.
    keepChildren(root, [compare, array.el, error]);
    array.draw();
  };
  // Several traits change together (selection, view, view_data): one redraw for all.
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      draw();
    });
  };
  root.addEventListener("kino-redraw", draw);
  const onMsg = (msg: { type?: string; message?: string }) => {
    if (msg?.type === "error" && msg.message) {
      errorBox.textContent = msg.message;
      root.append(errorBox);
    }
  };
  model.on("msg:custom", onMsg);
  draw();
  const unwatch = watch(
    model,
    ["kind", "summary", "selection", "view", "view_data", "tree", "selected_leaf", "leaf_summary", "compare", "error"],
    schedule,
  );
  const unTheme = onThemeChange(schedule);
  return () => {
    unwatch();
    unTheme();
    model.off("msg:custom", onMsg);
  };
}

export default { render };
