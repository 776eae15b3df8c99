// Drawing helpers of kino.inspect: colour maps, number formatting, histogram,
// sharding map. Everything user-supplied is set as text, never as HTML.
import { h } from "../base/_dom";

const SVG = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

type RGB = [number, number, number];

function hex(c: string): RGB {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

function lut(stops: string[]): Uint8ClampedArray {
  const cols = stops.map(hex);
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (cols.length - 1);
    const k = Math.min(Math.floor(t), cols.length - 2);
    const f = t - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = cols[k][c] * (1 - f) + cols[k + 1][c] * f;
  }
  return out;
}

const VIRIDIS = lut([
  "#440154", "#482878", "#3e4a89", "#31688e", "#26828e",
  "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725",
]);
const DIVERGING_LIGHT = lut([
  "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
  "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f",
]);
const DIVERGING_DARK = lut([
  "#92c5de", "#4393c3", "#2166ac", "#1a4a7a", "#1e2a3a", "#262626",
  "#3d2420", "#7a2a20", "#b2182b", "#d6604d", "#f4a582",
]);

/** Colours of values that are not finite: the legend shows the same. */
export function specialColours(dark: boolean): { nan: RGB; pinf: RGB; ninf: RGB } {
  return {
    nan: [255, 0, 255],
    pinf: dark ? [255, 255, 255] : [0, 0, 0],
    ninf: [0, 255, 255],
  };
}

export interface Scale {
  lo: number;
  hi: number;
  diverging: boolean;
}

/** The colour scale of finite values: zero-centred and symmetric for signed data. */
export function scaleOf(values: Float32Array, signed: boolean): Scale {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) return { lo: 0, hi: 1, diverging: false };
  if (signed) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { lo: -m, hi: m, diverging: true };
  }
  if (hi === lo) return { lo, hi: lo + 1, diverging: false };
  return { lo, hi, diverging: false };
}

export function colourise(values: Float32Array, scale: Scale, dark: boolean, out: Uint8ClampedArray) {
  const map = scale.diverging ? (dark ? DIVERGING_DARK : DIVERGING_LIGHT) : VIRIDIS;
  const sp = specialColours(dark);
  const span = scale.hi - scale.lo;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let r: number, g: number, b: number;
    if (Number.isNaN(v)) [r, g, b] = sp.nan;
    else if (v === Infinity) [r, g, b] = sp.pinf;
    else if (v === -Infinity) [r, g, b] = sp.ninf;
    else {
      const k = Math.max(0, Math.min(255, Math.round(((v - scale.lo) / span) * 255))) * 3;
      r = map[k];
      g = map[k + 1];
      b = map[k + 2];
    }
    out[i * 4] = r;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = 255;
  }
}

/**
 * Colours each column of a `rows` × `cols` grid from its own finite range (min to
 * max, one sequential map), so a column of small values next to one of large
 * values still shows its variation.
 */
export function colouriseColumns(
  values: Float32Array,
  rows: number,
  cols: number,
  dark: boolean,
  out: Uint8ClampedArray,
): void {
  const column = new Float32Array(rows);
  const rgba = new Uint8ClampedArray(rows * 4);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) column[i] = values[i * cols + j];
    const scale = scaleOf(column, false);
    colourise(column, scale, dark, rgba);
    for (let i = 0; i < rows; i++) out.set(rgba.subarray(i * 4, i * 4 + 4), (i * cols + j) * 4);
  }
}

/**
 * A horizontal colour bar with its end labels, saying which scale is drawn: one
 * for the whole slice (its range as labels), or one per column.
 */
export function colourBar(scale: Scale, dark: boolean, perColumn = false): HTMLElement {
  const canvas = h("canvas", { class: "kino-inspect-cbar", width: "128", height: "1" });
  const vals = new Float32Array(128);
  for (let i = 0; i < 128; i++) vals[i] = scale.lo + ((scale.hi - scale.lo) * i) / 127;
  const ctx = canvas.getContext("2d");
  if (ctx) {
    const img = ctx.createImageData(128, 1);
    colourise(vals, scale, dark, img.data);
    ctx.putImageData(img, 0, 0);
  }
  const sp = specialColours(dark);
  const swatch = (rgb: RGB, label: string) =>
    h(
      "span",
      { class: "kino-inspect-swatch" },
      h("i", { style: `background: rgb(${rgb.join(",")})` }),
      label,
    );
  return h(
    "div",
    { class: "kino-inspect-legend", "data-scale": perColumn ? "columns" : "all" },
    h("span", { class: "kino-inspect-scale-name" }, perColumn ? "colour per column:" : "one colour scale:"),
    h("span", { class: "kino-inspect-num" }, perColumn ? "column min" : fmt(scale.lo)),
    canvas,
    h("span", { class: "kino-inspect-num" }, perColumn ? "column max" : fmt(scale.hi)),
    swatch(sp.nan, "NaN"),
    swatch(sp.pinf, "+inf"),
    swatch(sp.ninf, "−inf"),
  );
}

