/**
 * The dashboard's static files, embedded in the bridge's module graph as text imports. They load
 * with the code itself, so serving them needs no `--allow-read`, and they travel wherever the
 * code does: `deno task bridge`, a `deno compile` binary, Deno Deploy. `assets_test.ts` fails
 * when a file in `static/` is missing here (or listed but gone).
 *
 * @module
 */
import apiJs from "./static/api.js" with { type: "text" };
import apiTypesJs from "./static/api_types.js" with { type: "text" };
import appCss from "./static/app.css" with { type: "text" };
import domJs from "./static/dom.js" with { type: "text" };
import eventsJs from "./static/events.js" with { type: "text" };
import filtersJs from "./static/filters.js" with { type: "text" };
import fleetJs from "./static/fleet.js" with { type: "text" };
import formatJs from "./static/format.js" with { type: "text" };
import iconSvg from "./static/icon.svg" with { type: "text" };
import indexHtml from "./static/index.html" with { type: "text" };
import keyJs from "./static/key.js" with { type: "text" };
import mainJs from "./static/main.js" with { type: "text" };
import sessionJs from "./static/session.js" with { type: "text" };
import sessionModelJs from "./static/session_model.js" with { type: "text" };
import sseJs from "./static/sse.js" with { type: "text" };
import stateFoldJs from "./static/state_fold.js" with { type: "text" };
import tableCardsJs from "./static/table_cards.js" with { type: "text" };
import timelineModelJs from "./static/timeline_model.js" with { type: "text" };
import urlStateJs from "./static/url_state.js" with { type: "text" };
import usageJs from "./static/usage.js" with { type: "text" };
import viewJs from "./static/view.js" with { type: "text" };
import viewPartsJs from "./static/view_parts.js" with { type: "text" };
import vocabularyJs from "./static/vocabulary.js" with { type: "text" };

/** File name (as served under `/dashboard/`) to its content. */
export const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  "api.js": apiJs,
  "api_types.js": apiTypesJs,
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
  "session_model.js": sessionModelJs,
  "sse.js": sseJs,
  "state_fold.js": stateFoldJs,
  "table_cards.js": tableCardsJs,
  "timeline_model.js": timelineModelJs,
  "url_state.js": urlStateJs,
  "usage.js": usageJs,
  "view.js": viewJs,
  "view_parts.js": viewPartsJs,
  "vocabulary.js": vocabularyJs,
};
