// kino.dashboard: live training curves, progress, learning rate, confusion
// matrix and a Stop button for a kino.train loop.
import "./dashboard.css";
import { h, isDarkTheme, onThemeChange, showError } from "../base/_dom";
import type { InitializeProps, RenderProps } from "../base/_model";
import { LiveView, palette, storeFor, type LiveStore, type LiveTraits } from "./_vegalive";

const CONFUSION = "confusion_matrix";
const SMOOTHING = 6;
const MAX_DOTS = 60;

interface Progress {
  status?: string;
  event?: string;
  reason?: string | null;
  epoch?: number;
  epochs?: number;
  iteration?: number;
  iterations?: number | null;
  step?: number;
  total_steps?: number | null;
  steps_per_second?: number | null;
  elapsed?: number | null;
  compile_seconds?: number | null;
  eta?: number | null;
  data_path?: string | null;
  learning_rate?: number | null;
  latest?: Record<string, number>;
  confusion?: { epoch: number; classes: number } | null;
}

/** The synced traits of kino.ui.live.dashboard.Dashboard. */
interface DashboardTraits extends LiveTraits {
  title: string;
  metrics: string[];
  progress: Progress;
  labels: string[];
  log_scale: boolean;
}

function clock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  return value < 60 ? `${value.toFixed(value < 10 ? 1 : 0)} s` : clock(value);
}

/** Statuses of a run under way: Stop can still end it. */
const ACTIVE = new Set(["compiling", "running", "stopping"]);

