// What a notebook saves of its widgets. Two fixes on top of the widget manager's own
// save, applied to the "widgets" metadata it has just written:
//
// 1. Keep the state of widgets the outputs still show. The manager saves only models
//    with a live comm, so a reopened notebook (its models restored from the file) or
//    one whose kernel restarted saved an empty state, and the next open showed
//    "model not found". A model referenced by an output, or by a kept model, that the
//    manager no longer has keeps the state it had when the notebook was last opened or
//    saved.
// 2. Carry no widget bundle. Each kino widget's `_esm` is its whole ES module (a chart
//    is ~900 KB), once per widget. It is saved as a few lines that import the module
//    from kino's lab extension (`loaderFor`), and `_css` as nothing (the loader links
//    the stylesheet), so a notebook with five charts saves no module at all.

export const WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json";
const VIEW_MIME = "application/vnd.jupyter.widget-view+json";

export interface ModelState {
  model_name?: string;
  model_module?: string;
  model_module_version?: string;
  state: Record<string, unknown>;
  buffers?: unknown[];
}

export type WidgetState = Record<string, ModelState>;

export interface SavedWidgets {
  state: WidgetState;
  version_major?: number;
  version_minor?: number;
}

interface OutputLike {
  data?: Record<string, unknown>;
}

interface CellLike {
  cell_type?: string;
  outputs?: OutputLike[];
}

const REFERENCE = /IPY_MODEL_([0-9a-f]{8,})/g;
const VIEW_REFERENCE = /"model_id"\s*:\s*"([0-9a-f]{8,})"/g;

/** Model ids that cells display (widget-view outputs). */
export function displayedModelIds(cells: CellLike[]): Set<string> {
  const ids = new Set<string>();
  for (const cell of cells) {
    for (const output of cell.outputs ?? []) {
      const view = output.data?.[VIEW_MIME] as { model_id?: string } | undefined;
      if (view?.model_id) ids.add(view.model_id);
    }
  }
  return ids;
}

function referencesOf(model: ModelState): string[] {
  const text = JSON.stringify(model.state);
  const ids: string[] = [];
  for (const pattern of [REFERENCE, VIEW_REFERENCE]) {
    for (const match of text.matchAll(pattern)) ids.push(match[1]);
  }
  return ids;
}

/**
 * The state to save: `current` (what the manager has live) plus every model of
 * `previous` that the outputs still reach and `current` lacks. Models nothing
 * reaches are dropped, so a cell's earlier run leaves nothing behind.
 */
export function keepSavedState(
  previous: WidgetState,
  current: WidgetState,
  displayed: Set<string>,
): WidgetState {
  const kept: WidgetState = {};
  const pending = [...displayed];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (id in kept) continue;
    const model = current[id] ?? previous[id];
    if (!model) continue;
    kept[id] = model;
    pending.push(...referencesOf(model));
  }
  // Live models nothing displays yet (a widget the kernel holds but has not shown)
  // are the manager's to decide: keep them as it wrote them.
  for (const [id, model] of Object.entries(current)) {
    if (!(id in kept)) kept[id] = model;
  }
  return kept;
}

const LOADER_MARK = "// kino loader:";

const MISSING_EXTENSION =
  "This kino widget was saved without its code, which comes from kino's JupyterLab " +
  "extension (jupyter-kino), and this page could not load it. Install kino " +
  "(pip install jupyter-kino) in the environment that serves this page and reopen " +
  "the notebook, or run the cell again.";

// Where the module cannot load, kino's stylesheets cannot either, so the rules of
// base/_base.css that hide ipywidgets' red "disconnected" icon inside kino output are
// missing too: the loader adds them (and one for the note's own view and its boxes).
const MISSING_STYLE =
  ".jupyter-widgets-disconnected:has(.kino-missing-module)::before," +
  ".kino.jupyter-widgets-disconnected::before,.kino .jupyter-widgets-disconnected::before," +
  ".jupyter-widgets-disconnected:has(> .kino)::before{content:none!important;display:none!important}";

/**
 * The few lines saved as a kino widget's `_esm`: they find the lab extension's
 * static folder from the page config (JupyterLab: `{baseUrl}lab/extensions/`,
 * Voila: `{baseUrl}voila/labextensions/`), link the stylesheet once and import the
 * module; where that fails they show why instead of an error. The stylesheet is not
 * awaited: a refused one (a 404 page) fires neither load nor error in Chromium, and
 * the widget manager would wait on the module for ever.
 */
