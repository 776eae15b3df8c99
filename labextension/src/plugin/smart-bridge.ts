// The contract between a smart-cell widget's view (src/widgets/smart/smartcell.ts) and
// kino's JupyterLab plugin (smart-cells.ts). Types and names only: both sides import it.
//
// Once its element is in the document, the view dispatches SMART_CELL_EVENT from that
// element (bubbling). A plugin that finds the notebook cell holding the element calls
// `claim(host)` synchronously, inside its listener. A view nobody claimed is in a host
// without the plugin (Voila, classic tools, another front end): it shows its code with a
// copy button instead, under the plugin's `refusal` when it gave one.

export const SMART_CELL_EVENT = "kino:smart-cell";

/** Metadata key of the form cell (the cell whose output is the smart cell's form). */
export const FORM_METADATA_KEY = "kino_smart_cell";
/** Metadata key of the code cell (the cell below the form cell, holding its code). */
export const CODE_METADATA_KEY = "kino_smart_code";

/** What the form cell's metadata keeps (versioned, with a hash of the code it wrote). */
export interface FormCellMetadata {
  kind: string;
  version: number;
  attrs: Record<string, unknown>;
  /** sha256 (hex) of the code last written into the code cell. */
  code_sha256: string;
  /** The code cell's id (nbformat 4.5 cell id). */
  code_cell: string;
}

/** What the code cell's metadata keeps: which form wrote it. */
export interface CodeCellMetadata {
  form_cell: string;
}

/** The view's side: read and set the widget's synced state. */
export interface SmartCellBridge {
  kind: string;
  version: number;
  title: string;
  attrs(): Record<string, unknown>;
  code(): string;
  error(): string;
  /** Set the widget's attributes (synced to the kernel, which answers with new code). */
  setAttrs(attrs: Record<string, unknown>): void;
  /** Call `listener` whenever attrs, code or error change; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Whether a kernel is connected to the widget (a reopened notebook's form has none). */
  live(): boolean;
}

/** How the code cell stands, as the plugin tells the view. */
export type SmartCellStatus =
  /** The code cell holds exactly the code the form wrote last. */
  | { state: "linked" }
  /** The user edited the code by hand: the form will not overwrite it. */
  | { state: "edited" };

/** The plugin's side, handed to the view by `claim`. */
export interface SmartCellHost {
  /** The view calls this with a listener for status changes; returns the unsubscribe. */
  onStatus(listener: (status: SmartCellStatus) => void): () => void;
  /** Keep the code as plain code: drop the form cell and both cells' smart metadata. */
  convertToPlainCode(): void;
  /** Replace the hand-edited code with the form's code. */
  overwrite(): void;
}

export interface SmartCellEventDetail {
  bridge: SmartCellBridge;
  /** Set by `claim`. */
  claimed: boolean;
  claim(host: SmartCellHost): void;
  /** Set by a plugin that found the view's cell but will not host it: why, in words. */
  refusal?: string;
}
