// Live Vega views fed by a Python DataStream (kino/ui/_stream.py): the model
// keeps the rows of every dataset (LiveStore); each rendered view applies the
// same changes to its Vega view through changesets, never re-embedding.
import embed, { type Result } from "vega-embed";
import { changeset, type View } from "vega";
import { isDarkTheme } from "../base/_dom";
import type { AnyModel } from "../base/_model";
import "./_vegalive.css";

export type Row = Record<string, unknown>;

interface Column {
  name: string;
  kind: "f64" | "json";
  buffer?: number | DataView | ArrayBuffer;
  values?: unknown[];
}
interface Block {
  n: number;
  columns: Column[];
}
export interface Snapshot {
  seq: number;
  datasets: Record<string, Block>;
}
export interface Op {
  dataset: string;
  keep: number;
  rows: Row[];
}
/** `null` means "everything changed": views reload every dataset. */
export type Change = Op[] | null;

/**
 * The synced trait every live widget (chart, dashboard) has: the rows of every
 * dataset as a snapshot, `{}` until Python publishes one (kino/ui/live/stream.py).
 */
export interface LiveTraits {
  _data: Partial<Snapshot>;
}

/** A custom message of a DataStream: the changes since `seq - 1`. */
interface OpsMessage {
  type: "ops";
  seq: number;
  ops: { dataset: string; keep: number; rows: Block }[];
}

function isOps(msg: unknown): msg is OpsMessage {
  if (!msg || typeof msg !== "object") return false;
  const m = msg as Partial<OpsMessage>;
  return m.type === "ops" && typeof m.seq === "number";
}

function toFloat64(raw: unknown): Float64Array {
  if (raw instanceof ArrayBuffer) return new Float64Array(raw.slice(0));
  if (ArrayBuffer.isView(raw)) {
    const bytes = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    return new Float64Array(bytes as ArrayBuffer);
  }
  return new Float64Array(0);
}

/** Rows of a columnar block (see the wire format in kino/ui/_stream.py). */
export function decodeBlock(block: Block | undefined, buffers: unknown[] = []): Row[] {
  if (!block || !block.n) return [];
  const n = block.n;
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = {};
  for (const col of block.columns) {
    if (col.kind === "f64") {
      const raw = typeof col.buffer === "number" ? buffers[col.buffer] : col.buffer;
      const values = toFloat64(raw);
      for (let i = 0; i < n; i++) rows[i][col.name] = values[i];
    } else {
      const values = col.values ?? [];
      for (let i = 0; i < n; i++) rows[i][col.name] = values[i];
    }
  }
  return rows;
}

function appendAll<T>(target: T[], items: T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i]);
}

/** The rows of every dataset of one model, kept in step with Python. */
export class LiveStore {
  seq = -1;
  data = new Map<string, Row[]>();
  private listeners = new Set<(change: Change) => void>();
  private resyncing = false;

  constructor(private model: AnyModel<LiveTraits>) {
    this.load(model.get("_data"));
    model.on("change:_data", () => {
      const snap = model.get("_data");
      if (snap && typeof snap.seq === "number" && snap.seq > this.seq) {
        this.load(snap);
        this.emit(null);
      }
    });
    model.on("msg:custom", (msg: unknown, buffers: DataView[]) => this.onMessage(msg, buffers));
    this.hello();
  }

  /** Tells Python which rows this page has; it answers with a snapshot if stale. */
  private hello(): void {
    try {
      this.model.send({ type: "hello", seq: this.seq });
    } catch {
      // a notebook reopened without a kernel: the saved state is all there is
    }
  }

