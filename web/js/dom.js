// Elements built from data, never from HTML strings: every value from the API is text.
import { cat, formatTime, t } from "./i18n.js";

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple"]);

// h("button", {t: "search", on: {click}}, ...children). Special props: t (text from the
// catalog: "key" or ["key", vars]), ta ({attr: ["key", vars]}), cat (a vocabulary path), time
// (an ISO time shown in the browser's zone). They are written again on a language switch.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (name === "t") {
      const [key, vars] = Array.isArray(value) ? value : [value, {}];
      el.dataset.t = key;
      if (vars && Object.keys(vars).length) el.dataset.vars = JSON.stringify(vars);
      el.textContent = t(key, vars);
    } else if (name === "ta") {
      el.dataset.ta = JSON.stringify(value);
      for (const [attr, [key, vars]] of Object.entries(value)) el.setAttribute(attr, t(key, vars || {}));
    } else if (name === "cat") {
      el.dataset.cat = JSON.stringify(value);
      el.textContent = cat(...value);
    } else if (name === "time") {
      el.dataset.time = value;
      el.textContent = formatTime(value);
    } else if (PROPERTIES.has(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  el.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return el;
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A status line that screen readers announce; an error is shown as the API's sentence.
export function notice(el, text, kind = "info") {
  el.replaceChildren();
  if (!text) return;
  el.className = `notice notice-${kind}`;
  el.append(text);
}

// A modal question with a count; resolves true when confirmed.
export function confirmDialog(message) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", id: "confirm-yes", t: "confirm.yes", on: { click: () => dialog.close("yes") } }),
        h("button", { type: "button", id: "confirm-cancel", t: "confirm.cancel", on: { click: () => dialog.close("no") } }),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function definitionList(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows
      .filter(([, value]) => value !== undefined)
      .map(([label, value]) => [h("dt", { t: label }), h("dd", {}, value === null || value === "" ? h("span", { cat: ["not_available"] }) : value)]),
  );
}
