// kino.chart: a Vega-Lite chart (vega-embed, bundled) that rows stream into.
// Selections the user makes on it (Vega-Lite `params` with `select`) are
// written to the `selection` trait, `{param: value}`, where Python turns them
// into events.
import "./chart.css";
import type { View } from "vega";
import { h, onThemeChange, showError } from "../base/_dom";
import type { InitializeProps, RenderProps } from "../base/_model";
import { LiveView, selectionParams, storeFor, type LiveTraits } from "./_vegalive";

/**
 * What a selection's Vega signal holds: `{field: [values...]}` for a point
 * selection, `{field: [min, max]}` for an interval, `{}` when nothing is selected.
 */
type SelectionValue = Record<string, unknown>;

/** The synced traits of kino.ui.live.chart.Chart. */
interface ChartTraits extends LiveTraits {
  /** The Vega-Lite spec (its datasets are filled from `_data`). */
  spec: Record<string, unknown>;
  notice: string;
  /** One entry per selection parameter of the spec, written by the browser. */
  selection: Record<string, SelectionValue>;
}

function render({ model, el }: RenderProps<ChartTraits>) {
  const store = storeFor(model);
  const root = h("div", { class: "kino kino-chart" });
  const plot = h("div", { class: "kino-chart-plot kino-vega-host" });
  const notice = h("div", { class: "kino-chart-notice", role: "status" });
  root.append(plot, notice);
  el.appendChild(root);

  // The selection of the current view, written to the model at most once per
  // frame however fast the signals change (a drag updates an interval on
  // every mouse move).
  let selection: Record<string, SelectionValue> = {};
  let frame = 0;
  let embedded = false;
  const flush = () => {
    frame = 0;
    model.set("selection", copy(selection));
    model.save_changes();
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(flush);
  };
  const cancel = () => {
    cancelAnimationFrame(frame);
    frame = 0;
  };
  const onReady = (view: View, names: string[]) => {
    const reembedded = embedded;
    embedded = true;
    cancel();
    selection = {};
    if (!names.length) return;
    for (const name of names) {
      try {
        selection[name] = asValue(view.signal(name));
        view.addSignalListener(name, (_name, value) => {
          selection = { ...selection, [name]: asValue(value) };
          schedule();
        });
      } catch {
        delete selection[name]; // not a signal of the compiled view
      }
    }
    // A new spec or theme re-embeds the chart and its selections start empty:
    // say so, unless the trait already shows no selection.
    if (reembedded && !allEmpty(model.get("selection") ?? {})) schedule();
  };

  let error: HTMLElement | null = null;
  let live: LiveView | null = null;
  const build = () => {
    live?.destroy();
    cancel();
    error?.remove();
    error = null;
    const spec = model.get("spec") ?? {};
    const names = selectionParams(spec);
    live = new LiveView(
      plot,
      store,
      spec,
      (message) => {
        error?.remove();
        error = showError(root, `kino.chart: the Vega-Lite spec cannot be shown.\n${message}`);
      },
      (view) => onReady(view, names),
    );
    live.embed();
  };
  const showNotice = () => {
    const text = model.get("notice") ?? "";
    notice.textContent = text;
    notice.hidden = !text;
  };
  build();
  showNotice();
  const unsubscribe = store.subscribe((change) => live?.apply(change));
  const stopTheme = onThemeChange(() => live?.embed());
  model.on("change:spec", build);
  model.on("change:notice", showNotice);
  return () => {
    unsubscribe();
    stopTheme();
    cancel();
    model.off("change:spec", build);
    model.off("change:notice", showNotice);
    live?.destroy();
  };
}

/** A selection signal's value as plain JSON (what travels to Python). */
function asValue(value: unknown): SelectionValue {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  return JSON.parse(JSON.stringify(value)) as SelectionValue;
}

function copy(selection: Record<string, SelectionValue>): Record<string, SelectionValue> {
  return JSON.parse(JSON.stringify(selection)) as Record<string, SelectionValue>;
}

function allEmpty(selection: Record<string, SelectionValue>): boolean {
  return Object.values(selection).every((v) => !v || Object.keys(v).length === 0);
}

export default {
  initialize({ model }: InitializeProps<ChartTraits>) {
    storeFor(model);
  },
  render,
};
