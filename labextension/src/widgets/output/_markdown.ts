// Markdown to safe HTML, shared by every widget that shows Markdown (labels,
// help text, the markdown widget). Raw HTML in the source is escaped so it shows
// as text; the result then goes through DOMPurify as a second line of defence.
//
// Safe mode, for untrusted text (kino.markdown(text, safe=True), and the default
// in a Voila page): no image is fetched (a remote image shows its alt text) and
// links keep only http(s) and relative targets.
import { Marked } from "marked";
import DOMPurify from "dompurify";

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const html = (token: { text: string }) => escapeHtml(token.text);

const marked = new Marked({ gfm: true, breaks: false, renderer: { html } });

// In safe mode an image is its alt text, so nothing is requested.
const safeMarked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html,
    image(token) {
      return `<span class="kino-md-image-dropped">${escapeHtml(token.text)}</span>`;
    },
  },
});

const SAFE_URL = /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;
// Safe mode: http(s), or no scheme at all (relative, #fragment).
const SAFE_MODE_URL = /^(?:https?:|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;
// Elements and attributes that make the browser fetch something.
const FETCHING_TAGS = ["img", "picture", "source", "video", "audio", "track", "image", "use", "feImage"];
const FETCHING_ATTRS = ["src", "srcset", "poster", "background", "xlink:href", "ping"];

let safeMode = false;

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const href = (node.getAttribute("href") ?? "").trim();
    if (!(safeMode ? SAFE_MODE_URL : SAFE_URL).test(href)) node.removeAttribute("href");
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Whether this page is a Voila dashboard (a page anyone may be given text in). */
export function inVoila(): boolean {
  const body = typeof document === "undefined" ? null : document.body;
  if (body?.dataset.voila !== undefined) return true;
  return typeof (globalThis as { voila_finish?: unknown }).voila_finish === "function";
}

export interface MarkdownOptions {
  /** Safe mode for untrusted text; null or absent: on in Voila, off elsewhere. */
  safe?: boolean | null;
}

/** Renders Markdown to sanitised HTML: raw HTML shows as text, scripts never run. */
export function renderMarkdown(source: string, options: MarkdownOptions = {}): string {
  const safe = options.safe ?? inVoila();
  const parsed = (safe ? safeMarked : marked).parse(source, { async: false }) as string;
  safeMode = safe;
  try {
    return DOMPurify.sanitize(parsed, {
      FORBID_TAGS: ["style", "script", "iframe", "object", "embed", "form", ...(safe ? FETCHING_TAGS : [])],
      FORBID_ATTR: ["style", ...(safe ? FETCHING_ATTRS : [])],
    });
  } finally {
    safeMode = false;
  }
}
