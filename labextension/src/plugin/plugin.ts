// The kino JupyterLab plugin: a "Kino" section in the Launcher with one tile per
// curated notebook, and a "Kino: Open learning path" command in the palette.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette } from "@jupyterlab/apputils";
import { ILauncher } from "@jupyterlab/launcher";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { LabIcon } from "@jupyterlab/ui-components";
import { findCuratedNotebooks, type CuratedNotebook } from "./learning-path";

const KINO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">
  <rect class="jp-icon-brand0 jp-icon-selectable" fill="#1f6feb" x="2" y="3" width="20" height="18" rx="3"/>
  <path fill="#fff" d="M6 16.5l3.5-4 3 2.5 5.5-7 .9.7-6.2 8-3-2.5-2.8 3.2z"/>
</svg>`;

export const kinoIcon = new LabIcon({ name: "jupyter-kino:icon", svgstr: KINO_SVG });

export const COMMANDS = {
  openNotebook: "kino:open-notebook",
  openLearningPath: "kino:open-learning-path",
} as const;

const WIDGET_MANAGER_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin";

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

const plugin: JupyterFrontEndPlugin<void> = {
  id: "jupyter-kino:plugin",
  description: "kino's Launcher section and learning-path command",
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
    let notebooks: CuratedNotebook[] = [];
    const ready = app.serviceManager.contents
      ? findCuratedNotebooks(app.serviceManager.contents).then((found) => (notebooks = found))
      : Promise.resolve([]);

    app.commands.addCommand(COMMANDS.openNotebook, {
      label: (args) => String(args.title ?? args.path ?? "Open notebook"),
      caption: (args) => `Open the kino notebook ${String(args.path ?? "")}`,
      icon: kinoIcon,
      execute: (args) => app.commands.execute("docmanager:open", { path: String(args.path) }),
    });

    app.commands.addCommand(COMMANDS.openLearningPath, {
      label: "Kino: Open learning path",
      caption: "Open the first notebook of kino's learning path",
      icon: kinoIcon,
      execute: async () => {
        await ready;
        if (notebooks.length === 0) {
          console.warn("kino: no curated notebooks (NN-name.ipynb) found in the server root or notebooks/");
          return;
        }
        if (launcher) await app.commands.execute("launcher:create");
        return app.commands.execute("docmanager:open", { path: notebooks[0].path });
      },
    });
    palette?.addItem({ command: COMMANDS.openLearningPath, category: "Kino" });

    if (launcher) {
      void ready.then((found) => {
        for (const nb of found) {
          launcher.add({
            command: COMMANDS.openNotebook,
            args: { path: nb.path, title: `${String(nb.rank).padStart(2, "0")} · ${nb.title}` },
            category: "Kino",
            rank: nb.rank,
          });
        }
      });
    }
  },
};

export default plugin;
