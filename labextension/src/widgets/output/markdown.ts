// kino.markdown: Markdown rendered through a sanitiser.
import "./markdown.css";
import { renderMarkdown } from "./_markdown";
import type { RenderProps } from "../base/_model";

/** The synced traits of kino.ui.output.markdown.Markdown. */
interface MarkdownTraits {
  value: string;
}

function render({ model, el }: RenderProps<MarkdownTraits>) {
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
