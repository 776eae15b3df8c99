// Smart cells in JupyterLab (issue #15): the plugin's half of smart-bridge.ts. A smart
// cell's view announces itself from its form cell's output; this module claims it, writes
// the form's code into the cell below (the code cell) and keeps the form's attributes in
// the form cell's metadata, all through the notebook's shared model (collaboration, undo).
import type { ISharedCell, ISharedNotebook } from "@jupyter/ydoc";
import {
  CODE_METADATA_KEY,
  FORM_METADATA_KEY,
  SMART_CELL_EVENT,
  type CodeCellMetadata,
  type FormCellMetadata,
  type SmartCellBridge,
  type SmartCellEventDetail,
  type SmartCellHost,
  type SmartCellStatus,
} from "./smart-bridge";
import { sha256 } from "./smart-hash";

/** The smart cells kino.smart offers (kino.smart.CELLS; a test keeps the two equal). */
export const SMART_CELLS: readonly { kind: string; title: string }[] = [
  { kind: "train_model", title: "Train a model" },
  { kind: "neural_network_task", title: "Neural network task" },
  { kind: "chart_builder", title: "Chart builder" },
  { kind: "data_transform", title: "Data transformation" },
  { kind: "data_source", title: "Data source" },
];

/** What this module needs of a JupyterLab cell widget. */
export interface CellWidgetLike {
  node: HTMLElement;
  model: { sharedModel: ISharedCell };
}

/** What this module needs of a JupyterLab NotebookPanel. */
export interface NotebookPanelLike {
  node: HTMLElement;
  content: { widgets: readonly CellWidgetLike[]; model: { sharedModel: ISharedNotebook } | null };
}

type Attrs = Record<string, unknown>;

/** JSON with sorted keys: two attribute sets are equal when these strings are. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Attrs)[k]]))
      : v,
  );
}

const sameJSON = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/**
 * Claim every smart-cell view shown in `panel`'s cells: each gets a SmartCellLink to its
 * form cell. Returns the function that stops listening.
 */
export function hostSmartCells(panel: NotebookPanelLike): () => void {
  // One form per cell: a second view in a cell whose link is alive would write over the
  // first one's metadata and code cell.
  const links = new WeakMap<ISharedCell, SmartCellLink>();
  const listener = (event: Event) => {
    const detail = (event as CustomEvent<SmartCellEventDetail>).detail;
    const target = event.target;
    if (!detail || typeof detail.claim !== "function" || detail.claimed || !(target instanceof Node)) return;
    const notebook = panel.content.model?.sharedModel;
    // The form cell is the cell holding the view: never the active cell.
    const cell = panel.content.widgets.find((c) => c.node.contains(target));
    if (!notebook || !cell) return;
    const shared = cell.model.sharedModel;
    if (links.get(shared)?.active) {
      detail.refusal =
        "This cell already shows a smart cell, whose code is in the cell below. " +
        "Give this one a cell of its own to have its code written for it.";
      return;
    }
    const link = new SmartCellLink(notebook, shared, detail.bridge);
    links.set(shared, link);
    detail.claim(link);
  };
  panel.node.addEventListener(SMART_CELL_EVENT, listener);
  return () => panel.node.removeEventListener(SMART_CELL_EVENT, listener);
}

/** Attributes saved in the form cell, waiting for a re-run form (started from defaults) to take them. */
interface Restoring {
  attrs: Attrs;
  /** The widget's code when the saved attributes were sent; null until they are. */
  codeWhenSent: string | null;
}

/** One view's link between its form cell and the code cell below it. */
export class SmartCellLink implements SmartCellHost {
  private readonly listeners = new Set<(status: SmartCellStatus) => void>();
  private status: SmartCellStatus = { state: "linked" };
  private restoring: Restoring | null = null;
  private watched: ISharedCell | null = null;
  private queue: Promise<void> = Promise.resolve();
  private forceWrite = false;
  private disposed = false;
  private readonly stopBridge: () => void;

  constructor(
    private readonly notebook: ISharedNotebook,
    private readonly form: ISharedCell,
    private readonly bridge: SmartCellBridge,
  ) {
    const stored = this.stored();
    if (stored && stored.kind === bridge.kind && !sameJSON(stored.attrs, bridge.attrs())) {
      // A reopened notebook whose form cell ran again: its widget began from the
      // defaults, and their code must never overwrite the saved code.
      this.restoring = { attrs: stored.attrs, codeWhenSent: null };
    }
    this.stopBridge = bridge.onChange(() => this.schedule(() => this.sync()));
    this.schedule(() => this.sync());
  }

  onStatus(listener: (status: SmartCellStatus) => void): () => void {
    this.listeners.add(listener);
    listener(this.status);
    return () => {
      this.listeners.delete(listener);
      // The view is gone (its output was cleared or re-rendered): so is this link.
      if (this.listeners.size === 0) this.dispose();
    };
  }

  /** Whether a view still uses this link (false once its output is gone). */
  get active(): boolean {
    return !this.disposed;
  }

  overwrite(): void {
    this.forceWrite = true;
    this.schedule(() => this.sync());
  }

