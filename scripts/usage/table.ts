/**
 * `deno task usage`'s tables: one `GET /usage` answer as aligned text columns, a total row, and
 * footnotes for what the cost leaves out (models without a price) and which price table priced it.
 *
 * @module
 */
import type { UsageReport, UsageSummary } from "../../bridge/usage/report.ts";

const DIMENSION_TITLES: Record<string, string> = {
  project: "Project",
  worker: "Worker",
  run: "Run",
  session: "Session",
  agent: "Subagent",
  model: "Model",
  day: "Day",
};

const NUMBER_COLUMNS = [
  "Responses",
  "Input",
  "Output",
  "Cache write",
  "Cache read",
  "Total tokens",
  "Cost (USD)",
];

/** A whole number with thousands separators: 1234567 -> "1,234,567". */
export function formatCount(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A cost for the table: 4 decimals (fewer digits hide cents of cache reads), "-" for none. */
export function formatCost(summary: Pick<UsageSummary, "cost_usd" | "cost_complete">): string {
  if (summary.cost_usd === null) return "-";
  return `${summary.cost_usd.toFixed(4)}${summary.cost_complete ? "" : "*"}`;
}

function numbers(summary: UsageSummary): string[] {
  return [
    formatCount(summary.messages),
    formatCount(summary.input_tokens),
    formatCount(summary.output_tokens),
    formatCount(summary.cache_creation_input_tokens),
    formatCount(summary.cache_read_input_tokens),
    formatCount(summary.total_tokens),
    formatCost(summary),
  ];
}

/** The report as a titled text table. */
export function renderUsageTable(title: string, report: UsageReport): string {
  const keyTitles = report.group_by.map((d) => DIMENSION_TITLES[d] ?? d);
  const header = [...keyTitles, ...NUMBER_COLUMNS];
  const rows = report.groups.map((group) => [
    ...report.group_by.map((d) => group.key[d] ?? "(none)"),
    ...numbers(group),
  ]);
  const total = ["Total", ...keyTitles.slice(1).map(() => ""), ...numbers(report.totals)];
  const widths = header.map((h, i) =>
    Math.max(h.length, total[i]!.length, ...rows.map((row) => row[i]!.length))
  );
  const keys = keyTitles.length;
  const line = (cells: string[]) =>
    cells.map((cell, i) => i < keys ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))
      .join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [title, "", line(header), rule, ...rows.map(line), rule, line(total)];
  if (rows.length === 0) out.splice(4, 0, "(no usage)");
  if (report.truncated) out.push(`Only the first ${rows.length} groups are shown (--limit).`);
  if (report.unknown_models.length > 0) {
    out.push(
      `* No price for ${
        report.unknown_models.join(", ")
      }: their tokens are counted, their cost is left out.`,
    );
  }
  const prices = report.prices;
  out.push(
    `Prices: table ${prices.version} (${prices.source}), ${prices.currency} ${prices.unit}.`,
  );
  return out.join("\n");
}
