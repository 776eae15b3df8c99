// kino.tree: a collapsible view of nested Python data and pytrees. Python sends
// a bounded node tree: {k: key, t: type, v: short value, c: children, more: n}.
import "./tree.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";

interface Node {
  k?: string;
  t: string;
  v?: string;
  c?: Node[];
  more?: number;
}

function line(node: Node): HTMLElement {
  return h(
    "span",
    { class: "kino-tree-line" },
    node.k !== undefined ? h("span", { class: "kino-tree-key" }, node.k) : null,
    h("span", { class: "kino-tree-type" }, node.t),
    node.v !== undefined ? h("span", { class: "kino-tree-value" }, node.v) : null,
  );
}

function build(node: Node, depth: number, open: number): HTMLElement {
  if (!node.c) return h("div", { class: "kino-tree-leaf" }, line(node));
  const details = h("details", { class: "kino-tree-node" });
  details.open = depth < open;
  details.append(h("summary", {}, line(node)));
  const kids = h("div", { class: "kino-tree-children" });
  for (const child of node.c) kids.append(build(child, depth + 1, open));
  if (node.more) kids.append(h("div", { class: "kino-tree-more" }, `… ${node.more} more`));
  details.append(kids);
  return details;
}

/** The synced traits of kino.ui.output.tree.Tree. */
interface TreeTraits {
  node: Node | null;
  open_depth: number;
}

function render({ model, el }: RenderProps<TreeTraits>) {
  const root = h("div", { class: "kino kino-tree", role: "tree" });
  el.appendChild(root);
  const draw = () => {
    const node = model.get("node");
    root.replaceChildren();
    if (node) root.append(build(node, 0, model.get("open_depth") ?? 1));
  };
  draw();
  return watch(model, ["node", "open_depth"], draw);
}

export default { render };
