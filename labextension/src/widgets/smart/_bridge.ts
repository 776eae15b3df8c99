// The view's half of src/plugin/smart-bridge.ts: once the view is in the document it
// asks, with one bubbling event, whether kino's JupyterLab plugin hosts it.
import {
  SMART_CELL_EVENT,
  type SmartCellBridge,
  type SmartCellEventDetail,
  type SmartCellHost,
} from "../../plugin/smart-bridge";

/**
 * Calls `found(host, refusal)` once `el` is attached and the event was dispatched: the
 * host that claimed it, or null where nobody did (Voila, classic tools; `refusal` says
 * why when a plugin declined). Returns a cancel function (a view removed before it was
 * ever attached stops waiting).
 */
export function announce(
  el: HTMLElement,
  bridge: SmartCellBridge,
  found: (host: SmartCellHost | null, refusal: string) => void,
): () => void {
  let frame = 0;
  let cancelled = false;
  const attempt = () => {
    if (cancelled) return;
    if (!el.isConnected) {
      // A view can render before the output area attaches it.
      frame = requestAnimationFrame(attempt);
      return;
    }
    let host: SmartCellHost | null = null;
    const detail: SmartCellEventDetail = {
      bridge,
      claimed: false,
      claim(h: SmartCellHost) {
        detail.claimed = true;
        host = h;
      },
    };
    el.dispatchEvent(new CustomEvent(SMART_CELL_EVENT, { bubbles: true, detail }));
    found(detail.claimed ? host : null, detail.refusal ?? "");
  };
  attempt();
  return () => {
    cancelled = true;
    cancelAnimationFrame(frame);
  };
}

/**
 * Whether a kernel is behind the view: ipywidgets marks a view whose model has no
 * live comm (a reopened notebook restored from its saved state, a dead kernel)
 * with `jupyter-widgets-disconnected`.
 */
export function isLive(el: HTMLElement): boolean {
  return el.closest(".jupyter-widgets-disconnected") === null;
}

/** Calls `fn` when ipywidgets marks `el` (dis)connected; returns the unsubscribe. */
export function onLiveChange(el: HTMLElement, fn: () => void): () => void {
  const observer = new MutationObserver(fn);
  observer.observe(el, { attributes: true, attributeFilter: ["class"] });
  return () => observer.disconnect();
}
