// Quarantine: search, detail, and release or delete of the selected rows or of every match,
// each after a confirmation that says how many.
import { call } from "./api.js";
import { confirmDialog, definitionList, h, notice } from "./dom.js";
import { multiValue, period, text, threats } from "./fields.js";
import { cat, limits, t } from "./i18n.js";
import { searchScreen } from "./search.js";
import { directionField, sortField } from "./tracking.js";

const MAX_COUNTED_PAGES = 10;

const COLUMNS = [
  { label: "col.date", cell: (r) => h("span", { time: r.time }) },
  { label: "col.sender", cell: (r) => r.sender },
  { label: "col.recipient", cell: (r) => r.recipients.join(cat("recipient_separator")) },
  { label: "col.subject", cell: (r) => r.subject },
  { label: "field.reasons", cell: (r) => h("span", { cat: ["threat_types", r.reason] }) },
  { label: "col.rule_name", cell: (r) => r.rule_name },
  { label: "detail.state", cell: (r) => h("span", { t: `q.state.${r.state}` }) },
];

async function quarantineDetail(row) {
  const { data: q } = await call("GET", `/v1/quarantine/${encodeURIComponent(row.message_uuid)}`);
  return h(
    "div",
    { class: "detail-body" },
    definitionList([
      ["col.date", h("span", { time: q.time })],
      ["detail.received_at", h("span", { time: q.received_at })],
      ["col.direction", h("span", { cat: ["directions", q.direction] })],
      ["col.sender", q.sender],
      ["col.recipient", q.recipients.join(cat("recipient_separator"))],
      ["field.header_from", q.header_from?.join(", ") || null],
      ["field.header_to", q.header_to?.join(", ") || null],
      ["col.subject", q.subject],
      ["col.message_id", q.message_id],
      ["col.sender_ip", q.sender_ip],
      ["field.reasons", h("span", { cat: ["threat_types", q.reason] })],
      ["col.rule_name", q.rule_name],
      ["detail.state", h("span", { t: `q.state.${q.state}` })],
      ["detail.state", q.released_at ? h("span", { t: ["detail.released", { who: q.released_by, time: q.released_at }] }) : undefined],
      ["detail.state", q.deleted_at ? h("span", { t: ["detail.deleted", { who: q.deleted_by, time: q.deleted_at }] }) : undefined],
    ]),
  );
}

// How many messages the search matches, counted a page at a time (up to a bound).
async function countMatches(query) {
  let count = 0;
  let cursor = null;
  for (let page = 0; page < MAX_COUNTED_PAGES; page += 1) {
    const { data } = await call("POST", "/v1/quarantine/search", { ...query, limit: limits().max_page_size, cursor });
    count += data.items.length;
    cursor = data.next_cursor;
    if (!cursor) return String(count);
  }
  return t("q.more_than", { n: count });
}

function actions(ctx) {
  const run = async (verb, everything) => {
    try {
      const selected = ctx.selectedRows().map((r) => r.message_uuid);
      if (!ctx.query() || (!everything && !selected.length)) return notice(ctx.status, t("ex.none_selected"), "error");
      const n = everything ? await countMatches(ctx.query()) : String(selected.length);
      if (!(await confirmDialog(t(`q.confirm_${verb}`, { n })))) return;
      const body = everything ? { query: ctx.query() } : { message_uuids: selected };
      const { data } = await call("POST", `/v1/quarantine/${verb}`, body);
      const done = data.results.filter((r) => r.result === (verb === "release" ? "released" : "deleted")).length;
      const text = [t("q.done", { ok: done, n: data.results.length })];
      if (data.remaining || data.remaining_more) text.push(t("q.remaining", { n: data.remaining_more ? t("q.more_than", { n: data.remaining }) : data.remaining }));
      ctx.state.selected.clear();
      await ctx.reload();
      notice(ctx.status, text.join(" "));
    } catch (error) {
      notice(ctx.status, error.message, "error");
    }
  };
  return [
    h("button", { type: "button", id: "quarantine-release-selected", t: "q.release_selected", on: { click: () => run("release", false) } }),
    h("button", { type: "button", id: "quarantine-delete-selected", t: "q.delete_selected", on: { click: () => run("delete", false) } }),
    h("button", { type: "button", id: "quarantine-release-all", t: "q.release_all", on: { click: () => run("release", true) } }),
    h("button", { type: "button", id: "quarantine-delete-all", t: "q.delete_all", on: { click: () => run("delete", true) } }),
  ];
}

export function quarantineScreen(root) {
  return searchScreen(root, {
    id: "quarantine",
    title: "nav.quarantine",
    schema: "QuarantineSearch",
    endpoint: "/v1/quarantine/search",
    fields: [
      { label: "field.period", make: period },
      { label: "col.direction", make: directionField },
      { label: "col.recipient", make: () => multiValue({ name: "recipients", label: "col.recipient" }) },
      { label: "col.sender", make: () => multiValue({ name: "senders", label: "col.sender" }) },
      { label: "col.subject", make: () => text({ name: "subject", label: "col.subject" }) },
      { label: "field.reasons", make: () => threats({ name: "reasons", label: "field.reasons", objects: false }) },
      { label: "field.rule_names", make: () => multiValue({ name: "rule_names", label: "field.rule_names" }), advanced: true },
      { label: "field.sort", make: sortField, advanced: true },
    ],
    columns: () => COLUMNS,
    rowKey: (row) => row.message_uuid,
    openable: () => true,
    open: quarantineDetail,
    toolbar: actions,
  });
}
