// @ts-check
/**
 * Where the read key lives in the browser: this tab's sessionStorage only (gone when the tab
 * closes, never in a URL, a cookie or localStorage). It is sent as `Authorization: Bearer`.
 *
 * @module
 */

const STORAGE_KEY = "zo-dashboard:key";

/** @returns {string | undefined} the key of this tab, if one was entered */
export function loadKey() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled: the key is asked for again
  }
}

/** @param {string} key */
export function saveKey(key) {
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage disabled: the key still works for this page, until it is reloaded.
  }
}

export function forgetKey() {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}