  subscribe(fn: (change: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  rows(name: string): Row[] {
    return this.data.get(name) ?? [];
  }

  private load(snap: Partial<Snapshot> | undefined): void {
    if (!snap || typeof snap.seq !== "number") return;
    this.seq = snap.seq;
    this.resyncing = false;
    this.data = new Map();
    for (const [name, block] of Object.entries(snap.datasets ?? {})) {
      this.data.set(name, decodeBlock(block));
    }
  }

  private onMessage(msg: unknown, buffers: unknown[]): void {
    if (!isOps(msg)) return;
    if (msg.seq <= this.seq) return;
    if (msg.seq !== this.seq + 1) {
      // A message was missed (this page connected mid-stream): ask Python for
      // a snapshot, which arrives in order after everything sent so far.
      if (!this.resyncing) {
        this.resyncing = true;
        this.hello();
      }
      return;
    }
    this.seq = msg.seq;
    const ops: Op[] = [];
    for (const raw of msg.ops) {
      const rows = decodeBlock(raw.rows, buffers);
      const current = this.data.get(raw.dataset) ?? [];
      const drop = current.length - raw.keep;
      if (drop > 0) current.splice(0, drop);
      appendAll(current, rows);
      this.data.set(raw.dataset, current);
      ops.push({ dataset: raw.dataset, keep: raw.keep, rows });
    }
    this.emit(ops);
  }

  private emit(change: Change): void {
    for (const fn of this.listeners) fn(change);
  }
}

const stores = new WeakMap<object, LiveStore>();

/** The one store of a model (created on first use). */
export function storeFor(model: AnyModel<LiveTraits>): LiveStore {
  let store = stores.get(model);
  if (!store) {
    store = new LiveStore(model);
    stores.set(model, store);
  }
  return store;
}

/** Names of the named datasets a Vega-Lite spec reads. */
export function datasetNames(spec: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(spec)) {
    for (const item of spec) datasetNames(item, out);
  } else if (spec && typeof spec === "object") {
    const node = spec as Record<string, unknown>;
    const data = node.data as Record<string, unknown> | undefined;
    if (data && typeof data === "object" && typeof data.name === "string") out.add(data.name);
    for (const [key, value] of Object.entries(node)) {
      if (key !== "data" && key !== "datasets") datasetNames(value, out);
    }
  }
  return out;
}

const PALETTE_LIGHT = ["#1f6feb", "#e16f24", "#1a7f37", "#bf3989", "#8250df", "#9a6700", "#1b7c83", "#cf222e"];
const PALETTE_DARK = ["#4493f8", "#f0883e", "#3fb950", "#db61a2", "#a371f7", "#d29922", "#39c5cf", "#f85149"];

export function palette(dark: boolean): string[] {
  return dark ? PALETTE_DARK : PALETTE_LIGHT;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/** A Vega-Lite config that matches the JupyterLab theme (light or dark). */
export function themeConfig(dark: boolean): Record<string, any> {
  const fg = cssVar("--jp-ui-font-color1", dark ? "#e6edf3" : "#1f2328");
  const muted = cssVar("--jp-ui-font-color2", dark ? "#9198a1" : "#59636e");
  const font = cssVar("--jp-ui-font-family", "system-ui, -apple-system, 'Segoe UI', sans-serif");
  const grid = dark ? "rgba(240,246,252,0.09)" : "rgba(31,35,40,0.08)";
  const domain = dark ? "rgba(240,246,252,0.22)" : "rgba(31,35,40,0.25)";
  const colors = palette(dark);
  return {
    background: "transparent",
    font,
    view: { stroke: null },
    axis: {
      labelColor: muted,
      titleColor: muted,
      gridColor: grid,
      domainColor: domain,
      tickColor: domain,
      labelFontSize: 11,
      titleFontSize: 11,
      titleFontWeight: 500,
      labelFont: font,
      titleFont: font,
    },
    legend: { labelColor: muted, titleColor: fg, labelFontSize: 11, titleFontSize: 11 },
    title: { color: fg, fontSize: 13, fontWeight: 600, anchor: "start", subtitleColor: muted },
    header: { labelColor: fg, titleColor: fg },
    text: { color: fg },
    range: { category: colors, ramp: { scheme: dark ? "tealblues" : "blues" } },
    mark: { color: colors[0] },
  };
}

function merge(base: Record<string, any>, over: Record<string, any> | undefined): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [key, value] of Object.entries(over ?? {})) {
    const prior = out[key];
    out[key] =
      value && typeof value === "object" && !Array.isArray(value) && prior && typeof prior === "object"
        ? merge(prior, value)
        : value;
  }
  return out;
}

/** The spec with the theme's config under the user's own config. */
export function themed(spec: Record<string, any>, dark: boolean): Record<string, any> {
  const out: Record<string, any> = { ...spec, config: merge(themeConfig(dark), spec.config) };
  // Rows arrive after the first layout (changesets), so the layout must be redone
  // on every update: without `resize`, Vega keeps the room it measured for the
  // empty chart and clips axis labels, titles and legend labels.
  if (typeof spec.autosize === "string") out.autosize = { type: spec.autosize, resize: true };
  else out.autosize = { ...(spec.autosize ?? {}), resize: true };
  return out;
}

let resizeQueued = false;

/** One synthetic window "resize" per frame, however many views asked for it. */
function requestResize(): void {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    window.dispatchEvent(new Event("resize"));
  });
}

export interface KinoViewElement extends HTMLElement {
  kinoView?: View;
}

/**
 * One Vega view of a spec, showing the rows of a LiveStore. Changes arrive as
 * changesets (insert / remove), so the view is never re-created for data;
 * `embed()` re-creates it for a new spec or theme.
 */
export class LiveView {
  view: View | null = null;
  private result: Result | null = null;
  private stage: HTMLElement | null = null;
  private rows = new Map<string, Row[]>();
  private names: Set<string>;
  private generation = 0;
  private resize: ResizeObserver | null = null;
  private lastWidth = -1;
  private frame = 0;

  constructor(
    readonly container: KinoViewElement,
    private store: LiveStore,
    private spec: Record<string, any>,
    private onError: (message: string) => void,
    private onReady: (view: View) => void = () => {},
    private renderer: "canvas" | "svg" = "canvas",
  ) {
    this.names = datasetNames(spec);
    if (spec.width === "container" && typeof ResizeObserver !== "undefined") {
      this.resize = new ResizeObserver(() => {
        cancelAnimationFrame(this.frame);
        this.frame = requestAnimationFrame(() => this.fitWidth());
      });
      this.resize.observe(container);
    }
  }

