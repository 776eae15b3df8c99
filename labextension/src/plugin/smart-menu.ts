// Ways to insert a smart cell: the "Kino: Insert smart cell" command (a picker, or one
// kind), a palette item per cell, Launcher tiles that open a new notebook with one, and
// a "Smart cell" menu in each notebook's toolbar.
import type { JupyterFrontEnd } from "@jupyterlab/application";
import { InputDialog, ToolbarButton } from "@jupyterlab/apputils";
import type { ICommandPalette } from "@jupyterlab/apputils";
import type { ILauncher } from "@jupyterlab/launcher";
import { MenuSvg, type LabIcon } from "@jupyterlab/ui-components";
import type { ISharedNotebook } from "@jupyter/ydoc";
import type { Widget } from "@lumino/widgets";
import { SMART_CELLS, hostSmartCells, type NotebookPanelLike as HostPanel } from "./smart-cells";

export const SMART_COMMANDS = {
  insert: "kino:insert-smart-cell",
  newNotebook: "kino:new-smart-cell-notebook",
} as const;

/** Launcher ranks of the smart-cell tiles: after the notebooks (1..99) and dashboards (100..). */
const LAUNCHER_RANK = 200;

/** What inserting needs of a JupyterLab NotebookPanel. */
interface NotebookPanelLike {
  id: string;
  content: {
    model: { sharedModel: ISharedNotebook } | null;
    activeCellIndex: number;
    deselectAll(): void;
  };
  context: { ready: Promise<void> };
  sessionContext: { ready: Promise<void>; session: { kernel: unknown } | null };
  toolbar: {
    insertAfter(at: string, name: string, widget: Widget): boolean;
    addItem(name: string, widget: Widget): boolean;
  };
}

const titleOf = (kind: string) => SMART_CELLS.find((cell) => cell.kind === kind)?.title;

/** The form cell's code: a learner can read it, and write it without the menu. */
export const formSource = (kind: string) => `import kino\nkino.smart.${kind}()`;

const isNotebookPanel = (widget: unknown): widget is NotebookPanelLike => {
  const content = (widget as { content?: { model?: { sharedModel?: unknown } } } | null)?.content;
  return !!content?.model?.sharedModel && "activeCellIndex" in content;
};

/**
 * Put the form cell of `kind` below the active cell (in it, when it is an empty code
 * cell) and run it when a kernel is there: its code then appears in the cell below.
 */
export async function insertSmartCell(app: JupyterFrontEnd, panel: NotebookPanelLike, kind: string): Promise<void> {
  await panel.context.ready;
  const notebook = panel.content;
  const shared = notebook.model?.sharedModel;
  if (!shared) return;
  const index = notebook.activeCellIndex;
  const active = shared.cells[index];
  const source = formSource(kind);
  let at: number;
  if (active && active.cell_type === "code" && active.getSource().trim() === "") {
    active.setSource(source);
    at = index;
  } else {
    at = shared.cells.length === 0 ? 0 : index + 1;
    shared.insertCell(at, { cell_type: "code", source });
  }
  notebook.deselectAll();
  notebook.activeCellIndex = at;
  await panel.sessionContext.ready;
  if (!panel.sessionContext.session?.kernel) return;
  // "notebook:run-cell" runs the current notebook's selected cells: a notebook the
  // Launcher just opened may not be current yet.
  app.shell.activateById(panel.id);
  if (app.shell.currentWidget === (panel as unknown)) await app.commands.execute("notebook:run-cell");
}

/**
 * Host the smart cells of every notebook, and register their commands, palette items,
 * Launcher tiles and the notebook toolbar menu.
 */
export function addSmartCells(
  app: JupyterFrontEnd,
  icon: LabIcon,
  launcher: ILauncher | null,
  palette: ICommandPalette | null,
): void {
  const current = () => (isNotebookPanel(app.shell.currentWidget) ? app.shell.currentWidget : null);

  app.commands.addCommand(SMART_COMMANDS.insert, {
    label: (args) => {
      const title = titleOf(String(args.kind ?? ""));
      if (args.menu && title) return title;
      return title ? `Kino: Insert smart cell · ${title}` : "Kino: Insert smart cell";
    },
    caption: "Insert a smart cell below the active cell: a form whose code goes in the cell below it",
    // In the toolbar's menu the kino logo beside each title reads as a ticked checkbox.
    icon: (args) => (args.menu ? undefined : icon),
    isEnabled: () => current() !== null,
    execute: async (args) => {
      const panel = current();
      if (!panel) return;
      let kind = args.kind === undefined ? null : String(args.kind);
      if (kind === null) {
        const picked = await InputDialog.getItem({
          title: "Insert a smart cell",
          items: SMART_CELLS.map((cell) => cell.title),
        });
        if (!picked.button.accept || picked.value === null) return;
        kind = SMART_CELLS.find((cell) => cell.title === picked.value)?.kind ?? null;
      }
      if (kind === null || !titleOf(kind)) {
        console.warn(`kino: no smart cell ${JSON.stringify(kind)}`);
        return;
      }
      return insertSmartCell(app, panel, kind);
    },
  });

  app.commands.addCommand(SMART_COMMANDS.newNotebook, {
    label: (args) => `Smart cell · ${titleOf(String(args.kind)) ?? String(args.kind)}`,
    caption: (args) => `A new notebook that starts with the ${titleOf(String(args.kind)) ?? ""} smart cell`,
    icon,
    execute: async (args) => {
      // Without a kernel name JupyterLab asks which kernel: the Launcher's tiles start the default one.
      const specs = app.serviceManager.kernelspecs;
      await specs.ready;
      const kernelName = specs.specs?.default;
      const panel: unknown = await app.commands.execute("notebook:create-new", kernelName ? { kernelName } : {});
      if (isNotebookPanel(panel)) await insertSmartCell(app, panel, String(args.kind));
    },
  });

  palette?.addItem({ command: SMART_COMMANDS.insert, category: "Kino" });
  for (const [i, cell] of SMART_CELLS.entries()) {
    palette?.addItem({ command: SMART_COMMANDS.insert, args: { kind: cell.kind }, category: "Kino" });
    launcher?.add({ command: SMART_COMMANDS.newNotebook, args: { kind: cell.kind }, category: "Kino", rank: LAUNCHER_RANK + i });
  }

  const menu = new MenuSvg({ commands: app.commands });
  menu.addClass("kino-smart-cell-menu");
  for (const cell of SMART_CELLS) menu.addItem({ command: SMART_COMMANDS.insert, args: { kind: cell.kind, menu: true } });

  app.docRegistry.addWidgetExtension("Notebook", {
    createNew: (widget: unknown) => {
      const panel = widget as NotebookPanelLike;
      hostSmartCells(widget as HostPanel);
      const button: ToolbarButton = new ToolbarButton({
        label: "Smart cell ▾",
        className: "kino-smart-cell-button",
        tooltip: "Insert a smart cell below the active cell",
        onClick: () => {
          const box = button.node.getBoundingClientRect();
          menu.open(box.left, box.bottom);
        },
      });
      if (!panel.toolbar.insertAfter("cellType", "kinoSmartCell", button)) panel.toolbar.addItem("kinoSmartCell", button);
    },
  });
}
