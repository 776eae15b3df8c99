// kino.input.multiselect: one chip per option, click (or Space/Enter) toggles it.
import "./multiselect.css";
import { h } from "../base/_dom";
import { Model, watch } from "../base/_model";

function render({ model, el }: { model: Model; el: HTMLElement }) {
  const root = h("div", { class: "kino kino-multiselect", role: "group" });
  el.appendChild(root);
  const draw = () => {
    const labels: string[] = model.get("labels") ?? [];
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