export function loaderFor(bundle: string, hasCss: boolean): string {
  const name = JSON.stringify(bundle);
  return `${LOADER_MARK} the ${bundle} widget's module, served by kino's lab extension.
const config = JSON.parse(document.getElementById("jupyter-config-data")?.textContent || "{}");
const base = config.fullLabextensionsUrl ?? (config.baseUrl ?? "/") + "lab/extensions";
const root = new URL((base.endsWith("/") ? base : base + "/") + "jupyter-kino/static/widgets/", location.href);
const name = ${name};
if (${hasCss} && !document.querySelector(\`link[data-kino-bundle="\${name}"]\`)) {
  const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: new URL(name + ".css", root).href });
  link.dataset.kinoBundle = name;
  document.head.append(link);
}
let widget;
try {
  widget = (await import(new URL(name + ".js", root).href)).default;
} catch (error) {
  console.warn("kino: could not load the " + name + " widget's module from " + root, error);
  widget = { render({ el }) {
    if (!document.getElementById("kino-missing-module-style")) {
      const style = Object.assign(document.createElement("style"), { id: "kino-missing-module-style" });
      style.textContent = ${JSON.stringify(MISSING_STYLE)};
      document.head.append(style);
    }
    const box = document.createElement("div");
    box.className = "kino-missing-module";
    box.setAttribute("role", "note");
    box.style.cssText = "padding:6px 10px;border:1px solid #d0d7de;border-radius:6px;color:#59636e;font:13px system-ui,sans-serif";
    box.textContent = ${JSON.stringify(MISSING_EXTENSION)};
    el.append(box);
  } };
}
export default widget;
`;
}

/** Replaces each kino widget's saved module and stylesheet with a loader. */
export function withoutBundles(state: WidgetState): WidgetState {
  const out: WidgetState = {};
  for (const [id, model] of Object.entries(state)) {
    const bundle = model.state._kino_bundle;
    const esm = model.state._esm;
    const isLoader = typeof esm === "string" && esm.startsWith(LOADER_MARK);
    if (typeof bundle === "string" && /^[\w-]+$/.test(bundle) && !isLoader) {
      const css = model.state._css;
      out[id] = {
        ...model,
        state: { ...model.state, _esm: loaderFor(bundle, typeof css === "string" && css !== ""), _css: "" },
      };
    } else {
      out[id] = model;
    }
  }
  return out;
}

/** The parts of a notebook's document context that the save hook uses. */
export interface NotebookContextLike {
  ready: Promise<void>;
  model: {
    toJSON(): unknown;
    getMetadata(key: string): unknown;
    setMetadata(key: string, value: unknown): void;
  };
  saveState: { connect(fn: (sender: unknown, state: string) => void): boolean };
  sessionContext: {
    statusChanged: { connect(fn: (sender: unknown, status: string) => void): boolean };
  };
}

/** The state of the live models a widget manager holds (its `get_state_sync`):
 *  `prepare` finds the manager ahead of time, `take` reads the state synchronously. */
export interface Snapshot {
  prepare(): void;
  take(): WidgetState | null;
}

function stateIn(widgets: unknown): SavedWidgets | null {
  const saved = (widgets as Record<string, SavedWidgets> | undefined)?.[WIDGET_STATE_MIME];
  return saved && typeof saved.state === "object" ? saved : null;
}

/**
 * Applies `keepSavedState` and `withoutBundles` to every "widgets" metadata the
 * notebook saves. The widget manager writes that metadata from its own save
 * handler, whose order against ours is not fixed, so the model's `setMetadata` is
 * wrapped: whatever writes the widget state, the saved value is the fixed one.
 */
export function keepWidgetStateThroughSaves(context: NotebookContextLike, snapshot?: Snapshot): void {
  void context.ready.then(() => {
    const model = context.model;
    let previous: WidgetState = stateIn(model.getMetadata("widgets"))?.state ?? {};
    const fix = (widgets: unknown): unknown => {
      const saved = stateIn(widgets);
      if (!saved) return widgets;
      const cells = ((model.toJSON() as { cells?: CellLike[] }).cells ?? []) as CellLike[];
      const state = withoutBundles(keepSavedState(previous, saved.state, displayedModelIds(cells)));
      previous = state;
      return { ...(widgets as object), [WIDGET_STATE_MIME]: { ...saved, state } };
    };
    const setMetadata = model.setMetadata.bind(model);
    model.setMetadata = (key: string, value: unknown) =>
      setMetadata(key, key === "widgets" ? fix(value) : value);
    // A restart ends every comm, and the manager then saves none of the models it
    // holds. It marks them dead a microtask after "restarting" is announced, so
    // their state is still there to take, synchronously, here.
    context.sessionContext.statusChanged.connect((_, status) => {
      if (!snapshot) return;
      if (status !== "restarting" && status !== "autorestarting") {
        snapshot.prepare();
        return;
      }
      const held = snapshot.take();
      if (held) previous = { ...previous, ...held };
    });
    context.saveState.connect((_, state) => {
      if (state !== "started") return;
      // With no widget manager (no kernel yet) nothing rewrites the state: fix the
      // one read from the file, so it too loses its bundles.
      const widgets = model.getMetadata("widgets");
      if (stateIn(widgets)) model.setMetadata("widgets", widgets);
    });
  });
}
