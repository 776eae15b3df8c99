// kino.markdown: Markdown rendered through a sanitiser.
import "./markdown.css";
import { renderMarkdown } from "./_markdown";
import type { RenderProps } from "../base/_model";

/** The synced traits of kino.ui.output.markdown.Markdown. */
interface MarkdownTraits {
  value: string;
  /** Safe mode for untrusted text; null: on in Voila, off elsewhere. */
  safe: boolean | null;
}

function render({ model, el }: RenderProps<MarkdownTraits>) {
  const root = document.createElement("div");
  root.className = "kino kino-markdown";
  el.appendChild(root);
  const draw = () => {
    root.innerHTML = renderMarkdown(model.get("value") ?? "", { safe: model.get("safe") });
  };
  draw();
  model.on("change:value", draw);
  model.on("change:safe", draw);
  return () => {
    model.off("change:value", draw);
    model.off("change:safe", draw);
  };
}

export default { render };