function num(value: number | null | undefined): string {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

function rate(value: number | null | undefined): string {
  if (!value || !isFinite(value)) return "–";
  return value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString();
}

function pretty(metric: string): string {
  return metric.replace(/_/g, " ");
}

function isLoss(metric: string): boolean {
  return metric.includes("loss");
}

function metricSpec(metric: string, log: boolean, dark: boolean) {
  const [train, validation] = palette(dark);
  const y = {
    type: "quantitative",
    title: null,
    scale: { type: log && isLoss(metric) ? "log" : "linear", zero: false, nice: true },
    axis: { tickCount: 4 },
  };
  const color = {
    field: "split",
    type: "nominal",
    scale: { domain: ["train", "validation"], range: [train, validation] },
    legend: null,
  };
  const trainOnly = { filter: "datum.split === 'train'" };
  const validationOnly = { filter: "datum.split === 'validation'" };
  return {
    data: { name: metric },
    width: "container",
    height: 132,
    autosize: { type: "fit-x", contains: "padding" },
    encoding: {
      x: {
        field: "step",
        type: "quantitative",
        title: null,
        scale: { zero: true, nice: false },
        axis: {
          tickCount: 5,
          format: "~s",
          labelExpr: "datum.value === 0 ? '0' : datum.label",
          grid: false,
        },
      },
      color,
    },
    layer: [
      {
        transform: [trainOnly],
        mark: { type: "line", strokeWidth: 1, opacity: 0.3, clip: true },
        encoding: { y: { ...y, field: "value" } },
      },
      {
        transform: [
          trainOnly,
          {
            window: [{ op: "mean", field: "value", as: "smoothed" }],
            frame: [-SMOOTHING, 0],
            sort: [{ field: "step" }],
          },
        ],
        mark: { type: "line", strokeWidth: 1.8, clip: true },
        encoding: {
          y: { ...y, field: "smoothed" },
          tooltip: [
            { field: "step", type: "quantitative", format: ",d" },
            { field: "smoothed", type: "quantitative", title: `train ${pretty(metric)}`, format: ".4~g" },
          ],
        },
      },
      {
        transform: [validationOnly],
        mark: { type: "line", strokeWidth: 1.8, clip: true },
        encoding: { y: { ...y, field: "value" } },
      },
      {
        // dots on the validation curve while there are few enough to read
        transform: [
          validationOnly,
          { joinaggregate: [{ op: "count", as: "points" }] },
          { filter: `datum.points <= ${MAX_DOTS}` },
        ],
        mark: { type: "point", size: 26, filled: true, opacity: 1, clip: true },
        encoding: {
          y: { ...y, field: "value" },
          tooltip: [
            { field: "step", type: "quantitative", format: ",d" },
            { field: "value", type: "quantitative", title: `validation ${pretty(metric)}`, format: ".4~g" },
          ],
        },
      },
    ],
    config: { axis: { labelFontSize: 10 } },
  };
}

function confusionSpec(classes: number, dark: boolean) {
  const fg = dark ? "#e6edf3" : "#1f2328";
  const layer: any[] = [
    {
      mark: { type: "rect", cornerRadius: 2 },
      encoding: {
        color: {
          field: "rate",
          type: "quantitative",
          scale: { domain: [0, 1], range: dark ? ["#1b2230", "#4493f8"] : ["#f2f6fd", "#1f6feb"] },
          legend: null,
        },
        tooltip: [
          { field: "actual", type: "nominal" },
          { field: "predicted", type: "nominal" },
          { field: "count", type: "quantitative", format: "," },
          { field: "rate", type: "quantitative", format: ".1%", title: "of actual" },
        ],
      },
    },
  ];
  if (classes <= 12) {
    layer.push({
      mark: { type: "text", fontSize: classes <= 6 ? 11 : 9 },
      encoding: {
        text: { field: "count", type: "quantitative", format: "~s" },
        color: { condition: { test: "datum.rate > 0.55", value: "#ffffff" }, value: fg },
      },
    });
  }
  const axis = { labelAngle: 0, ticks: false, domain: false, labelFontSize: classes > 20 ? 8 : 10 };
  return {
    data: { name: CONFUSION },
    width: "container",
    padding: { left: 6, top: 2, right: 2, bottom: 10 },
    height: Math.max(132, Math.min(260, classes * 22)),
    autosize: { type: "fit-x", contains: "padding" },
    encoding: {
      x: { field: "predicted", type: "ordinal", sort: { field: "j", op: "min" }, title: "predicted", axis },
      y: { field: "actual", type: "ordinal", sort: { field: "i", op: "min" }, title: "actual", axis },
    },
    layer,
  };
}

interface Panel {
  root: HTMLElement;
  host: HTMLElement;
  live: LiveView | null;
  key: string;
}

function render({ model, el }: RenderProps<DashboardTraits>) {
  const store: LiveStore = storeFor(model);
  const title = h("div", { class: "kino-dash-title" });
  const status = h("span", { class: "kino-dash-status" });
  const logInput = h("input", { type: "checkbox", class: "kino-dash-log-input" });
  const logToggle = h("label", { class: "kino-dash-toggle", title: "Logarithmic y axis for losses" }, logInput, "log scale");
  const stop = h("button", { type: "button", class: "kino-dash-stop", title: "Stop the run (run.stop())" }, "Stop");
  const header = h(
    "div",
    { class: "kino-dash-header" },
    h("div", { class: "kino-dash-heading" }, title, status),
    h("div", { class: "kino-dash-actions" }, logToggle, stop),
  );
  const fill = h("div", { class: "kino-dash-fill" });
  const bar = h("div", { class: "kino-dash-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const stats = h("div", { class: "kino-dash-stats" });
  const chips = h("div", { class: "kino-dash-chips" });
  const grid = h("div", { class: "kino-dash-grid" });
  const root = h("div", { class: "kino kino-dash" }, header, bar, stats, chips, grid);
  el.appendChild(root);

  const panels = new Map<string, Panel>();
  let stopRequested = false;
  // the page counts the seconds of a compile itself: the kernel is busy compiling
  let compilingSince: number | null = null;
  let compileTimer: number | null = null;
  let confusionPanel: Panel | null = null;
  let errorBox: HTMLElement | null = null;
  const onError = (message: string) => {
    errorBox?.remove();
    errorBox = showError(root, `kino.dashboard: a chart cannot be shown.\n${message}`);
  };

  const makePanel = (key: string, heading: Node[]): Panel => {
    const host = h("div", { class: "kino-vega-host" });
    const panelRoot = h("div", { class: "kino-dash-panel", "data-metric": key }, h("div", { class: "kino-dash-panel-title" }, ...heading), host);
    return { root: panelRoot, host, live: null, key };
  };

  const embedPanel = (panel: Panel) => {
    panel.live?.destroy();
    const dark = isDarkTheme();
    const spec =
      panel.key === CONFUSION
        ? confusionSpec(model.get("progress")?.confusion?.classes ?? 10, dark)
        : metricSpec(panel.key, !!model.get("log_scale"), dark);
    // SVG: a few small curves per panel, crisp at any zoom
    panel.live = new LiveView(panel.host, store, spec, onError, () => {}, "svg");
    panel.live.embed();
  };

  const legend = (metric: string): Node[] => {
    const [train, validation] = palette(isDarkTheme());
    const swatch = (color: string, label: string) =>
      h("span", { class: "kino-dash-key" }, h("i", { style: `background:${color}` }), label);
    return [
      h("span", { class: "kino-dash-metric" }, pretty(metric)),
      h("span", { class: "kino-dash-keys" }, swatch(train, "train"), swatch(validation, "validation")),
    ];
  };

  const syncPanels = () => {
    const metrics = model.get("metrics") ?? [];
    for (const metric of metrics) {
      if (panels.has(metric)) continue;
      const panel = makePanel(metric, legend(metric));
      panels.set(metric, panel);
      embedPanel(panel);
    }
    const order = metrics.map((m) => panels.get(m)!.root);
    if (confusionPanel) order.push(confusionPanel.root);
    order.forEach((node, i) => {
      if (grid.children[i] !== node) grid.insertBefore(node, grid.children[i] ?? null);
    });
  };

  const syncConfusion = (p: Progress) => {
    const info = p.confusion;
    if (!info) return;
    if (!confusionPanel) {
      const heading = h("span", { class: "kino-dash-metric" }, "confusion matrix");
      const note = h("span", { class: "kino-dash-note" });
      confusionPanel = makePanel(CONFUSION, [heading, note]);
      confusionPanel.root.classList.add("kino-dash-confusion");
      grid.appendChild(confusionPanel.root);
      embedPanel(confusionPanel);
      confusionPanel.root.dataset.classes = String(info.classes);
    } else if (confusionPanel.root.dataset.classes !== String(info.classes)) {
      confusionPanel.root.dataset.classes = String(info.classes);
      embedPanel(confusionPanel);
    }
    const note = confusionPanel.root.querySelector(".kino-dash-note") as HTMLElement;
    note.textContent =
      store.rows(CONFUSION).length || info.classes <= 40
        ? `epoch ${info.epoch}`
        : `${info.classes} classes: too many to draw`;
  };

  const drawProgress = () => {
    const p = model.get("progress") ?? {};
    title.textContent = model.get("title") ?? "Training";
    const state = p.status ?? "waiting";
    status.textContent = state === "compiling" ? "compiling…" : state;
    status.className = `kino-dash-status is-${state}`;
    status.title = p.reason ?? "";
    const running = state === "running";
    const active = ACTIVE.has(state);
    if (!active) stopRequested = false;
    const stopping = state === "stopping" || (active && stopRequested);
    stop.disabled = !active || stopping;
    stop.textContent = stopping ? "Stopping…" : "Stop";

    const compiling = state === "compiling";
    if (compiling && compilingSince === null) compilingSince = Date.now();
    if (!compiling) compilingSince = null;
    if (compiling && compileTimer === null) compileTimer = window.setInterval(drawProgress, 1000);
    if (!compiling && compileTimer !== null) {
      window.clearInterval(compileTimer);
      compileTimer = null;
    }

    const steps = p.total_steps ?? null;
    let fraction = 0;
    if (steps) fraction = (p.step ?? 0) / steps;
    else if (p.epochs) fraction = Math.max(0, (p.epoch ?? 1) - 1 + (p.iterations ? (p.iteration ?? 0) / p.iterations : 0)) / p.epochs;
    if (state === "completed") fraction = 1;
    fraction = Math.min(Math.max(fraction, 0), 1);
    fill.style.width = `${(fraction * 100).toFixed(2)}%`;
    bar.setAttribute("aria-valuenow", (fraction * 100).toFixed(0));
    bar.className = `kino-dash-bar is-${state}`;

    const stat = (k: string, v: string, extra = "") =>
      h("span", { class: `kino-dash-stat${extra}` }, h("span", { class: "kino-dash-k" }, k), h("span", { class: "kino-dash-v" }, v));
    const path = p.data_path ? [stat("data", p.data_path, " kino-dash-path")] : [];
    if (state === "waiting") {
      // no run yet (the dashboard is shown before loop.run): no zeros and dashes
      stats.replaceChildren(h("span", { class: "kino-dash-note" }, "waiting for the run to start…"));
    } else if (compiling) {
      const waited = compilingSince === null ? 0 : (Date.now() - compilingSince) / 1000;
      stats.replaceChildren(
        h("span", { class: "kino-dash-compiling" }, `compiling the training step… ${Math.floor(waited)} s`),
        stat("epochs", String(p.epochs ?? "?")),
        stat("steps", steps ? steps.toLocaleString() : "?"),
        ...path,
      );
    } else {
      const parts: [string, string][] = [
        ["epoch", `${p.epoch ?? 0}/${p.epochs ?? "?"}`],
        ["step", steps ? `${(p.step ?? 0).toLocaleString()}/${steps.toLocaleString()}` : (p.step ?? 0).toLocaleString()],
        ["steps/s", rate(p.steps_per_second)],
        [running ? "ETA" : "elapsed", running ? clock(p.eta) : clock(p.elapsed)],
        ["lr", num(p.learning_rate)],
      ];
      if (p.compile_seconds !== null && p.compile_seconds !== undefined) parts.push(["compile", seconds(p.compile_seconds)]);
      stats.replaceChildren(
        ...parts.map(([k, v]) => stat(k, v)),
        ...path,
        h("span", { class: "kino-dash-pct" }, `${Math.round(fraction * 100)}%`),
      );
    }

    const latest = p.latest ?? {};
    const names = Object.keys(latest)
      .filter((k) => !k.startsWith("validation_"))
      .sort((a, b) => Number(!isLoss(a)) - Number(!isLoss(b)));
    chips.replaceChildren(
      ...names.map((k) => {
        const v = latest[`validation_${k}`];
        return h(
          "span",
          { class: "kino-dash-chip" },
          h("span", { class: "kino-dash-k" }, pretty(k)),
          h("span", { class: "kino-dash-v" }, num(latest[k])),
          v !== undefined ? h("span", { class: "kino-dash-val", title: "validation" }, num(v)) : null,
        );
      }),
    );
    syncConfusion(p);
  };

  const onLog = () => {
    logInput.checked = !!model.get("log_scale");
    for (const panel of panels.values()) if (isLoss(panel.key)) embedPanel(panel);
  };
  logInput.addEventListener("change", () => {
    model.set("log_scale", logInput.checked);
    model.save_changes();
  });
  stop.addEventListener("click", () => {
    stopRequested = true;
    stop.disabled = true;
    stop.textContent = "Stopping…";
    model.send({ type: "stop" });
  });

  const unsubscribe = store.subscribe((change) => {
    for (const panel of panels.values()) panel.live?.apply(change);
    confusionPanel?.live?.apply(change);
  });
  const stopTheme = onThemeChange(() => {
    for (const panel of panels.values()) {
      panel.root.querySelector(".kino-dash-panel-title")?.replaceChildren(...legend(panel.key));
      embedPanel(panel);
    }
    if (confusionPanel) embedPanel(confusionPanel);
  });

  logInput.checked = !!model.get("log_scale");
  syncPanels();
  drawProgress();
  model.on("change:metrics", syncPanels);
  model.on("change:progress", drawProgress);
  model.on("change:title", drawProgress);
  model.on("change:log_scale", onLog);
  return () => {
    if (compileTimer !== null) window.clearInterval(compileTimer);
    unsubscribe();
    stopTheme();
    model.off("change:metrics", syncPanels);
    model.off("change:progress", drawProgress);
    model.off("change:title", drawProgress);
    model.off("change:log_scale", onLog);
    for (const panel of panels.values()) panel.live?.destroy();
    confusionPanel?.live?.destroy();
  };
}

export default {
  initialize({ model }: InitializeProps<DashboardTraits>) {
    storeFor(model);
  },
  render,
};
