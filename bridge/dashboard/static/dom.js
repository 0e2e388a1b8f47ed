// @ts-check
/**
 * A tiny element builder. Text always goes in as text nodes and attributes as attributes, never
 * as HTML, so nothing an event carries can inject markup or script.
 *
 * @module
 */

/**
 * A child, or a nested array of them (JSDoc cannot name a recursive alias: `unknown[]`).
 * @typedef {Node | string | number | false | null | undefined | unknown[]} Child
 */

/**
 * Creates an element. `props`: `class`, `text`, `dataset`, `on<event>` listeners, `true` for a
 * boolean attribute; `false`, `null` and `undefined` leave an attribute out.
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = String(value);
    else if (name === "text") element.textContent = String(value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/**
 * Appends children (nested arrays flattened; empty ones skipped).
 * @param {Element | DocumentFragment} parent
 * @param {Child[]} children
 */
export function append(parent, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, /** @type {Child[]} */ (child));
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} element
 * @param {...Child} children
 */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * A status badge: the word, and a colour that only repeats it.
 * @param {string} status
 */
export function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, status);
}

/**
 * A message block: `kind` is "info", "warn" or "error" (errors are announced).
 * @param {"info" | "warn" | "error"} kind
 * @param {...Child} children
 */
export function notice(kind, ...children) {
  return h(
    "p",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : null },
    ...children,
  );
}

/**
 * A button that copies an id to the clipboard in one click (ids are long and often shown cut
 * short), and says for a moment whether it could.
 * @param {string} text
 * @param {string} what what is copied, for the button's label ("session id")
 */
export function copyButton(text, what) {
  const button = h("button", {
    type: "button",
    class: "copy",
    title: `Copy the ${what}: ${text}`,
    "aria-label": `Copy the ${what}`,
    dataset: { copy: text },
  }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      // No clipboard (an insecure origin, a refused permission): the id is in the title to read.
      button.textContent = "Cannot copy";
    }
    setTimeout(() => button.textContent = "Copy", 1500);
  });
  return button;
}
