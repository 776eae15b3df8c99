// kino.chart: a Vega-Lite chart (vega-embed, bundled) that rows stream into.
import "./chart.css";
import { h, onThemeChange, showError } from "../base/_dom";
import { LiveView, storeFor, type AnyModel } from "./_vegalive";

function render({ model, el }: { model: AnyModel; el: HTMLElement }) {
  const store = storeFor(model);
  const root = h("div", { class: "kino kino-chart" });
  const plot = h("div", { class: "kino-chart-plot kino-vega-host" });
  const notice = h("div", { class: "kino-chart-notice", role: "status" });
  root.append(plot, notice);
  el.appendChild(root);

  let error: HTMLElement | null = null;
  let live: LiveView | null = null;
  const build = () => {
    live?.destroy();
    error?.remove();
    error = null;
    live = new LiveView(plot, store, model.get("spec") ?? {}, (message) => {
      error?.remove();
      error = showError(root, `kino.chart: the Vega-Lite spec cannot be shown.\n${message}`);
    });
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
    model.off("change:spec", build);
    model.off("change:notice", showNotice);
    live?.destroy();
  };
}

export default {
  initialize({ model }: { model: AnyModel }) {
    storeFor(model);
  },
  render,
};
