// kino.table: a paged data grid whose pages come from the kernel as Arrow IPC.
//
// The browser never holds more than one page. It asks for pages by setting the
// `query` trait (page, page_size, sort, filters, search); Python answers with
// the `page` trait (Arrow IPC bytes, a binary buffer) and bumps `seq`.
// Columns are virtualised: only those in (or near) the horizontal viewport are
// in the DOM, so frames with hundreds of columns scroll smoothly.
// Every value and column name is set through textContent, never innerHTML.
import "./table.css";
import { tableFromIPC, type Table as ArrowTable, type Vector } from "apache-arrow";
import { h } from "../base/_dom";
import type { AnyModel, RenderProps } from "../base/_model";
import {
  RIGHT_ALIGNED,
  cellText,
  columnWidth,
  formatCompact,
  formatCount,
  prettyJson,
} from "./_format";

interface ColumnInfo {
  name: string;
  dtype: string;
  kind: string;
  sortable: boolean;
  filters: string[];
  time_zone: string | null;
}

interface SortKey {
  column: string;
  descending: boolean;
}

interface FilterSpec {
  column: string;
  op: string;
  min?: unknown;
  max?: unknown;
  value?: string;
  values?: unknown[];
}

interface Query {
  page: number;
  page_size: number;
  sort: SortKey[];
  filters: FilterSpec[];
  search: string;
}

interface Summary {
  kind: string;
  count: number;
  nulls: number;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  nan?: number;
  inf?: number;
  histogram?: number[];
  true?: number;
  false?: number;
  unique?: number;
  unique_approx?: boolean;
  top?: [string | null, number][];
  top_sampled?: boolean;
}

/** The synced traits of kino.ui.table.widget.Table. */
interface TableTraits {
  name: string;
  columns: ColumnInfo[];
  /** The page request ({} until the first one). */
  query: Partial<Query>;
  /** The current page as Arrow IPC bytes (a binary buffer on the wire). */
  page: DataView | null;
  total_rows: number;
  row_count: number;
  error: string;
  seq: number;
  summaries: Summary[];
  /** "off", "computing", "ready" or "failed: <reason>". */
  summary_state: string;
  /** Positions (in the data) of the selected rows. */
  selected_rows: number[];
}

type Model = AnyModel<TableTraits>;

/** A custom message from Python (see kino/ui/table/widget.py). */
interface TableMessage {
  type?: string;
  message?: unknown;
  format?: string;
  filename?: unknown;
}

/** Columns drawn beyond each side of the viewport, so fast scrolling shows no gaps. */
const OVERSCAN_PX = 400;
const PAGE_SIZES = [10, 20, 50, 100, 200, 500];
const SEARCH_DELAY_MS = 250;
/** Pages up to this many rows show whole; longer ones scroll inside the table. */
const TALL_PAGE_ROWS = 25;
const SVG = "http://www.w3.org/2000/svg";

function svgIcon(path: string, cls: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(SVG, "path");
  p.setAttribute("d", path);
  svg.appendChild(p);
  return svg;
}

const FUNNEL = "M2 3h12l-4.5 5.5V13l-3 1.5V8.5z";

