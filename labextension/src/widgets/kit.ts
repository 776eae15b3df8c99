// kino's kit stylesheet carrier. Inputs, forms, buttons and layout boxes are
// ipywidgets controls; this invisible widget loads kit.css into the page (in
// JupyterLab and in Voila) so they look like one product. It renders nothing.
import "./kit.css";

function render({ el }: { el: HTMLElement }) {
  el.classList.add("kino-kit-style");
  el.style.display = "none";
}

export default { render };
