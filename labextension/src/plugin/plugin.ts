// The kino JupyterLab plugin: a "Kino" section in the Launcher (one tile per curated
// notebook, a "Continue" tile, the dashboards), a "Kino: Open learning path" command,
// the save hook that keeps saved notebooks small and their widgets' state intact, and
// smart cells (smart-cells.ts, smart-menu.ts).
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette } from "@jupyterlab/apputils";
import type { DocumentRegistry } from "@jupyterlab/docregistry";
import { ILauncher } from "@jupyterlab/launcher";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { LabIcon } from "@jupyterlab/ui-components";
import { findLearningPath, type CuratedNotebook, type LearningPath } from "./learning-path";
import {
  keepWidgetStateThroughSaves,
  type NotebookContextLike,
  type Snapshot,
  type WidgetState,
} from "./saved-state";
import { addSmartCells } from "./smart-menu";
import { ensureCopy, lastWorkedOn } from "./working-copies";

const KINO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">
  <rect class="jp-icon-brand0 jp-icon-selectable" fill="#1f6feb" x="2" y="3" width="20" height="18" rx="3"/>
  <path fill="#fff" d="M6 16.5l3.5-4 3 2.5 5.5-7 .9.7-6.2 8-3-2.5-2.8 3.2z"/>
</svg>`;

export const kinoIcon = new LabIcon({ name: "jupyter-kino:icon", svgstr: KINO_SVG });

export const COMMANDS = {
  openNotebook: "kino:open-notebook",
  openLearningPath: "kino:open-learning-path",
  openDashboard: "kino:open-dashboard",
} as const;

const WIDGET_MANAGER_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin";
const VOILA_PREVIEW_FACTORY = "Voila Preview";

/**
 * kino widgets keep their last state (final chart, table page, summary) in the
 * notebook's saved widget state, which JupyterLab only writes when the widget
 * manager's "saveState" setting is on; it is off by default. Turn it on unless
 * the user chose a value themselves.
 */
export async function saveWidgetStateByDefault(settings: ISettingRegistry): Promise<void> {
  try {
    const widgetSettings = await settings.load(WIDGET_MANAGER_PLUGIN);
    if (widgetSettings.user.saveState === undefined) {
      await widgetSettings.set("saveState", true);
    }
  } catch {
    // No widget manager in this host: nothing to save.
  }
}

interface WidgetManagerLike {
  get_state_sync(options: { drop_defaults: boolean }): { state: WidgetState };
}

interface WidgetLike {
  children?: () => Iterable<WidgetLike>;
  _manager?: { promise?: Promise<WidgetManagerLike> };
}

/**
 * The notebook's widget manager, found through a widget output's renderer (which
 * holds it as a promise): ipywidgets exposes no public handle on it, so until a
 * widget has rendered there is no snapshot.
 */
function managerSnapshot(panel: unknown): Snapshot {
  let manager: WidgetManagerLike | null = null;
  return {
    prepare() {
      if (manager) return;
      const cells = ((panel as { content?: { widgets?: unknown[] } }).content?.widgets ?? []) as {
        outputArea?: { widgets?: WidgetLike[] };
      }[];
      for (const cell of cells) {
        for (const output of cell.outputArea?.widgets ?? []) {
          for (const child of Array.from(output.children?.() ?? [])) {
            const promise = child._manager?.promise;
            if (promise && typeof promise.then === "function") {
              void promise.then((found) => {
                if (typeof found?.get_state_sync === "function") manager = found;
              });
              return;
            }
          }
        }
      }
    },
    take: () => (manager ? manager.get_state_sync({ drop_defaults: true }).state : null),
  };
}

const tileTitle = (nb: CuratedNotebook) => `${String(nb.rank).padStart(2, "0")} · ${nb.title}`;

const plugin: JupyterFrontEndPlugin<void> = {
  id: "jupyter-kino:plugin",
  description: "kino's Launcher section, learning-path command, widget-state save hook and smart cells",
  autoStart: true,
  optional: [ILauncher, ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    settings: ISettingRegistry | null,
  ) => {
    // Hosts without a launcher or palette (Voila) have nothing for this plugin to
    // do, and may not serve the contents API it reads.
    if (!launcher && !palette) return;
    if (settings) void saveWidgetStateByDefault(settings);
    app.docRegistry.addWidgetExtension("Notebook", {
      createNew: (panel: unknown, context: DocumentRegistry.IContext<DocumentRegistry.IModel>) => {
        keepWidgetStateThroughSaves(context as unknown as NotebookContextLike, managerSnapshot(panel));
      },
    });

    const contents = app.serviceManager.contents;
    const serverSettings = app.serviceManager.serverSettings;
    const ready: Promise<LearningPath> = findLearningPath(contents, serverSettings);
    let continueTile: { dispose(): void } | null = null;

    const showContinue = (nb: CuratedNotebook | undefined) => {
      if (!launcher || !nb) return;
      continueTile?.dispose();
      continueTile = launcher.add({
        command: COMMANDS.openNotebook,
        args: { path: nb.path, name: nb.name, title: `Continue: ${tileTitle(nb)}`, rank: nb.rank },
        category: "Kino",
        rank: -1,
      });
    };

    app.commands.addCommand(COMMANDS.openNotebook, {
      label: (args) => String(args.title ?? args.path ?? "Open notebook"),
      caption: (args) =>
        `Open your own copy of ${String(args.name ?? args.path ?? "")} (the original stays as it is)`,
      icon: kinoIcon,
      execute: async (args) => {
        const original = { path: String(args.path), name: String(args.name ?? args.path).split("/").pop() as string };
        const copy = await ensureCopy(contents, original);
        const path = await ready;
        showContinue(path.notebooks.find((nb) => nb.name === original.name));
        return app.commands.execute("docmanager:open", { path: copy });
      },
    });

    app.commands.addCommand(COMMANDS.openDashboard, {
      label: (args) => `Dashboard · ${String(args.title ?? args.path ?? "")}`,
      caption: (args) => `Open the Voila dashboard ${String(args.path ?? "")}`,
      icon: kinoIcon,
      execute: (args) => {
        const path = String(args.path);
        // Voila's lab extension is installed with Voila's server extension: render the
        // dashboard as an app in its own tab; without Voila, open the notebook itself.
        if (app.docRegistry.getWidgetFactory(VOILA_PREVIEW_FACTORY)) {
          const base = serverSettings.baseUrl.replace(/\/?$/, "/");
          const url = `${base}voila/render/${path.split("/").map(encodeURIComponent).join("/")}`;
          window.open(url, "_blank", "noopener");
          return;
        }
        return app.commands.execute("docmanager:open", { path });
      },
    });

    app.commands.addCommand(COMMANDS.openLearningPath, {
      label: "Kino: Open learning path",
      caption: "Open your copy of the kino notebook you worked on last (the first one to begin)",
      icon: kinoIcon,
      execute: async () => {
        const path = await ready;
        if (path.notebooks.length === 0) {
          console.warn("kino: no curated notebooks (NN-name.ipynb) found in the server root or notebooks/");
          return;
        }
        const last = await lastWorkedOn(contents, new Set(path.notebooks.map((nb) => nb.name)));
        const nb = path.notebooks.find((n) => n.name === last) ?? path.notebooks[0];
        if (launcher) await app.commands.execute("launcher:create");
        return app.commands.execute(COMMANDS.openNotebook, { path: nb.path, name: nb.name });
      },
    });
    palette?.addItem({ command: COMMANDS.openLearningPath, category: "Kino" });
    addSmartCells(app, kinoIcon, launcher, palette);

    if (launcher) {
      void ready.then(async (path) => {
        for (const nb of path.notebooks) {
          launcher.add({
            command: COMMANDS.openNotebook,
            args: { path: nb.path, name: nb.name, title: tileTitle(nb) },
            category: "Kino",
            rank: nb.rank,
          });
        }
        for (const [i, dashboard] of path.dashboards.entries()) {
          launcher.add({
            command: COMMANDS.openDashboard,
            args: { path: dashboard.path, title: dashboard.title },
            category: "Kino",
            rank: 100 + i,
          });
        }
        const last = await lastWorkedOn(contents, new Set(path.notebooks.map((nb) => nb.name)));
        showContinue(path.notebooks.find((nb) => nb.name === last));
      });
    }
  },
};

export default plugin;
