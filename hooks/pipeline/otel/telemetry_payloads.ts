/**
 * Claude Code's OpenTelemetry export, one payload per log record and per metric data point:
 * what `telemetry_event.ts` turns into a `telemetry` envelope. Each payload keeps everything the
 * record said (its attributes, the resource's and the scope's) as plain JSON, so nothing is lost
 * and new attributes of later Claude Code releases come through untouched.
 *
 * Metric points keep their temporality: a delta point holds what happened since the previous
 * export, a cumulative one the running total since `start_time`. Nothing is summed on the VM
 * (a relay restart would lose the state); the bridge counts a cumulative series by its latest
 * point and a delta series by the sum of its points.
 *
 * @module
 */
import { attributesOf, isoTimeOf, type KeyValue } from "./otlp_values.ts";

/** OTLP's `AggregationTemporality` numbers. */
const TEMPORALITY: Readonly<Record<number, string>> = {
  0: "unspecified",
  1: "delta",
  2: "cumulative",
};

/** The metric kinds of OTLP, by their field name in a `Metric`. */
const METRIC_KINDS = {
  sum: "sum",
  gauge: "gauge",
  histogram: "histogram",
  exponentialHistogram: "exponential_histogram",
  summary: "summary",
} as const;

type Json = Record<string, unknown>;

/**
 * The session a record belongs to, from its attributes or its resource's: kept at the payload's
 * top level, where the hook pipeline reads a payload's session (to give it the session's run).
 */
function withSession(payload: Json, attributes: Json, resource: Json): Json {
  const session = attributes["session.id"] ?? resource["session.id"];
  return typeof session === "string" && session !== ""
    ? { session_id: session, ...payload }
    : payload;
}

function objects(value: unknown): Json[] {
  return Array.isArray(value)
    ? value.filter((item): item is Json => item !== null && typeof item === "object")
    : [];
}

function object(value: unknown): Json {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Json : {};
}

function scopeOf(scope: unknown): Json {
  const { name, version, attributes } = object(scope);
  const out: Json = {};
  if (typeof name === "string" && name !== "") out.name = name;
  if (typeof version === "string" && version !== "") out.version = version;
  const attrs = attributesOf(attributes as KeyValue[] | undefined);
  if (Object.keys(attrs).length > 0) out.attributes = attrs;
  return out;
}

/** The name of a log record: its `eventName`, a name-like body, or its `event.name`. */
function logNameOf(record: Json, attributes: Json): string {
  if (typeof record.eventName === "string" && record.eventName !== "") return record.eventName;
  const body = object(record.body).stringValue;
  if (typeof body === "string" && /^[\w.\-]{1,128}$/.test(body)) return body;
  const named = attributes["event.name"];
  return typeof named === "string" && named !== "" ? named : "log";
}

/** One payload per log record of an `ExportLogsServiceRequest`. */
export function payloadsFromLogs(request: Json): Json[] {
  const payloads: Json[] = [];
  for (const resourceLogs of objects(request.resourceLogs)) {
    const resource = attributesOf(object(resourceLogs.resource).attributes as KeyValue[]);
    for (const scopeLogs of objects(resourceLogs.scopeLogs)) {
      const scope = scopeOf(scopeLogs.scope);
      for (const record of objects(scopeLogs.logRecords)) {
        const attributes = attributesOf(record.attributes as KeyValue[] | undefined);
        const name = logNameOf(record, attributes);
        const payload: Json = { signal: "log", name };
        const time = isoTimeOf(record.timeUnixNano) ?? isoTimeOf(record.observedTimeUnixNano);
        if (time !== undefined) payload.time = time;
        if (typeof record.severityNumber === "number" && record.severityNumber > 0) {
          payload.severity_number = record.severityNumber;
        }
        if (typeof record.severityText === "string" && record.severityText !== "") {
          payload.severity_text = record.severityText;
        }
        const body = attributesOf([{ key: "body", value: object(record.body) }]).body;
        if (body !== null && body !== name) payload.body = body;
        payload.attributes = attributes;
        payload.resource = resource;
        payload.scope = scope;
        payloads.push(withSession(payload, attributes, resource));
      }
    }
  }
  return payloads;
}

/** The value of one data point, by kind: a number, or a histogram's count, sum, min and max. */
function pointValue(kind: string, point: Json): unknown {
  if (kind === "sum" || kind === "gauge") {
    if (point.asDouble !== undefined) return Number(point.asDouble);
    if (point.asInt !== undefined) {
      const number = Number(point.asInt);
      return Number.isSafeInteger(number) ? number : String(point.asInt);
    }
    return null;
  }
  const value: Json = {};
  for (const field of ["count", "sum", "min", "max"]) {
    if (point[field] !== undefined) value[field] = Number(point[field]);
  }
  return value;
}

/** One payload per data point of an `ExportMetricsServiceRequest`. */
export function payloadsFromMetrics(request: Json): Json[] {
  const payloads: Json[] = [];
  for (const resourceMetrics of objects(request.resourceMetrics)) {
    const resource = attributesOf(object(resourceMetrics.resource).attributes as KeyValue[]);
    for (const scopeMetrics of objects(resourceMetrics.scopeMetrics)) {
      const scope = scopeOf(scopeMetrics.scope);
      for (const metric of objects(scopeMetrics.metrics)) {
        const name = typeof metric.name === "string" && metric.name !== "" ? metric.name : "metric";
        for (const [field, kind] of Object.entries(METRIC_KINDS)) {
          if (metric[field] === undefined) continue;
          const data = object(metric[field]);
          const temporality = typeof data.aggregationTemporality === "number"
            ? TEMPORALITY[data.aggregationTemporality] ?? "unspecified"
            : undefined;
          for (const point of objects(data.dataPoints)) {
            const payload: Json = { signal: "metric", name, kind };
            if (typeof metric.unit === "string" && metric.unit !== "") payload.unit = metric.unit;
            if (temporality !== undefined) payload.temporality = temporality;
            if (typeof data.isMonotonic === "boolean") payload.monotonic = data.isMonotonic;
            const start = isoTimeOf(point.startTimeUnixNano);
            if (start !== undefined) payload.start_time = start;
            const time = isoTimeOf(point.timeUnixNano);
            if (time !== undefined) payload.time = time;
            payload.value = pointValue(kind, point);
            payload.attributes = attributesOf(point.attributes as KeyValue[] | undefined);
            payload.resource = resource;
            payload.scope = scope;
            payloads.push(withSession(payload, payload.attributes as Json, resource));
          }
        }
      }
    }
  }
  return payloads;
}
