/**
 * What the dashboard's browser test measures inside the page: controls without an accessible
 * name, and whether a view fits a phone's screen. Strings evaluated in the page: this file is
 * type-checked without the DOM's types.
 *
 * @module
 */

/** Controls a screen reader could not name: no label, no aria-label, no text. */
export const UNLABELLED = `[...document.querySelectorAll("input, select, button")]
  .filter((el) => !(el.type === "hidden") && !(el.labels && el.labels.length > 0) &&
    !el.getAttribute("aria-label") && el.textContent.trim() === "")
  .map((el) => el.outerHTML)`;

/** The phone the dashboard must fit, in CSS pixels. */
export const PHONE = { width: 375, height: 740 };

/** What {@linkcode PHONE_FIT} measures. */
export interface PhoneFit {
  innerWidth: number;
  scrollWidth: number;
  tables: number;
  cells: number;
  filters: boolean;
  /** Each thing out of reach, or an empty list. */
  problems: string[];
}

/**
 * Whether a view fits the screen: the page does not scroll sideways; every element of the view
 * is on screen, or inside a container that scrolls sideways to it; every table cell is visible
 * and its column's name with it (a visible header, or the cell's own label where rows are
 * cards); the filter form and each of its controls lie within the form.
 */
export const PHONE_FIT = `(() => {
  const width = innerWidth;
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
    ' "' + (el.textContent || "").trim().slice(0, 30) + '"';
  const scroller = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if (x === "auto" || x === "scroll") return up;
    }
    return null;
  };
  // On screen, or within its scrolling container's scrollable width (and that container on
  // screen).
  const reachable = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") return false;
    if (r.left >= -0.5 && r.right <= width + 0.5) return true;
    const box = scroller(el);
    if (box === null) return false;
    const b = box.getBoundingClientRect();
    const left = r.left - b.left + box.scrollLeft;
    return b.left >= -0.5 && b.right <= width + 0.5 && left >= -0.5 &&
      left + r.width <= box.scrollWidth + 0.5;
  };
  const view = document.getElementById("view");
  for (const el of view.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.left < -0.5 || r.right > width + 0.5) && !reachable(el)) {
      problems.push("off screen: " + name(el) + " " + Math.round(r.left) + ".." + Math.round(r.right));
    }
  }
  let tables = 0;
  let cells = 0;
  for (const table of view.querySelectorAll("table")) {
    tables++;
    const head = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    const headers = [];
    for (const th of head ? head.cells : []) for (let i = 0; i < th.colSpan; i++) headers.push(th);
    for (const section of [...table.tBodies, table.tFoot]) {
      if (!section) continue;
      for (const row of section.rows) {
        let column = 0;
        for (const cell of row.cells) {
          const header = headers[column];
          column += cell.colSpan;
          cells++;
          if (!reachable(cell)) problems.push("cell out of reach: " + name(cell));
          // A detail row's one cell spans every column; a footer's "Total" names itself.
          if (cell.colSpan > 1 || (section === table.tFoot && cell.tagName === "TH")) continue;
          if (!header) {
            problems.push("no header for " + name(cell));
            continue;
          }
          if (reachable(header)) continue;
          const label = getComputedStyle(cell, "::before");
          const shown = label.display !== "none" && label.content !== "none" && label.content !== "normal";
          if (cell.dataset.label !== header.textContent.trim() || !shown) {
            problems.push("column name not shown: " + header.textContent.trim() + " for " + name(cell));
          }
        }
      }
    }
  }
  const form = view.querySelector("form.filters");
  if (form) {
    const f = form.getBoundingClientRect();
    if (f.left < -0.5 || f.right > width + 0.5) problems.push("filters " + Math.round(f.left) + ".." + Math.round(f.right));
    if (form.scrollWidth > form.clientWidth) problems.push("filters overflow by " + (form.scrollWidth - form.clientWidth) + " px");
    for (const control of form.querySelectorAll("input:not([type=hidden]), select, button, label")) {
      const r = control.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < f.left - 0.5 || r.right > f.right + 0.5) problems.push("outside the filters: " + name(control));
    }
  }
  return {
    innerWidth: width,
    scrollWidth: document.scrollingElement.scrollWidth,
    tables,
    cells,
    filters: form !== null,
    problems: problems.slice(0, 20),
  };
})()`;