  convertToPlainCode(): void {
    const code = this.codeCell();
    const index = this.notebook.cells.indexOf(this.form);
    // One notebook transaction: a single undo brings the form cell and the link back.
    this.notebook.transact(() => {
      code?.deleteMetadata(CODE_METADATA_KEY);
      if (index >= 0) this.notebook.deleteCell(index);
    });
    this.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopBridge();
    this.watch(null);
    this.listeners.clear();
  }

  /** Runs `step` after the ones before it (each awaits a hash), reporting its failure. */
  private schedule(step: () => Promise<void>): void {
    this.queue = this.queue
      .then(() => (this.disposed ? undefined : step()))
      .catch((error: unknown) => console.error("kino: smart cell link failed", error));
  }

  private stored(): FormCellMetadata | null {
    const meta = this.form.getMetadata(FORM_METADATA_KEY) as FormCellMetadata | undefined;
    return meta && typeof meta === "object" && typeof meta.kind === "string" ? meta : null;
  }

  /** The cell directly below the form cell, when its metadata names the form cell. */
  private codeCell(): ISharedCell | null {
    const cells = this.notebook.cells;
    const index = cells.indexOf(this.form);
    const below = index >= 0 ? cells[index + 1] : undefined;
    const meta = below?.getMetadata(CODE_METADATA_KEY) as CodeCellMetadata | undefined;
    return below && below.cell_type === "code" && meta?.form_cell === this.form.getId() ? below : null;
  }

  /** Whether the saved attributes have reached the widget and its code answered them. */
  private async restored(): Promise<boolean> {
    const pending = this.restoring;
    if (!pending) return true;
    if (!this.bridge.live()) return false;
    if (pending.codeWhenSent === null) {
      pending.codeWhenSent = this.bridge.code();
      this.bridge.setAttrs(pending.attrs);
      return false;
    }
    const code = this.bridge.code();
    const answered =
      code !== pending.codeWhenSent ||
      this.bridge.error() !== "" ||
      // The kernel changed them (a migration) or the user did.
      !sameJSON(this.bridge.attrs(), pending.attrs) ||
      (await sha256(code)) === this.stored()?.code_sha256;
    if (answered) this.restoring = null;
    return answered;
  }

  private async sync(): Promise<void> {
    const code = this.bridge.code();
    const ready = (await this.restored()) && this.bridge.live() && code !== "" && this.bridge.error() === "";
    const index = this.notebook.cells.indexOf(this.form);
    if (!ready || index < 0) return this.updateStatus();
    const hash = await sha256(code);
    if (this.disposed) return;
    const stored = this.stored();
    const target = this.codeCell();
    const source = target?.getSource() ?? "";
    const edited =
      !this.forceWrite && target !== null && stored !== null && source !== "" && (await sha256(source)) !== stored.code_sha256;
    if (this.disposed) return;
    const meta: FormCellMetadata = {
      kind: this.bridge.kind,
      version: this.bridge.version,
      attrs: this.bridge.attrs(),
      code_sha256: hash,
      code_cell: target?.getId() ?? "",
    };
    if (edited && stored) {
      // Never overwrite hand-edited code; the form's attributes are still kept.
      const kept = { ...meta, code_sha256: stored.code_sha256 };
      if (!sameJSON(kept, stored)) this.form.setMetadata(FORM_METADATA_KEY, kept as never);
      return this.updateStatus();
    }
    this.forceWrite = false;
    let cell = target;
    if (!cell) {
      const link: CodeCellMetadata = { form_cell: this.form.getId() };
      cell = this.notebook.insertCell(this.notebook.cells.indexOf(this.form) + 1, {
        cell_type: "code",
        source: "",
        metadata: { [CODE_METADATA_KEY]: link },
      } as never);
      meta.code_cell = cell.getId();
    }
    if (!sameJSON(meta, stored)) this.form.setMetadata(FORM_METADATA_KEY, meta as never);
    if (cell.getSource() !== code) {
      cell.setSource(code);
      // The form's write is one undo step of its own: Ctrl+Z after typing in the code
      // cell undoes the typing, not the typing and the code the form wrote.
      (cell as { undoManager?: { stopCapturing(): void } | null }).undoManager?.stopCapturing();
    }
    return this.updateStatus();
  }

  /** Compare the code cell with the hash of the code last written, and say so. */
  private async updateStatus(): Promise<void> {
    const stored = this.stored();
    const target = this.codeCell();
    this.watch(target);
    let state: SmartCellStatus["state"] = "linked";
    if (stored && target) {
      const source = target.getSource();
      if (source !== "" && (await sha256(source)) !== stored.code_sha256) state = "edited";
    }
    if (this.disposed || state === this.status.state) return;
    this.status = { state };
    for (const listener of this.listeners) listener(this.status);
  }

  private readonly onCodeChanged = (_cell: ISharedCell, change: { sourceChange?: unknown }) => {
    // Typing in the code cell flips the status at once (and undoing to the code, back).
    if (change.sourceChange) this.schedule(() => this.updateStatus());
  };

  private watch(cell: ISharedCell | null): void {
    if (cell === this.watched) return;
    this.watched?.changed.disconnect(this.onCodeChanged as never);
    this.watched = cell;
    cell?.changed.connect(this.onCodeChanged as never);
  }
}
