// The console's words, all from messages.json (generated from mailgate/catalog.py), and the
// browser's time zone for every date shown.
let messages = null;
let locale = "en";
const LOCALE_KEY = "mailgate.locale";

export async function loadMessages() {
  const response = await fetch("messages.json");
  messages = await response.json();
  const saved = localStorage.getItem(LOCALE_KEY);
  setLocale(saved || (navigator.language.startsWith("ja") ? "ja" : "en"));
}

export function getLocale() {
  return locale;
}

export function setLocale(value) {
  locale = value === "ja" ? "ja" : "en";
  localStorage.setItem(LOCALE_KEY, locale);
  document.documentElement.lang = locale;
}

export function limits() {
  return messages.limits;
}

export function vocabulary(group) {
  return messages[group];
}

// A catalog label by its path, e.g. cat("statuses", "delivered") or
// cat("threat_types", "graymail", "subtypes", "marketing"); the code itself when unknown.
export function cat(...path) {
  let entry = messages;
  for (const part of path) entry = entry?.[part];
  return entry?.[locale] ?? String(path[path.length - 1] ?? "");
}

export function hasLabel(key) {
  return Boolean(messages.ui[key]);
}

export function t(key, vars = {}) {
  const entry = key.startsWith("col.") ? messages.columns[key.slice(4)] : messages.ui[key];
  let text = entry ? entry[locale] : key;
  for (const [name, value] of Object.entries(vars)) {
    const shown = Array.isArray(value) ? cat(...value) : String(value);
    text = text.replaceAll(`{${name}}`, shown);
  }
  return text;
}

export function timeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function formatTime(iso) {
  if (!iso) return cat("not_available");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale === "ja" ? "ja-JP" : "en-GB", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  }).format(date);
}

// Writes again every text that came from the catalog, after a language switch.
export function relabel(root) {
  for (const el of root.querySelectorAll("[data-t]")) {
    el.textContent = t(el.dataset.t, JSON.parse(el.dataset.vars || "{}"));
  }
  for (const el of root.querySelectorAll("[data-ta]")) {
    for (const [attr, [key, vars]] of Object.entries(JSON.parse(el.dataset.ta))) {
      el.setAttribute(attr, t(key, vars || {}));
    }
  }
  for (const el of root.querySelectorAll("[data-cat]")) {
    el.textContent = cat(...JSON.parse(el.dataset.cat));
  }
  for (const el of root.querySelectorAll("[data-time]")) {
    el.textContent = formatTime(el.dataset.time);
  }
}
