/**
 * The dashboard's static files, embedded in the bridge's module graph as text imports. They load
 * with the code itself, so serving them needs no `--allow-read`, and they travel wherever the
 * code does: `deno task bridge`, a `deno compile` binary, Deno Deploy. `assets_test.ts` fails
 * when a file in this directory is missing here (or listed but gone).
 *
 * @module
 */
import apiJs from "./api.js" with { type: "text" };
import appCss from "./app.css" with { type: "text" };
import domJs from "./dom.js" with { type: "text" };
import eventsJs from "./events.js" with { type: "text" };
import filtersJs from "./filters.js" with { type: "text" };
import fleetJs from "./fleet.js" with { type: "text" };
import formatJs from "./format.js" with { type: "text" };
import iconSvg from "./icon.svg" with { type: "text" };
import indexHtml from "./index.html" with { type: "text" };
import keyJs from "./key.js" with { type: "text" };
import mainJs from "./main.js" with { type: "text" };
import sessionJs from "./session.js" with { type: "text" };
import sseJs from "./sse.js" with { type: "text" };
import stateFoldJs from "./state_fold.js" with { type: "text" };
import timelineModelJs from "./timeline_model.js" with { type: "text" };
import urlStateJs from "./url_state.js" with { type: "text" };
import usageJs from "./usage.js" with { type: "text" };
import viewJs from "./view.js" with { type: "text" };
import vocabularyJs from "./vocabulary.js" with { type: "text" };

/** File name (as served under `/dashboard/`) to its content. */
export const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  "api.js": apiJs,
  "app.css": appCss,
  "dom.js": domJs,
  "events.js": eventsJs,
  "filters.js": filtersJs,
  "fleet.js": fleetJs,
  "format.js": formatJs,
  "icon.svg": iconSvg,
  "index.html": indexHtml,
  "key.js": keyJs,
  "main.js": mainJs,
  "session.js": sessionJs,
  "sse.js": sseJs,
  "state_fold.js": stateFoldJs,
  "timeline_model.js": timelineModelJs,
  "url_state.js": urlStateJs,
  "usage.js": usageJs,
  "view.js": viewJs,
  "vocabulary.js": vocabularyJs,
};
