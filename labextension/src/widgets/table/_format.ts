// Cell and summary formatting for kino.table. Pure functions: text in, text out.

export type Kind =
  | "int"
  | "bigint"
  | "float"
  | "bool"
  | "text"
  | "category"
  | "date"
  | "datetime"
  | "duration"
  | "time"
  | "decimal"
  | "binary"
  | "list"
  | "struct"
  | "null"
  | "object";

/** Kinds drawn right-aligned, like numbers in a spreadsheet. */
export const RIGHT_ALIGNED = new Set<string>(["int", "bigint", "float", "decimal", "duration", "binary"]);

/** A float as text: NaN and infinities spelled out, integers keep a ".0". */
export function formatFloat(value: number, single = false): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e15)) {
    return value.toExponential(single ? 3 : 4).replace(/\.?0+e/, "e");
  }
  const digits = single ? 7 : Math.min(15, Math.max(7, Math.floor(Math.log10(abs || 1)) + 4));
  let text = value.toPrecision(digits);
  if (text.includes("e")) text = String(value);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, ".0");
  else text += ".0";
  return text;
}

/** A byte count as "512 B", "1.5 KB", ... */
export function formatBytes(value: number | bigint): string {
  let n = Number(value);
  const units = ["B", "KB", "MB", "GB", "TB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A count with thousands separators. */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** A summary number: short, never more than ~7 characters when it can. */
export function formatCompact(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return value.toExponential(2).replace(/\.?0+e/, "e");
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e8 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** The text of one cell; null for a missing value. `single` marks float32 columns. */
export function cellText(value: unknown, kind: string, single = false): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return kind === "binary" ? formatBytes(value) : value.toString();
  if (typeof value === "number") {
    if (kind === "binary") return formatBytes(value);
    if (kind === "float") return formatFloat(value, single);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(value);
}

/** Pretty JSON for an expanded list/struct cell; the raw text when it is not JSON (cut). */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * A default width in pixels for a column, from its kind, header name and dtype label.
 * `nameWidth` is the header name's measured width when the page can measure it (the
 * estimate from its length is too narrow for bold text in some fonts).
 */
export function columnWidth(kind: string, name: string, dtype = "", nameWidth?: number): number {
  const base: Record<string, number> = {
    int: 96,
    bigint: 120,
    float: 112,
    bool: 96,
    text: 180,
    category: 132,
    date: 112,
    datetime: 200,
    duration: 112,
    time: 100,
    decimal: 116,
    binary: 96,
    list: 190,
    struct: 210,
    null: 84,
    object: 160,
  };
  // 52: padding, the sort arrow and the filter button beside the name.
  const fromName = (nameWidth ?? name.length * 7.2) + 52;
  const fromDtype = dtype.length * 6.6 + 76; // the dtype shares its line with "12% null"
  return Math.round(Math.min(320, Math.max(base[kind] ?? 140, fromName, fromDtype)));
}
