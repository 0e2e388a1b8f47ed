/**
 * Serves the dashboard's static files (`assets.ts`): `GET /` redirects to `/dashboard/`, which
 * is `index.html`, and `/dashboard/<file>` is each module, stylesheet and icon. They hold no
 * data, so they need no key; every data call the page makes does.
 *
 * Each answer carries its content type, a strong `ETag` with `Cache-Control: no-cache` (the
 * browser keeps a copy and revalidates it: a 304 costs a round trip, and an upgraded bridge is
 * never shown with stale modules), and a strict Content-Security-Policy: scripts, styles and
 * connections from this origin only, no inline script or style, no framing, no form posts.
 *
 * @module
 */
import { HttpError } from "../errors.ts";
import { DASHBOARD_FILES } from "./assets.ts";

/** The dashboard's Content-Security-Policy. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every dashboard answer. */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The content type of a dashboard file, by its extension. */
export function contentTypeOf(name: string): string {
  const type = CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)];
  if (type === undefined) throw new TypeError(`Cannot serve ${name}: no content type for it`);
  return type;
}

interface Prepared {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
  type: string;
}

let prepared: Promise<Map<string, Prepared>> | undefined;

/** Encodes and hashes every file once, on first use. */
function files(): Promise<Map<string, Prepared>> {
  prepared ??= (async () => {
    const map = new Map<string, Prepared>();
    for (const [name, text] of Object.entries(DASHBOARD_FILES)) {
      const body = new TextEncoder().encode(text);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
      const hex = Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
      map.set(name, { body, etag: `"${hex}"`, type: contentTypeOf(name) });
    }
    return map;
  })();
  return prepared;
}

/** True when `If-None-Match` names `etag` (or `*`). */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((tag) => {
    const value = tag.trim().replace(/^W\//, "");
    return value === etag || value === "*";
  });
}

/**
 * Answers a request for `/`, `/dashboard` or `/dashboard/<file>` (GET or HEAD; the app checks
 * the method). Throws a 404 `HttpError` for a file that is not part of the dashboard.
 */
export async function serveDashboard(req: Request, url: URL): Promise<Response> {
  const path = url.pathname;
  // Relative redirects keep working behind a proxy that mounts the bridge under a prefix.
  if (path === "/") {
    return new Response(null, {
      status: 302,
      headers: { ...DASHBOARD_HEADERS, location: "dashboard/" },
    });
  }
  if (path === "/dashboard") {
    return new Response(null, {
      status: 308,
      headers: { ...DASHBOARD_HEADERS, location: "dashboard/" },
    });
  }
  const name = path === "/dashboard/" ? "index.html" : path.slice("/dashboard/".length);
  const file = (await files()).get(name);
  if (file === undefined) {
    throw new HttpError(
      "not_found",
      `Cannot find ${path.slice(0, 200)}: the dashboard is at /dashboard/ and has no such file`,
    );
  }
  const headers = {
    ...DASHBOARD_HEADERS,
    "content-type": file.type,
    "cache-control": "no-cache",
    etag: file.etag,
  };
  if (matchesEtag(req.headers.get("if-none-match"), file.etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(file.body, { headers });
}