  async embed(): Promise<void> {
    const generation = ++this.generation;
    // Render into a fresh element; while it renders, the current view stays
    // on screen (the new one is laid out invisibly on top of it), then swap.
    const stage = document.createElement("div");
    stage.className = "kino-vega-stage";
    if (this.view) stage.classList.add("kino-vega-staging");
    this.container.appendChild(stage);
    let result: Result;
    try {
      result = await embed(stage, themed(this.spec, isDarkTheme()) as any, {
        mode: "vega-lite",
        actions: { export: true, source: false, compiled: false, editor: false },
        renderer: this.renderer,
        logger: this.logger(generation),
      });
    } catch (err) {
      stage.remove();
      if (generation === this.generation) {
        this.finalize();
        this.onError(err instanceof Error ? err.message : String(err));
      }
      return;
    }
    if (generation !== this.generation) {
      result.finalize();
      stage.remove();
      return;
    }
    this.finalize();
    stage.classList.remove("kino-vega-staging");
    this.stage = stage;
    this.result = result;
    this.view = result.view;
    this.container.kinoView = result.view;
    // The element may have been laid out (or resized) while vega-embed ran:
    // size the view to it now; the ResizeObserver follows later changes.
    this.lastWidth = -1;
    if (this.resize) this.fitWidth();
    this.reload();
    await result.view.runAsync();
    this.container.dataset.kinoReady = "1";
    this.onReady(result.view);
  }

  /**
   * Vega's logger for this view: errors (also those raised while the dataflow
   * runs, after embedding) are shown in the output area, warnings go to the console.
   */
  private logger(generation: number): any {
    let level = 1; // vega.Error: warnings (e.g. an empty chart's extent) stay quiet
    const logger = {
      level(value?: number): any {
        if (value === undefined) return level;
        level = value;
        return logger;
      },
      error: (...args: unknown[]) => {
        if (generation === this.generation) {
          this.onError(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
        }
        return logger;
      },
      warn: (...args: unknown[]) => {
        if (level >= 2) console.warn("kino chart:", ...args);
        return logger;
      },
      info: () => logger,
      debug: () => logger,
    };
    return logger;
  }

  /** Applies a store change (or reloads every dataset when `change` is null). */
  apply(change: Change): void {
    const view = this.view;
    if (!view) return;
    if (change === null) {
      this.reload();
    } else {
      for (const op of change) {
        if (!this.names.has(op.dataset)) continue;
        const current = this.rows.get(op.dataset) ?? [];
        const drop = current.length - op.keep;
        const removed = drop > 0 ? current.splice(0, drop) : [];
        const inserted = op.rows.map((r) => ({ ...r }));
        appendAll(current, inserted);
        this.rows.set(op.dataset, current);
        view.change(op.dataset, changeset().remove(removed).insert(inserted));
      }
    }
    view.runAsync().catch((err) => this.onError(String(err?.message ?? err)));
  }

  private reload(): void {
    const view = this.view;
    if (!view) return;
    for (const name of this.names) {
      const copies = this.store.rows(name).map((r) => ({ ...r }));
      const old = this.rows.get(name) ?? [];
      this.rows.set(name, copies);
      try {
        view.change(name, changeset().remove(old).insert(copies));
      } catch {
        this.names.delete(name); // not a data source of the compiled view
      }
    }
  }

  private fitWidth(): void {
    const view = this.view;
    const width = this.container.clientWidth;
    if (!view || width <= 0 || width === this.lastWidth) return;
    this.lastWidth = width;
    // Vega-Lite's "container" width is re-measured on window resize events
    // (its signal listens to them); a cell resize is not one, so send one.
    requestResize();
  }

  private finalize(): void {
    this.result?.finalize();
    this.stage?.remove();
    this.stage = null;
    this.result = null;
    this.view = null;
    this.rows.clear();
  }

  destroy(): void {
    this.generation++;
    this.resize?.disconnect();
    cancelAnimationFrame(this.frame);
    this.finalize();
  }
}

/**
 * Names of the selection parameters of a Vega-Lite spec (`params` entries with
 * `select`, at the top level or in any layer, concat or facet view); each is a
 * top-level signal of the compiled Vega view holding the selection.
 */
export function selectionParams(spec: unknown, out: string[] = []): string[] {
  if (Array.isArray(spec)) {
    for (const item of spec) selectionParams(item, out);
  } else if (spec && typeof spec === "object") {
    const node = spec as Record<string, unknown>;
    if (Array.isArray(node.params)) {
      for (const param of node.params as unknown[]) {
        if (!param || typeof param !== "object") continue;
        const { name, select } = param as { name?: unknown; select?: unknown };
        if (typeof name === "string" && select !== undefined && !out.includes(name)) out.push(name);
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key !== "params" && key !== "data" && key !== "datasets") selectionParams(value, out);
    }
  }
  return out;
}
