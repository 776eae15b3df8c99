// kino's kit stylesheet carrier. Inputs, forms, buttons and layout boxes are
// ipywidgets controls; this invisible widget loads their stylesheets (the kit
// base here, and each family's rules from its own folder) into the page, in
// JupyterLab and in Voila alike, so they look like one product. It renders nothing.
import "./kit.css";
import "../input/input.css";
import "../layout/layout.css";
import "../output/image.css";
import type { RenderProps } from "./_model";

/** kino.ui.base.kit.KitStyle has no synced traits. */
type KitTraits = Record<string, never>;

function render({ el }: RenderProps<KitTraits>) {
  el.classList.add("kino-kit-style");
  el.style.display = "none";
}

export default { render };