/** A number for people: 4 significant digits, exponent when very large or small. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v === "-inf" ? "−inf" : v;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+inf";
  if (v === -Infinity) return "−inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3).replace("-", "−");
  return Number(v.toPrecision(4)).toString().replace("-", "−");
}

export function fmtBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export interface Histogram {
  edges: number[];
  counts: number[];
  sampled: boolean;
  sample_size: number;
}

/** Histogram bars over the finite range; says when it was drawn from a sample. */
export function histogram(hist: Histogram, total: number): HTMLElement {
  const box = h("div", { class: "kino-inspect-hist" });
  if (!hist || hist.counts.length === 0) {
    box.append(h("div", { class: "kino-inspect-muted" }, "no finite values"));
    return box;
  }
  const W = 280;
  const H = 72;
  const n = hist.counts.length;
  const max = Math.max(...hist.counts, 1);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "kino-inspect-hist-svg" });
  const bw = W / n;
  hist.counts.forEach((c, i) => {
    const bh = c === 0 ? 0 : Math.max(1, (c / max) * (H - 2));
    const rect = svg("rect", {
      x: (i * bw + 0.5).toFixed(2),
      y: (H - bh).toFixed(2),
      width: Math.max(0.5, bw - 1).toFixed(2),
      height: bh.toFixed(2),
      class: "kino-inspect-bar",
    });
    const title = svg("title");
    title.textContent = `[${fmt(hist.edges[i])}, ${fmt(hist.edges[i + 1])}): ${fmt(c)}`;
    rect.append(title);
    s.append(rect);
  });
  box.append(s);
  box.append(
    h(
      "div",
      { class: "kino-inspect-hist-axis" },
      h("span", {}, fmt(hist.edges[0])),
      h("span", {}, fmt(hist.edges[hist.edges.length - 1])),
    ),
  );
  if (hist.sampled) {
    box.append(
      h(
        "div",
        { class: "kino-inspect-sampled" },
        `sampled: ${fmt(hist.sample_size)} of ${fmt(total)} elements (statistics are exact)`,
      ),
    );
  }
  return box;
}

export interface Block {
  device: string;
  start: number[];
  stop: number[];
}

const DEVICE_COLOURS = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

/** Which device holds which block, projected onto the first two axes. */
export function shardingMap(blocks: Block[], shape: number[]): HTMLElement | null {
  if (!blocks || blocks.length < 2 || shape.length === 0) return null;
  const rows = shape.length >= 2 ? shape[0] : 1;
  const cols = shape.length >= 2 ? shape[1] : shape[0];
  const rect = (b: Block) =>
    shape.length >= 2
      ? [b.start[0], b.stop[0], b.start[1], b.stop[1]]
      : [0, 1, b.start[0], b.stop[0]];
  const groups = new Map<string, { r: number[]; devices: string[] }>();
  for (const b of blocks) {
    const r = rect(b);
    const key = r.join(",");
    const g = groups.get(key) ?? { r, devices: [] };
    g.devices.push(b.device);
    groups.set(key, g);
  }
  const W = 220;
  const H = shape.length >= 2 ? Math.max(60, Math.min(220, (W * rows) / Math.max(cols, 1))) : 44;
  const map = h("div", { class: "kino-inspect-shardmap", style: `width:${W}px;height:${H}px` });
  let i = 0;
  for (const g of groups.values()) {
    const [r0, r1, c0, c1] = g.r;
    const cell = h(
      "div",
      {
        class: "kino-inspect-shard",
        style:
          `left:${(c0 / cols) * 100}%;top:${(r0 / rows) * 100}%;` +
          `width:${((c1 - c0) / cols) * 100}%;height:${((r1 - r0) / rows) * 100}%;` +
          `background:${DEVICE_COLOURS[i % DEVICE_COLOURS.length]}`,
        title: `${g.devices.join(", ")}: rows ${r0}–${r1 - 1}, cols ${c0}–${c1 - 1}`,
      },
      h("span", {}, g.devices.map((d) => d.replace(/^[a-z]+:/, "")).join(",")),
    );
    map.append(cell);
    i++;
  }
  return map;
}

/** Float32 values of a bytes trait (a DataView), copied to an aligned buffer. */
export function floats(view: DataView | null | undefined): Float32Array {
  if (!view || view.byteLength === 0) return new Float32Array(0);
  const copy = new Uint8Array(view.byteLength);
  copy.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return new Float32Array(copy.buffer);
}

export function bytesOf(view: DataView | null | undefined): Uint8ClampedArray {
  if (!view || view.byteLength === 0) return new Uint8ClampedArray(0);
  const copy = new Uint8ClampedArray(view.byteLength);
  copy.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return copy;
}
