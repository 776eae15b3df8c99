// kino.markdown: Markdown rendered through a sanitiser.
import "./markdown.css";
import { renderMarkdown } from "./_markdown";

interface MarkdownModel {
  get(name: "value"): string;
  on(event: string, fn: () => void): void;
  off(event: string, fn: () => void): void;
}

function render({ model, el }: { model: MarkdownModel; el: HTMLElement }) {
  const root = document.createElement("div");
  root.className = "kino kino-markdown";
  el.appendChild(root);
  const draw = () => {
    root.innerHTML = renderMarkdown(model.get("value") ?? "");
  };
  draw();
  model.on("change:value", draw);
  return () => model.off("change:value", draw);
}

export default { render };
