// @ts-check
/**
 * What every view gets from the page (`main.js`): the API client, its parameters from the URL,
 * a signal that aborts when the view is left, hooks to report the live feed's state and when
 * the view has rendered its data, and (fleet) the first read, started before its module loaded.
 *
 * @module
 */

/**
 * @typedef {{
 *   api: import("./api.js").Api,
 *   params: Record<string, string>,
 *   signal: AbortSignal,
 *   setLive: (state: "connecting" | "live" | "reconnecting" | "off") => void,
 *   ready: (view: string) => void,
 *   bounds: () => { since?: number, until?: number },
 *   early?: Promise<import("./api_types.js").QueryResults>,
 * }} ViewContext
 */

export {};
