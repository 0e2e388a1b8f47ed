// @ts-check
/**
 * Formatting of times, durations, counts and money for the dashboard. Pure.
 *
 * @module
 */

/**
 * A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 07 min`.
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return "";
  const abs = Math.abs(ms);
  const sign = ms < 0 ? "-" : "";
  if (abs < 1_000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(abs < 10_000 ? 2 : 1)} s`;
  const seconds = Math.floor(abs / 1_000);
  if (seconds < 3_600) {
    return `${sign}${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${sign}${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/**
 * How long ago: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
 * @param {number} tsMs
 * @param {number} nowMs
 * @returns {string}
 */
export function formatAgo(tsMs, nowMs) {
  const seconds = Math.round((nowMs - tsMs) / 1_000);
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/**
 * An offset from the start of a session: `+0:00.000`, `+12:03.250`, `+1:02:03.000`.
 * @param {number} ms
 * @returns {string}
 */
export function formatOffset(ms) {
  const total = Math.max(0, Math.round(ms));
  const millis = String(total % 1_000).padStart(3, "0");
  const seconds = Math.floor(total / 1_000);
  const ss = String(seconds % 60).padStart(2, "0");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `+${minutes}:${ss}.${millis}`;
  return `+${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}:${ss}.${millis}`;
}

/**
 * A whole number with thousands separators: `12,345`.
 * @param {number | undefined | null} value
 * @returns {string}
 */
export function formatCount(value) {
  if (value === undefined || value === null || !Number.isFinite(value)) return "–";
  return Math.round(value).toLocaleString("en-US");
}

/**
 * A count and its noun, singular or plural: `1 session`, `12 sessions`.
 * @param {number} count
 * @param {string} singular
 * @param {string} [plural]
 * @returns {string}
 */
export function plural(count, singular, plural = `${singular}s`) {
  return `${formatCount(count)} ${count === 1 ? singular : plural}`;
}

/**
 * US dollars: `$0.0516`, `$12.34`; `–` for none.
 * @param {number | undefined | null} value
 * @returns {string}
 */
export function formatUsd(value) {
  if (value === undefined || value === null || !Number.isFinite(value)) return "–";
  if (value !== 0 && Math.abs(value) < 1) return `$${value.toFixed(4)}`;
  return `$${
    value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  }`;
}

/**
 * A local date and time with milliseconds, for tooltips and tables: `2026-11-24 10:00:05.123`.
 * @param {number} tsMs
 * @returns {string}
 */
export function formatTime(tsMs) {
  if (!Number.isFinite(tsMs)) return "";
  const d = new Date(tsMs);
  const pad = (/** @type {number} */ n, width = 2) => String(n).padStart(width, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${
      pad(d.getMilliseconds(), 3)
    }`;
}

/**
 * A long id shortened for a table cell (the full id goes in a title): `00893aaf…3ca0`.
 * @param {string | undefined} id
 * @returns {string}
 */
export function shortId(id) {
  if (id === undefined) return "";
  return id.length <= 16 ? id : `${id.slice(0, 8)}…${id.slice(-4)}`;
}
