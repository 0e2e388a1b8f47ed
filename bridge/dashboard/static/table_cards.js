// @ts-check
/**
 * What lets a data table reflow into one card per row on a phone (`app.css`, below 40rem): each
 * cell carries its column's header as `data-label`, which the card shows above the value, since
 * the header row is hidden there. On wider screens the table is drawn as a table and the labels
 * are not shown.
 *
 * @module
 */

/** The implicit ARIA role of each table part, kept explicit because `display: block` or `grid`
 * on a table's parts makes some browsers (WebKit) stop announcing it as a table. */
const ROLES = {
  TABLE: "table",
  THEAD: "rowgroup",
  TBODY: "rowgroup",
  TFOOT: "rowgroup",
  TR: "row",
  TD: "cell",
};

/**
 * Labels every body and footer cell of `table` with its column's header (from the header's last
 * row, colspans counted) and sets the parts' roles. Call it again after rows are redrawn.
 * @param {HTMLTableElement} table
 */
export function labelCells(table) {
  const headerRow = table.tHead?.rows[table.tHead.rows.length - 1];
  /** @type {string[]} */
  const headers = [];
  for (const cell of headerRow?.cells ?? []) {
    for (let i = 0; i < cell.colSpan; i++) headers.push(cell.textContent?.trim() ?? "");
  }
  setRole(table);
  for (const section of [table.tHead, ...table.tBodies, table.tFoot]) {
    if (section === null) continue;
    setRole(section);
    for (const row of section.rows) {
      setRole(row);
      let column = 0;
      for (const cell of row.cells) {
        if (section === table.tHead) {
          cell.setAttribute("role", "columnheader");
        } else {
          // A detail row's one cell spans every column: it has no single header; a footer's
          // row header ("Total") names itself.
          const own = cell.colSpan > 1 || (section === table.tFoot && cell.tagName === "TH");
          const label = own ? undefined : headers[column];
          if (label) cell.dataset.label = label;
          cell.setAttribute(
            "role",
            cell.tagName === "TH" ? "rowheader" : ROLES[/** @type {"TD"} */ (cell.tagName)],
          );
        }
        column += cell.colSpan;
      }
    }
  }
}

/** @param {HTMLElement} element */
function setRole(element) {
  const role = ROLES[/** @type {keyof typeof ROLES} */ (element.tagName)];
  if (role) element.setAttribute("role", role);
}
