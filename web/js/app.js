// The console's shell: sign-in with the tenant's API key (kept in this tab's sessionStorage),
// the language switch, and one screen per location hash.
import { ApiError, call, session } from "./api.js";
import { h, notice } from "./dom.js";
import { eventsScreen } from "./events.js";
import { exportsScreen } from "./exports.js";
import { getLocale, loadMessages, relabel, setLocale, t, timeZone } from "./i18n.js";
import { quarantineScreen } from "./quarantine.js";
import { settingsScreen } from "./settings.js";
import { trackingScreen } from "./tracking.js";

const SCREENS = { tracking: trackingScreen, events: eventsScreen, quarantine: quarantineScreen, exports: exportsScreen, settings: settingsScreen };
const main = () => document.getElementById("main");

function languageSwitch() {
  const select = h(
    "select",
    { id: "language", on: { change: () => { setLocale(select.value); relabel(document.body); document.title = t("app.title"); } } },
    h("option", { value: "ja", lang: "ja", selected: getLocale() === "ja" }, "日本語"),
    h("option", { value: "en", lang: "en", selected: getLocale() === "en" }, "English"),
  );
  return h("div", { class: "language" }, h("label", { for: "language", t: "lang.label" }), select);
}

function header(signedIn) {
  const nav = signedIn
    ? h(
        "nav",
        { ta: { "aria-label": ["nav.label"] } },
        h("ul", {}, Object.keys(SCREENS).map((name) => h("li", {}, h("a", { href: `#/${name}`, id: `nav-${name}`, t: `nav.${name}` })))),
      )
    : null;
  const signOut = signedIn
    ? h("button", { type: "button", id: "sign-out", t: "signout", on: { click: () => { session.signOut(); location.hash = ""; render(); } } })
    : null;
  return h("div", { class: "bar" }, h("p", { class: "brand", t: "app.title" }), nav, h("div", { class: "tools" }, languageSwitch(), signOut), h("p", { class: "zone hint", t: ["tz.shown", { zone: timeZone() }] }));
}

function signInForm(reason) {
  const status = h("div", { role: "alert" });
  const key = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, "aria-describedby": "api-key-hint" });
  const form = h(
    "form",
    { class: "sign-in", novalidate: true },
    h("h1", { t: "signin.title" }),
    h("div", { class: "field" }, h("label", { for: "api-key", t: "signin.key" }), key, h("p", { class: "hint", id: "api-key-hint", t: "signin.hint" })),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "sign-in", t: "signin.submit" })),
  );
  if (reason) notice(status, reason, "error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      session.signIn(key.value.trim());
      await call("POST", "/v1/tracking/search", { period: "1h", limit: 1 });
      location.hash = "#/tracking";
      render();
    } catch (error) {
      session.signOut();
      notice(status, error.message, "error");
      key.focus();
    }
  });
  return form;
}

// Renders overlap when the admin clicks on before a screen has loaded; only the newest may show,
// so each screen is built off-page and put in place only if no later render has started.
let renders = 0;

async function render(reason = null) {
  const current = ++renders;
  const signedIn = Boolean(session.key());
  document.getElementById("top").replaceChildren(header(signedIn));
  if (!signedIn) {
    main().replaceChildren(signInForm(reason));
    document.getElementById("api-key").focus();
    return;
  }
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const screen = SCREENS[name] ? name : "tracking";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.id === `nav-${screen}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = h("div", { class: "screen" });
  try {
    await SCREENS[screen](view);
  } catch (error) {
    const shown = h("div", { class: "notice notice-error", role: "alert" });
    view.replaceChildren(shown);
    notice(shown, error instanceof ApiError ? error.message : String(error), "error");
  }
  if (current === renders) main().replaceChildren(view);
}

session.onRefused = (message) => {
  session.signOut();
  render(message);
};

await loadMessages();
document.title = t("app.title");
window.addEventListener("hashchange", () => render());
render();
