// kino.input.multiselect: one chip per option, click (or Space/Enter) toggles it.
import "./multiselect.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";

/** The synced traits of kino.ui.input.fields.MultiselectControl. */
interface MultiselectTraits {
  labels: string[];
  /** Indices into `labels`, ascending. */
  selected: number[];
  disabled: boolean;
}

function render({ model, el }: RenderProps<MultiselectTraits>) {
  const root = h("div", { class: "kino kino-multiselect", role: "group" });
  el.appendChild(root);
  const draw = () => {
    const labels = model.get("labels") ?? [];
    const selected = new Set<number>(model.get("selected") ?? []);
    const disabled = !!model.get("disabled");
    root.replaceChildren();
    labels.forEach((label, i) => {
      const on = selected.has(i);
      const chip = h(
        "button",
        {
          class: on ? "kino-chip kino-chip-on" : "kino-chip",
          type: "button",
          role: "checkbox",
          "aria-checked": String(on),
          "data-index": String(i),
        },
        h("span", { class: "kino-chip-mark", "aria-hidden": "true" }, on ? "✓" : "+"),
        h("span", { class: "kino-chip-text" }, label),
      );
      chip.disabled = disabled;
      chip.addEventListener("click", () => {
        const next = new Set<number>(model.get("selected") ?? []);
        if (next.has(i)) next.delete(i);
        else next.add(i);
        model.set("selected", [...next].sort((a, b) => a - b));
        model.save_changes();
      });
      root.appendChild(chip);
    });
  };
  draw();
  return watch(model, ["labels", "selected", "disabled"], draw);
}

export default { render };
