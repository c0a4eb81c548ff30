// A log screen: the search form (with "more options"), the results a page at a time, row
// selection, and the detail of one row.
import { call } from "./api.js";
import { h, notice } from "./dom.js";
import { formatTime, limits, relabel, t } from "./i18n.js";

let schemas = null;

// The search fields the API takes now (its OpenAPI document), so the form offers no field that
// the API would refuse, and names those of the seed that are still to come.
async function accepted(schemaName) {
  if (!schemas) {
    const { data } = await call("GET", "/v1/openapi.json");
    schemas = data.components.schemas;
  }
  return new Set(Object.keys(schemas[schemaName]?.properties ?? {}));
}

function empty(value) {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

export async function searchScreen(root, spec) {
  const names = await accepted(spec.schema);
  const fields = spec.fields.map((field) => ({ ...field, widget: field.make() }));
  const usable = fields.filter((f) => names.has(f.widget.name));
  const waiting = fields.filter((f) => !names.has(f.widget.name));
  const form = h("form", { class: "search", novalidate: true });
  const basic = h("div", { class: "grid" });
  const advanced = h("div", { class: "grid", id: `${spec.id}-more`, hidden: true });
  for (const field of usable) (field.advanced ? advanced : basic).append(field.widget.el);
  const moreButton = h("button", { type: "button", class: "link", "aria-expanded": "false", "aria-controls": advanced.id, t: "options.more" });
  moreButton.addEventListener("click", () => {
    advanced.hidden = !advanced.hidden;
    moreButton.setAttribute("aria-expanded", String(!advanced.hidden));
    moreButton.dataset.t = advanced.hidden ? "options.more" : "options.fewer";
    relabel(moreButton.parentElement);
  });
  const waitingNote = waiting.length
    ? h("p", { class: "hint", t: ["options.waiting", { fields: waiting.map((f) => t(f.label)).join(", ") }] })
    : null;
  const status = h("div", { role: "status", "aria-live": "polite" });
  const toolbar = h("div", { class: "toolbar" });
  const results = h("section", { class: "results", "aria-labelledby": `${spec.id}-results` });
  const detail = h("section", { class: "detail", id: `${spec.id}-detail`, hidden: true, tabindex: "-1", "aria-labelledby": `${spec.id}-detail-title` });
  form.append(basic, h("div", { class: "more" }, moreButton), advanced, waitingNote, h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: `${spec.id}-search`, t: "search" })));

  const state = { query: null, cursors: [null], page: 0, items: [], next: null, selected: new Map() };
  const refreshVisibility = () => {
    const values = Object.fromEntries(usable.map((f) => [f.widget.name, f.widget.control?.value ?? f.widget.control?.checked]));
    for (const field of usable) if (field.when) field.widget.el.hidden = !field.when(values);
  };
  form.addEventListener("change", refreshVisibility);
  refreshVisibility();

  const buildQuery = () => {
    const query = {};
    for (const field of usable) {
      if (field.widget.el.hidden) continue;
      const value = field.widget.value();
      if (!empty(value)) query[field.widget.name] = value;
    }
    return query;
  };

  const load = async () => {
    notice(status, t("loading"));
    const body = { ...state.query, limit: limits().max_page_size, cursor: state.cursors[state.page] };
    try {
      const { data } = await call("POST", spec.endpoint, body);
      state.items = data.items;
      state.next = data.next_cursor;
      notice(status, "");
      renderResults();
    } catch (error) {
      notice(status, error.message, "error");
    }
  };

  const ctx = {
    state,
    status,
    rowKey: spec.rowKey,
    selectedRows: () => [...state.selected.values()],
    reload: load,
    query: () => state.query,
  };

  const renderResults = () => {
    const columns = spec.columns(state.query);
    const headId = `${spec.id}-results`;
    const count = h("p", { t: ["results.count", { n: state.items.length }] });
    const pager = h(
      "nav",
      { class: "pager", ta: { "aria-label": ["results.label"] } },
      h("button", { type: "button", id: `${spec.id}-prev`, disabled: state.page === 0, t: "page.prev", on: { click: () => { state.page -= 1; load(); } } }),
      h("span", { t: ["page.number", { n: state.page + 1 }] }),
      h("button", { type: "button", id: `${spec.id}-next`, disabled: !state.next, t: "page.next", on: { click: () => { state.cursors[state.page + 1] = state.next; state.page += 1; load(); } } }),
    );
    let body;
    if (!state.items.length && !state.next) {
      body = h("p", { class: "empty", t: "empty.none" });
    } else {
      const pageBoxes = [];
      const selectCell = (row) => {
        const key = spec.rowKey(row);
        const box = h("input", { type: "checkbox", checked: state.selected.has(key), ta: { "aria-label": ["select.row"] } });
        box.addEventListener("change", () => {
          if (box.checked) state.selected.set(key, row);
          else state.selected.delete(key);
          selection.textContent = t("select.count", { n: state.selected.size });
        });
        pageBoxes.push(box);
        return h("td", {}, box);
      };
      const all = h("input", { type: "checkbox", ta: { "aria-label": ["select.page"] } });
      all.addEventListener("change", () => {
        for (const box of pageBoxes) if (box.checked !== all.checked) box.click();
      });
      body = h(
        "div",
        { class: "table-wrap", tabindex: "0", role: "region", ta: { "aria-label": ["results.label"] } },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, all), columns.map((c) => h("th", { scope: "col", t: c.label })))),
          h(
            "tbody",
            {},
            state.items.map((row) =>
              h(
                "tr",
                {},
                selectCell(row),
                columns.map((c, i) => {
                  const content = c.cell(row);
                  if (i === 0 && spec.open && spec.openable(row, state.query)) {
                    const button = h("button", { type: "button", class: "link open-row", ta: { "aria-label": ["open", { what: t("detail.title") }] } }, content);
                    button.addEventListener("click", () => openDetail(row, button));
                    return h("td", {}, button);
                  }
                  return h("td", {}, content);
                }),
              ),
            ),
          ),
        ),
      );
    }
    const partial = state.next && state.items.length < limits().max_page_size
      ? h("p", { class: "notice notice-info", t: ["empty.partial", { time: state.items.length ? formatTime(state.items[state.items.length - 1].time) : "—" }] })
      : null;
    const selection = h("p", { class: "selection", t: ["select.count", { n: state.selected.size }] });
    results.replaceChildren(h("h2", { id: headId, t: "results.label" }), h("p", { class: "hint", t: ["tz.shown", { zone: Intl.DateTimeFormat().resolvedOptions().timeZone }] }), count, selection, partial, body, pager);
  };

  const openDetail = async (row, opener) => {
    detail.hidden = false;
    detail.replaceChildren(h("p", { t: "loading" }));
    const close = h("button", { type: "button", class: "close", t: "detail.close", on: { click: () => { detail.hidden = true; opener.focus(); } } });
    try {
      const content = await spec.open(row, state.query);
      detail.replaceChildren(h("div", { class: "detail-head" }, h("h2", { id: `${spec.id}-detail-title`, t: "detail.title" }), close), content);
    } catch (error) {
      detail.replaceChildren(close, h("p", { class: "notice notice-error" }, error.message));
    }
    detail.focus();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = buildQuery();
    state.cursors = [null];
    state.page = 0;
    state.selected.clear();
    detail.hidden = true;
    load();
  });

  if (spec.toolbar) toolbar.append(...spec.toolbar(ctx));
  results.append(h("p", { class: "empty", t: "empty.start" }));
  root.replaceChildren(h("h1", { t: spec.title }), form, status, toolbar, results, detail);
  return ctx;
}