function toBytes(value: unknown): Uint8Array | null {
  if (!value) return null;
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

function filterLabel(f: FilterSpec): string {
  switch (f.op) {
    case "between": {
      const lo = f.min === null || f.min === undefined ? null : String(f.min);
      const hi = f.max === null || f.max === undefined ? null : String(f.max);
      if (lo !== null && hi !== null) return `${lo} ≤ ${f.column} ≤ ${hi}`;
      return lo !== null ? `${f.column} ≥ ${lo}` : `${f.column} ≤ ${hi}`;
    }
    case "contains":
      return `${f.column} contains “${f.value ?? ""}”`;
    case "in":
      return `${f.column} ∈ {${(f.values ?? []).map((v) => (v === null ? "null" : String(v))).join(", ")}}`;
    case "is_null":
      return `${f.column} is null`;
    case "not_null":
      return `${f.column} is not null`;
    default:
      return `${f.column} ${f.op}`;
  }
}

class TableView {
  private model: Model;
  private root: HTMLElement;
  private titleEl: HTMLElement;
  private searchEl: HTMLInputElement;
  private countEl: HTMLElement;
  private exportBtn: HTMLButtonElement;
  private exportMenu: HTMLElement;
  private exportStatus: HTMLElement;
  private chipsEl: HTMLElement;
  private errorEl: HTMLElement;
  private scroller: HTMLElement;
  private grid: HTMLTableElement;
  private colgroup: HTMLTableColElement;
  private thead: HTMLTableSectionElement;
  private tbody: HTMLTableSectionElement;
  private footInfo: HTMLElement;
  private pageInput: HTMLInputElement;
  private pageTotal: HTMLElement;
  private sizeSelect: HTMLSelectElement;
  private navButtons: Record<string, HTMLButtonElement> = {};
  private popover: HTMLElement;

  private columns: ColumnInfo[] = [];
  private widths: number[] = [];
  private measured = false;
  private offsets: number[] = [0];
  private summaries: Summary[] = [];
  private arrow: ArrowTable | null = null;
  private rowIds: number[] = [];
  private cache = new Map<number, unknown[]>();
  private range: [number, number] = [0, 0];
  private searchTimer: number | undefined;
  private shownQuery = "";
  private cleanups: (() => void)[] = [];

  constructor(model: Model, el: HTMLElement) {
    this.model = model;
    this.titleEl = h("span", { class: "kt-title" });
    this.searchEl = h("input", {
      class: "kt-search",
      type: "search",
      placeholder: "Search words…",
      "aria-label": "Search all columns (every word must match)",
      spellcheck: "false",
    });
    this.countEl = h("span", { class: "kt-count" });
    this.exportBtn = h("button", { class: "kt-btn kt-export", type: "button", "aria-haspopup": "menu" }, "Export ▾");
    const csv = h("button", { type: "button", role: "menuitem", "data-format": "csv" }, "CSV");
    const parquet = h("button", { type: "button", role: "menuitem", "data-format": "parquet" }, "Parquet");
    this.exportMenu = h("div", { class: "kt-menu", role: "menu", hidden: "" }, csv, parquet);
    this.exportStatus = h("span", { class: "kt-export-status", "aria-live": "polite" });
    const exportBox = h("div", { class: "kt-export-box" }, this.exportBtn, this.exportMenu);
    const bar = h(
      "div",
      { class: "kt-bar" },
      this.titleEl,
      this.searchEl,
      h("span", { class: "kt-spacer" }),
      this.exportStatus,
      this.countEl,
      exportBox,
    );
    this.chipsEl = h("div", { class: "kt-chips" });
    this.errorEl = h("div", { class: "kino-error kt-error", role: "alert", hidden: "" });
    this.colgroup = h("colgroup");
    this.thead = h("thead");
    this.tbody = h("tbody");
    this.grid = h("table", { class: "kt-grid", role: "grid" }, this.colgroup, this.thead, this.tbody);
    this.scroller = h("div", { class: "kt-scroll", tabindex: "0" }, this.grid);
    this.footInfo = h("span", { class: "kt-foot-info" });
    this.pageInput = h("input", { class: "kt-page-input", type: "number", min: "1", "aria-label": "Page" });
    this.pageTotal = h("span", { class: "kt-page-total" });
    const nav = (label: string, title: string) => {
      const b = h("button", { class: "kt-btn kt-nav", type: "button", title, "aria-label": title }, label);
      this.navButtons[title] = b;
      return b;
    };
    this.sizeSelect = h("select", { class: "kt-size", "aria-label": "Rows per page" });
    const pager = h(
      "div",
      { class: "kt-pager" },
      nav("«", "First page"),
      nav("‹", "Previous page"),
      h("span", { class: "kt-page-label" }, "Page ", this.pageInput, this.pageTotal),
      nav("›", "Next page"),
      nav("»", "Last page"),
      this.sizeSelect,
    );
    const foot = h("div", { class: "kt-foot" }, this.footInfo, h("span", { class: "kt-spacer" }), pager);
    this.popover = h("div", { class: "kt-pop", hidden: "" });
    this.root = h(
      "div",
      { class: "kino kino-table" },
      bar,
      this.chipsEl,
      this.errorEl,
      this.scroller,
      foot,
      this.popover,
    );
    el.appendChild(this.root);
    this.wire(csv, parquet);
    this.syncColumns();
    this.syncSummaries();
    this.syncPage();
  }

  // -- wiring --------------------------------------------------------------------------
  private listen(event: `change:${keyof TableTraits}`, fn: () => void): void;
  private listen(event: "msg:custom", fn: (content: unknown, buffers: DataView[]) => void): void;
  private listen(event: string, fn: (content: unknown, buffers: DataView[]) => void) {
    this.model.on(event, fn);
    this.cleanups.push(() => this.model.off(event, fn));
  }

  private wire(csv: HTMLButtonElement, parquet: HTMLButtonElement) {
    this.listen("change:columns", () => {
      this.syncColumns();
      this.syncSummaries();
      this.drawBody();
    });
    this.listen("change:summaries", () => this.syncSummaries());
    this.listen("change:summary_state", () => this.syncSummaries());
    this.listen("change:seq", () => this.syncPage());
    this.listen("change:selected_rows", () => this.drawSelection());
    this.listen("change:name", () => this.drawTitle());
    this.listen("msg:custom", (content, buffers) => this.onMessage(content, buffers));

    this.searchEl.addEventListener("input", () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => {
        this.request({ search: this.searchEl.value, page: 0 });
      }, SEARCH_DELAY_MS);
    });
    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    const resize = new ResizeObserver(() => this.onScroll());
    resize.observe(this.scroller);
    this.cleanups.push(() => resize.disconnect());

    this.navButtons["First page"].addEventListener("click", () => this.goTo(0));
    this.navButtons["Previous page"].addEventListener("click", () => this.goTo(this.query().page - 1));
    this.navButtons["Next page"].addEventListener("click", () => this.goTo(this.query().page + 1));
    this.navButtons["Last page"].addEventListener("click", () => this.goTo(this.pageCount() - 1));
    this.pageInput.addEventListener("change", () => {
      const n = Math.round(Number(this.pageInput.value));
      if (Number.isFinite(n)) this.goTo(n - 1);
    });
    this.sizeSelect.addEventListener("change", () => {
      const size = Number(this.sizeSelect.value);
      const q = this.query();
      const first = q.page * q.page_size;
      this.request({ page_size: size, page: Math.floor(first / size) });
    });

    this.exportBtn.addEventListener("click", (event) => {
      event.stopPropagation();
      this.exportMenu.hidden = !this.exportMenu.hidden;
    });
    for (const button of [csv, parquet]) {
      button.addEventListener("click", () => {
        this.exportMenu.hidden = true;
        const format = button.dataset.format ?? "csv";
        this.exportStatus.textContent = `Preparing ${format.toUpperCase()}…`;
        this.model.send({ type: "export", format });
      });
    }
    const outside = (event: MouseEvent) => {
      const target = event.target as Node;
      if (!this.exportMenu.hidden && !this.exportMenu.parentElement?.contains(target)) {
        this.exportMenu.hidden = true;
      }
      if (!this.popover.hidden && !this.popover.contains(target) && this.root.contains(target) === false) {
        this.closePopover();
      }
    };
    document.addEventListener("mousedown", outside);
    this.cleanups.push(() => document.removeEventListener("mousedown", outside));
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.closePopover();
        this.exportMenu.hidden = true;
      }
    });
    this.scroller.addEventListener("mousedown", (event) => {
      if (!this.popover.hidden && !this.popover.contains(event.target as Node)) this.closePopover();
    });
  }

  destroy() {
    window.clearTimeout(this.searchTimer);
    for (const fn of this.cleanups) fn();
  }

  // -- the query -----------------------------------------------------------------------
  private query(): Query {
    const q = this.model.get("query") ?? {};
    return {
      page: typeof q.page === "number" ? q.page : 0,
      page_size: typeof q.page_size === "number" ? q.page_size : 20,
      sort: Array.isArray(q.sort) ? q.sort : [],
      filters: Array.isArray(q.filters) ? q.filters : [],
      search: typeof q.search === "string" ? q.search : "",
    };
  }

  private request(change: Partial<Query>) {
    const current = this.query();
    const next = { ...current, ...change };
    if (JSON.stringify(next) === JSON.stringify(current)) return; // nothing to ask for
    this.model.set("query", next);
    this.model.save_changes();
    this.root.classList.add("kt-busy");
    this.drawControls();
  }

  private pageCount(): number {
    const total = Number(this.model.get("total_rows") ?? 0);
    return Math.max(1, Math.ceil(total / this.query().page_size));
  }

  private goTo(page: number) {
    const last = this.pageCount() - 1;
    const target = Math.max(0, Math.min(last, page));
    if (target !== this.query().page) this.request({ page: target });
    else this.pageInput.value = String(target + 1);
  }

  // -- columns and geometry ------------------------------------------------------------
  private syncColumns() {
    this.columns = this.model.get("columns") ?? [];
    const measure = this.nameMeasure();
    this.measured = measure !== null;
    this.widths = this.columns.map((c) => columnWidth(c.kind, c.name, c.dtype, measure?.(c.name)));
    this.offsets = [0];
    for (const w of this.widths) this.offsets.push(this.offsets[this.offsets.length - 1] + w);
    this.range = [-1, -1];
    this.drawTitle();
  }

  private drawTitle() {
    const name = String(this.model.get("name") ?? "");
    this.titleEl.textContent = name;
    this.titleEl.hidden = name === "";
  }

  /** First and last+1 column index that intersect the viewport (with overscan). */
  private visibleRange(): [number, number] {
    const n = this.columns.length;
    if (n === 0) return [0, 0];
    const left = Math.max(0, this.scroller.scrollLeft - OVERSCAN_PX);
    const width = this.scroller.clientWidth || 1200;
    const right = this.scroller.scrollLeft + width + OVERSCAN_PX;
    let lo = 0;
    while (lo < n - 1 && this.offsets[lo + 1] <= left) lo++;
    let hi = lo;
    while (hi < n && this.offsets[hi] < right) hi++;
    return [lo, Math.max(hi, lo + 1)];
  }

  /** Measures a header name in the header's bold font, once the widget is on the page. */
  private nameMeasure(): ((name: string) => number) | null {
    if (!this.root?.isConnected) return null;
    const ctx = document.createElement("canvas").getContext("2d");
    if (!ctx) return null;
    const style = getComputedStyle(this.root);
    ctx.font = `600 ${style.fontSize} ${style.fontFamily}`;
    return (name) => Math.ceil(ctx.measureText(name).width) + 2;
  }

  private onScroll() {
    if (!this.measured && this.root.isConnected) {
      // The first layout: column widths from the names as the page draws them.
      this.syncColumns();
    }
    const [lo, hi] = this.visibleRange();
    if (lo !== this.range[0] || hi !== this.range[1]) this.drawAll();
  }

  // -- summaries -----------------------------------------------------------------------
  private syncSummaries() {
    this.summaries = this.model.get("summaries") ?? [];
    this.drawHeader();
  }

  private summaryNode(index: number): HTMLElement {
    const box = h("div", { class: "kt-summary" });
    const state = String(this.model.get("summary_state") ?? "off");
    const s = this.summaries[index];
    if (!s) {
      if (state === "computing") box.append(h("span", { class: "kt-shimmer" }));
      return box;
    }
    const details: string[] = [`${formatCount(s.count)} rows`, `${formatCount(s.nulls)} null`];
    if (s.histogram && s.histogram.length > 0) {
      box.append(this.histogram(s.histogram));
      box.append(
        h(
          "div",
          { class: "kt-range" },
          h("span", {}, formatCompact(s.min as number)),
          h("span", {}, formatCompact(s.max as number)),
        ),
      );
      details.push(`min ${s.min}`, `max ${s.max}`, `mean ${formatCompact(s.mean)}`);
      if (s.nan) details.push(`${formatCount(s.nan)} NaN`);
      if (s.inf) details.push(`${formatCount(s.inf)} inf`);
    } else if (s.true !== undefined) {
      const total = (s.true ?? 0) + (s.false ?? 0) || 1;
      const pct = Math.round(((s.true ?? 0) / total) * 100);
      const bar = h("div", { class: "kt-split" }, h("span", { class: "kt-split-true" }));
      (bar.firstChild as HTMLElement).style.width = `${pct}%`;
      box.append(bar, h("div", { class: "kt-range" }, h("span", {}, `${pct}% true`)));
      details.push(`${formatCount(s.true ?? 0)} true`, `${formatCount(s.false ?? 0)} false`);
    } else if (s.unique !== undefined) {
      const unique = `${s.unique_approx ? "≈" : ""}${formatCount(s.unique)} unique`;
      box.append(h("div", { class: "kt-stat" }, unique));
      const top = (s.top ?? [])[0];
      if (top && top[1] > 1) {
        const share = s.count ? Math.round((top[1] / s.count) * 100) : 0;
        box.append(h("div", { class: "kt-stat kt-top" }, `${top[0] ?? "null"} · ${share}%`));
      }
      details.push(unique, s.top_sampled ? "most frequent (in a sample):" : "most frequent:");
      details.push(...(s.top ?? []).map(([v, n]) => `  ${v}: ${formatCount(n)}`));
    } else if (s.min !== undefined && s.min !== null) {
      box.append(h("div", { class: "kt-stat" }, String(s.min)), h("div", { class: "kt-stat" }, `→ ${s.max}`));
      details.push(`from ${s.min}`, `to ${s.max}`);
    }
    box.title = details.join("\n");
    return box;
  }

  /** "12% null" for the dtype line of a header, empty when the column has no nulls. */
  private nullsNode(index: number): HTMLElement | null {
    const s = this.summaries[index];
    if (!s || s.nulls <= 0) return null;
    const pct = s.count ? (s.nulls / s.count) * 100 : 0;
    const node = h("span", { class: "kt-nulls" }, `${pct < 1 ? "<1" : Math.round(pct)}% null`);
    node.title = `${formatCount(s.nulls)} of ${formatCount(s.count)} values are null`;
    return node;
  }

  private histogram(counts: number[]): SVGSVGElement {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "kt-hist");
    svg.setAttribute("viewBox", `0 0 ${counts.length * 4} 20`);
    svg.setAttribute("preserveAspectRatio", "none");
    const peak = Math.max(1, ...counts);
    counts.forEach((c, i) => {
      const height = c === 0 ? 0 : Math.max(1.5, (c / peak) * 20);
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(i * 4 + 0.4));
      rect.setAttribute("width", "3.2");
      rect.setAttribute("y", String(20 - height));
      rect.setAttribute("height", String(height));
      svg.appendChild(rect);
    });
    return svg;
  }

  // -- the page ------------------------------------------------------------------------
  private syncPage() {
    this.root.classList.remove("kt-busy");
    const bytes = toBytes(this.model.get("page"));
    this.cache.clear();
    this.arrow = null;
    this.rowIds = [];
    if (bytes && bytes.byteLength > 0) {
      try {
        this.arrow = tableFromIPC(bytes);
        const ids = this.arrow.getChild("row");
        for (let i = 0; i < this.arrow.numRows; i++) this.rowIds.push(Number(ids?.get(i)));
      } catch (error) {
        this.arrow = null;
        this.model.set("error", `could not read the page: ${String(error)}`);
      }
    }
    const shown = JSON.stringify(this.query());
    if (shown !== this.shownQuery) {
      this.scroller.scrollTop = 0; // a new page starts at its first row
      this.shownQuery = shown;
    }
    const error = String(this.model.get("error") ?? "");
    this.errorEl.textContent = error;
    this.errorEl.hidden = error === "";
    this.drawControls();
    this.drawAll();
  }

  private values(index: number): unknown[] {
    let values = this.cache.get(index);
    if (values) return values;
    values = [];
    const vector: Vector | null = this.arrow?.getChild(`c${index}`) ?? null;
    const rows = this.arrow?.numRows ?? 0;
    for (let i = 0; i < rows; i++) values.push(vector ? vector.get(i) : null);
    this.cache.set(index, values);
    return values;
  }

  private drawAll() {
    this.range = this.visibleRange();
    this.drawCols();
    this.drawHeader();
    this.drawBody();
  }

  private drawCols() {
    const [lo, hi] = this.range;
    const cols: HTMLElement[] = [h("col", { class: "kt-col-row" })];
    if (lo > 0) cols.push(this.spacerCol(this.offsets[lo]));
    for (let i = lo; i < hi; i++) {
      const col = h("col");
      col.style.width = `${this.widths[i]}px`;
      cols.push(col);
    }
    const rest = this.offsets[this.columns.length] - this.offsets[hi];
    if (rest > 0) cols.push(this.spacerCol(rest));
    this.colgroup.replaceChildren(...cols);
    this.grid.style.width = `${56 + this.offsets[this.columns.length]}px`;
  }

  private spacerCol(width: number): HTMLElement {
    const col = h("col", { class: "kt-col-spacer" });
    col.style.width = `${width}px`;
    return col;
  }

  private drawHeader() {
    const [lo, hi] = this.range;
    const q = this.query();
    const row = h("tr");
    const all = h("input", { type: "checkbox", class: "kt-check", "aria-label": "Select all rows on this page" });
    const selected = new Set<number>(this.model.get("selected_rows") ?? []);
    const onPage = this.rowIds.filter((id) => selected.has(id)).length;
    all.checked = this.rowIds.length > 0 && onPage === this.rowIds.length;
    all.indeterminate = onPage > 0 && onPage < this.rowIds.length;
    all.addEventListener("change", () => this.selectPage(all.checked));
    row.append(h("th", { class: "kt-rowhead", scope: "col" }, all));
    if (lo > 0) row.append(h("th", { class: "kt-spacer-cell" }));
    for (let i = lo; i < hi; i++) row.append(this.headerCell(i, q));
    if (hi < this.columns.length) row.append(h("th", { class: "kt-spacer-cell" }));
    this.thead.replaceChildren(row);
  }

  private headerCell(index: number, q: Query): HTMLElement {
    const c = this.columns[index];
    const sortAt = q.sort.findIndex((s) => s.column === c.name);
    const filtered = q.filters.some((f) => f.column === c.name);
    const name = h("span", { class: "kt-name" }, c.name === "" ? "\u00a0" : c.name);
    const arrow = h("span", { class: "kt-sort", "aria-hidden": "true" });
    if (sortAt >= 0) {
      arrow.textContent = (q.sort[sortAt].descending ? "▼" : "▲") + (q.sort.length > 1 ? String(sortAt + 1) : "");
    }
    const label = h("button", { class: "kt-label", type: "button" }, name, arrow);
    label.title = c.sortable
      ? `${c.name}\nClick to sort, Shift+click to add to the sort`
      : `${c.name}\n(${c.dtype} columns cannot be sorted)`;
    if (!c.sortable) label.disabled = true;
    label.addEventListener("click", (event) => this.toggleSort(c.name, event.shiftKey));
    const funnel = h("button", {
      class: `kt-filter-btn${filtered ? " kt-active" : ""}`,
      type: "button",
      title: `Filter ${c.name}`,
      "aria-label": `Filter ${c.name}`,
    });
    funnel.append(svgIcon(FUNNEL, "kt-icon"));
    funnel.addEventListener("click", (event) => {
      event.stopPropagation();
      this.openFilter(index, funnel);
    });
    const th = h(
      "th",
      { class: `kt-th kt-kind-${c.kind}`, scope: "col", "data-column": String(index) },
      h("div", { class: "kt-th-top" }, label, funnel),
      h("div", { class: "kt-dtype" }, h("span", { class: "kt-dtype-name" }, c.dtype), this.nullsNode(index)),
      this.summaryNode(index),
    );
    if (sortAt >= 0) th.setAttribute("aria-sort", q.sort[sortAt].descending ? "descending" : "ascending");
    if (RIGHT_ALIGNED.has(c.kind)) th.classList.add("kt-right");
    return th;
  }

  private drawBody() {
    const [lo, hi] = this.range;
    const rows = this.arrow?.numRows ?? 0;
    const selected = new Set<number>(this.model.get("selected_rows") ?? []);
    const body: HTMLElement[] = [];
    if (rows === 0) {
      const q = this.query();
      const message =
        this.columns.length === 0
          ? "This table has no columns."
          : q.filters.length > 0 || q.search
            ? "No rows match the filters."
            : Number(this.model.get("total_rows") ?? 0) > 0
              ? "No rows on this page."
              : "No rows.";
      const td = h("td", { class: "kt-empty" }, message);
      td.colSpan = 2 + (hi - lo) + 1;
      body.push(h("tr", {}, td));
      this.tbody.replaceChildren(...body);
      return;
    }
    const columns: { index: number; kind: string; single: boolean; values: unknown[] }[] = [];
    for (let i = lo; i < hi; i++) {
      const field = this.arrow?.schema.fields[i + 1];
      const single = field ? String(field.type) === "Float32" : false;
      columns.push({ index: i, kind: this.columns[i].kind, single, values: this.values(i) });
    }
    for (let r = 0; r < rows; r++) {
      const id = this.rowIds[r];
      const check = h("input", { type: "checkbox", class: "kt-check", "aria-label": `Select row ${id + 1}` });
      check.checked = selected.has(id);
      check.addEventListener("change", () => this.toggleRow(id, check.checked));
      const tr = h("tr", { "data-row": String(id) }, h("td", { class: "kt-rowhead" }, check, h("span", { class: "kt-rownum" }, String(id))));
      if (check.checked) tr.classList.add("kt-selected");
      if (lo > 0) tr.append(h("td", { class: "kt-spacer-cell" }));
      for (const col of columns) tr.append(this.cell(col.values[r], col.kind, col.single, col.index));
      if (hi < this.columns.length) tr.append(h("td", { class: "kt-spacer-cell" }));
      body.push(tr);
    }
    this.tbody.replaceChildren(...body);
  }

  private cell(value: unknown, kind: string, single: boolean, index: number): HTMLElement {
    const text = cellText(value, kind, single);
    const td = h("td", { class: `kt-cell kt-kind-${kind}`, "data-col": String(index) });
    if (RIGHT_ALIGNED.has(kind)) td.classList.add("kt-right");
    if (text === null) {
      td.append(h("span", { class: "kt-null" }, "null"));
      return td;
    }
    if (kind === "float" && typeof value === "number" && !Number.isFinite(value)) {
      td.classList.add("kt-special");
    }
    if (kind === "category" && typeof value === "string") {
      td.append(h("span", { class: "kt-pill" }, text));
    } else {
      td.textContent = text;
    }
    td.title = text;
    const expandable = kind === "list" || kind === "struct" || (typeof value === "string" && text.length > 24);
    if (expandable) {
      td.classList.add("kt-expandable");
      td.addEventListener("click", () => this.openDetail(td, this.columns[index].name, text, kind));
    }
    return td;
  }

  private drawControls() {
    const q = this.query();
    const total = Number(this.model.get("total_rows") ?? 0);
    const all = Number(this.model.get("row_count") ?? 0);
    this.countEl.textContent =
      total === all ? `${formatCount(all)} rows` : `${formatCount(total)} of ${formatCount(all)} rows`;
    if (document.activeElement !== this.searchEl && this.searchEl.value !== q.search) {
      this.searchEl.value = q.search;
    }
    const pages = this.pageCount();
    this.pageInput.value = String(q.page + 1);
    this.pageInput.max = String(pages);
    this.pageTotal.textContent = ` of ${formatCount(pages)}`;
    // A page of up to TALL_PAGE_ROWS rows shows whole (one scrollbar: the notebook's);
    // longer pages scroll inside the table, under a sticky header.
    this.scroller.classList.toggle("kt-tall", q.page_size > TALL_PAGE_ROWS);
    this.navButtons["First page"].disabled = q.page <= 0;
    this.navButtons["Previous page"].disabled = q.page <= 0;
    this.navButtons["Next page"].disabled = q.page >= pages - 1;
    this.navButtons["Last page"].disabled = q.page >= pages - 1;
    const sizes = PAGE_SIZES.includes(q.page_size) ? PAGE_SIZES : [...PAGE_SIZES, q.page_size].sort((a, b) => a - b);
    this.sizeSelect.replaceChildren(
      ...sizes.map((n) => {
        const o = h("option", { value: String(n) }, `${n} / page`);
        o.selected = n === q.page_size;
        return o;
      }),
    );
    this.drawChips(q);
    this.drawSelectionInfo();
  }

  private drawChips(q: Query) {
    const chips: HTMLElement[] = q.filters.map((f, i) => {
      const remove = h("button", { type: "button", class: "kt-chip-x", "aria-label": `Remove filter ${filterLabel(f)}` }, "×");
      remove.addEventListener("click", () => {
        const filters = q.filters.filter((_, j) => j !== i);
        this.request({ filters, page: 0 });
      });
      return h("span", { class: "kt-chip" }, h("span", {}, filterLabel(f)), remove);
    });
    if (chips.length > 1) {
      const clear = h("button", { type: "button", class: "kt-link" }, "Clear all");
      clear.addEventListener("click", () => this.request({ filters: [], page: 0 }));
      chips.push(clear);
    }
    this.chipsEl.replaceChildren(...chips);
    this.chipsEl.hidden = chips.length === 0;
  }

  // -- sorting, selection --------------------------------------------------------------
  private toggleSort(column: string, add: boolean) {
    const q = this.query();
    const at = q.sort.findIndex((s) => s.column === column);
    let sort: SortKey[];
    if (add) {
      sort = [...q.sort];
      if (at < 0) sort.push({ column, descending: false });
      else if (!sort[at].descending) sort[at] = { column, descending: true };
      else sort.splice(at, 1);
    } else if (at < 0 || q.sort.length > 1) {
      sort = [{ column, descending: at >= 0 ? !q.sort[at].descending : false }];
    } else if (!q.sort[at].descending) {
      sort = [{ column, descending: true }];
    } else {
      sort = [];
    }
    this.request({ sort, page: 0 });
  }

  private setSelection(rows: number[]) {
    this.model.set("selected_rows", rows);
    this.model.save_changes();
    this.drawSelection();
  }

  private toggleRow(id: number, on: boolean) {
    const current = new Set<number>(this.model.get("selected_rows") ?? []);
    if (on) current.add(id);
    else current.delete(id);
    this.setSelection([...current].sort((a, b) => a - b));
  }

  private selectPage(on: boolean) {
    const current = new Set<number>(this.model.get("selected_rows") ?? []);
    for (const id of this.rowIds) {
      if (on) current.add(id);
      else current.delete(id);
    }
    this.setSelection([...current].sort((a, b) => a - b));
  }

  private drawSelection() {
    const selected = new Set<number>(this.model.get("selected_rows") ?? []);
    for (const tr of Array.from(this.tbody.querySelectorAll<HTMLTableRowElement>("tr[data-row]"))) {
      const on = selected.has(Number(tr.dataset.row));
      tr.classList.toggle("kt-selected", on);
      const box = tr.querySelector<HTMLInputElement>("input.kt-check");
      if (box) box.checked = on;
    }
    const all = this.thead.querySelector<HTMLInputElement>("input.kt-check");
    if (all) {
      const onPage = this.rowIds.filter((id) => selected.has(id)).length;
      all.checked = this.rowIds.length > 0 && onPage === this.rowIds.length;
      all.indeterminate = onPage > 0 && onPage < this.rowIds.length;
    }
    this.drawSelectionInfo();
  }

  private drawSelectionInfo() {
    const count = (this.model.get("selected_rows") ?? []).length;
    this.footInfo.replaceChildren();
    if (count > 0) {
      const clear = h("button", { type: "button", class: "kt-link" }, "clear");
      clear.addEventListener("click", () => this.setSelection([]));
      this.footInfo.append(`${formatCount(count)} selected · `, clear);
    }
  }

  // -- popovers ------------------------------------------------------------------------
  private place(anchor: HTMLElement) {
    const root = this.root.getBoundingClientRect();
    const box = anchor.getBoundingClientRect();
    this.popover.hidden = false;
    const width = this.popover.offsetWidth;
    const left = Math.max(4, Math.min(box.left - root.left, root.width - width - 4));
    const top = box.bottom - root.top + 4;
    this.popover.style.left = `${left}px`;
    this.popover.style.top = `${top}px`;
    // Grow the widget while the popover is open, so no output area clips it.
    this.root.style.minHeight = `${top + this.popover.offsetHeight + 8}px`;
  }

  private closePopover() {
    this.popover.hidden = true;
    this.popover.replaceChildren();
    this.root.style.minHeight = "";
  }

  private openDetail(anchor: HTMLElement, column: string, text: string, kind: string) {
    const body = kind === "list" || kind === "struct" ? prettyJson(text) : text;
    const close = h("button", { type: "button", class: "kt-btn", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => this.closePopover());
    this.popover.className = "kt-pop kt-detail";
    this.popover.replaceChildren(
      h("div", { class: "kt-pop-head" }, h("span", { class: "kt-pop-title" }, column), close),
      h("pre", { class: "kt-pre" }, body),
    );
    this.place(anchor);
  }

  private openFilter(index: number, anchor: HTMLElement) {
    const c = this.columns[index];
    const q = this.query();
    const mine = q.filters.filter((f) => f.column === c.name);
    const others = q.filters.filter((f) => f.column !== c.name);
    const summary = this.summaries[index];
    const parts: HTMLElement[] = [];
    const read: (() => FilterSpec | null)[] = [];

    if (c.filters.includes("between")) {
      const current = mine.find((f) => f.op === "between");
      const hint = c.kind === "date" ? "YYYY-MM-DD" : c.kind === "datetime" ? "YYYY-MM-DD hh:mm" : c.kind === "duration" ? "seconds" : "";
      const lo = h("input", { class: "kt-input", type: "text", "aria-label": "Minimum", placeholder: hint || (summary?.min !== undefined && summary?.min !== null ? `min ${summary.min}` : "min") });
      const hi = h("input", { class: "kt-input", type: "text", "aria-label": "Maximum", placeholder: hint || (summary?.max !== undefined && summary?.max !== null ? `max ${summary.max}` : "max") });
      lo.value = current?.min === undefined || current?.min === null ? "" : String(current.min);
      hi.value = current?.max === undefined || current?.max === null ? "" : String(current.max);
      parts.push(h("label", { class: "kt-field" }, "Range", h("span", { class: "kt-range-inputs" }, lo, h("span", {}, "to"), hi)));
      const numeric = ["int", "float", "decimal", "duration"].includes(c.kind);
      const parse = (text: string): unknown => {
        const t = text.trim();
        if (t === "") return null;
        return numeric && Number.isFinite(Number(t)) ? Number(t) : t;
      };
      read.push(() => {
        const min = parse(lo.value);
        const max = parse(hi.value);
        return min === null && max === null ? null : { column: c.name, op: "between", min, max };
      });
    }
    if (c.filters.includes("contains")) {
      const current = mine.find((f) => f.op === "contains");
      const input = h("input", { class: "kt-input", type: "text", "aria-label": "Contains", placeholder: "text" });
      input.value = current?.value ?? "";
      parts.push(h("label", { class: "kt-field" }, "Contains", input));
      read.push(() => (input.value.trim() ? { column: c.name, op: "contains", value: input.value.trim() } : null));
    }
    if (c.filters.includes("in") && (c.kind === "category" || c.kind === "bool")) {
      const current = mine.find((f) => f.op === "in");
      const chosen = new Set<unknown>(current?.values ?? []);
      const choices: unknown[] =
        c.kind === "bool" ? [true, false] : (summary?.top ?? []).map(([value]) => value).filter((v) => v !== null);
      const boxes = choices.map((value) => {
        const box = h("input", { type: "checkbox" });
        box.checked = chosen.has(value);
        parts.push(h("label", { class: "kt-option" }, box, h("span", {}, String(value))));
        return { box, value };
      });
      if (boxes.length > 0) parts.splice(parts.length - boxes.length, 0, h("div", { class: "kt-field-label" }, "Values"));
      read.push(() => {
        const values = boxes.filter((b) => b.box.checked).map((b) => b.value);
        return values.length ? { column: c.name, op: "in", values } : null;
      });
    }
    const nulls = h("select", { class: "kt-input", "aria-label": "Nulls" });
    const current = mine.find((f) => f.op === "is_null" || f.op === "not_null")?.op ?? "";
    for (const [value, label] of [["", "any"], ["not_null", "not null"], ["is_null", "only null"]]) {
      const o = h("option", { value }, label);
      o.selected = value === current;
      nulls.append(o);
    }
    parts.push(h("label", { class: "kt-field" }, "Nulls", nulls));
    read.push(() => (nulls.value ? { column: c.name, op: nulls.value } : null));

    const apply = h("button", { type: "button", class: "kt-btn kt-primary" }, "Apply");
    const clear = h("button", { type: "button", class: "kt-btn" }, "Clear");
    const submit = () => {
      const next = read.map((fn) => fn()).filter((f): f is FilterSpec => f !== null);
      this.closePopover();
      this.request({ filters: [...others, ...next], page: 0 });
    };
    apply.addEventListener("click", submit);
    clear.addEventListener("click", () => {
      this.closePopover();
      this.request({ filters: others, page: 0 });
    });
    const form = h("form", { class: "kt-form" }, ...parts, h("div", { class: "kt-actions" }, clear, apply));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    this.popover.className = "kt-pop kt-filter";
    this.popover.replaceChildren(
      h("div", { class: "kt-pop-head" }, h("span", { class: "kt-pop-title" }, c.name), h("span", { class: "kt-dtype" }, c.dtype)),
      form,
    );
    this.place(anchor);
    form.querySelector<HTMLInputElement>("input, select")?.focus();
  }

  // -- export --------------------------------------------------------------------------
  private onMessage(raw: unknown, buffers: DataView[]) {
    if (!raw || typeof raw !== "object") return;
    const content = raw as TableMessage;
    if (content.type === "export_error") {
      this.exportStatus.textContent = "";
      this.errorEl.textContent = `Export failed: ${String(content.message ?? "")}`;
      this.errorEl.hidden = false;
      return;
    }
    if (content.type !== "export" || !buffers || buffers.length === 0) return;
    const bytes = toBytes(buffers[0]);
    if (!bytes) return;
    const type = content.format === "parquet" ? "application/vnd.apache.parquet" : "text/csv";
    const blob = new Blob([bytes.slice()], { type });
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: String(content.filename ?? "table") });
    link.style.display = "none";
    this.root.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    this.exportStatus.textContent = `Saved ${String(content.filename ?? "")}`;
  }
}

function render({ model, el }: RenderProps<TableTraits>) {
  const view = new TableView(model, el);
  // Tells the kernel the first page is on screen: background summaries start now.
  model.send({ type: "rendered" });
  return () => view.destroy();
}

export default { render };
