// The smart-cell form (placeholder until the form renderer lands): shows the code.
import type { AnyModel } from "@anywidget/types";

interface SmartCellModel {
  code: string;
}

export default {
  render({ model, el }: { model: AnyModel<SmartCellModel>; el: HTMLElement }) {
    const pre = document.createElement("pre");
    const draw = () => (pre.textContent = model.get("code"));
    model.on("change:code", draw);
    draw();
    el.appendChild(pre);
  },
};
