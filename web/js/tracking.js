// Mail tracking: the search fields of the spec, per-recipient rows, and the detail log.
import { call } from "./api.js";
import { definitionList, h } from "./dom.js";
import { exportButtons } from "./exports.js";
import { TLS_CHOICES, checkbox, checks, multiValue, period, select, text } from "./fields.js";
import { vocabulary } from "./i18n.js";
import { searchScreen } from "./search.js";

const ANY_YES_NO = [["any", { t: "choice.any" }], ["yes", { t: "choice.yes" }], ["no", { t: "choice.no" }]];
const accepted = (v) => v.type !== "blocked";
const outboundAccepted = (v) => accepted(v) && v.direction === "outbound";
const withAttachments = (v) => accepted(v) && Boolean(v.attachments_only);

export function directionField() {
  return select({ name: "direction", label: "col.direction", options: Object.keys(vocabulary("directions")).map((d) => [d, { cat: ["directions", d] }]) });
}

export function sortField() {
  return select({ name: "sort", label: "field.sort", options: [["desc", { t: "sort.desc" }], ["asc", { t: "sort.asc" }]] });
}

const FIELDS = [
  { label: "field.period", make: period },
  { label: "col.direction", make: directionField },
  { label: "col.type", make: () => select({ name: "type", label: "col.type", options: Object.keys(vocabulary("tracking_types")).map((v) => [v, { cat: ["tracking_types", v] }]) }) },
  { label: "col.recipient", make: () => multiValue({ name: "recipients", label: "col.recipient" }) },
  { label: "col.sender", make: () => multiValue({ name: "senders", label: "col.sender" }) },
  { label: "field.header_to", make: () => multiValue({ name: "header_to", label: "field.header_to" }) },
  { label: "field.header_from", make: () => multiValue({ name: "header_from", label: "field.header_from" }) },
  { label: "col.subject", make: () => text({ name: "subject", label: "col.subject" }), when: accepted },
  { label: "field.statuses", make: () => checks({ name: "statuses", label: "field.statuses", group: "statuses" }), when: accepted },
  { label: "col.block_reason", make: () => checks({ name: "block_reasons", label: "col.block_reason", group: "block_reasons", grouping: "group" }), when: (v) => !accepted(v) },
  { label: "col.message_id", make: () => text({ name: "message_id", label: "col.message_id" }), when: accepted, advanced: true },
  { label: "col.sender_ip", make: () => text({ name: "sender_ip", label: "col.sender_ip" }), advanced: true },
  { label: "col.delivered_to", make: () => text({ name: "delivered_to", label: "col.delivered_to" }), when: accepted, advanced: true },
  { label: "col.upstream_tls", make: () => select({ name: "upstream_tls", label: "col.upstream_tls", options: TLS_CHOICES }), advanced: true },
  { label: "col.downstream_tls", make: () => select({ name: "downstream_tls", label: "col.downstream_tls", options: TLS_CHOICES }), when: accepted, advanced: true },
  { label: "col.downstream_dane", make: () => select({ name: "downstream_dane", label: "col.downstream_dane", options: ANY_YES_NO }), when: outboundAccepted, advanced: true },
  { label: "col.downstream_mta_sts", make: () => select({ name: "downstream_mta_sts", label: "col.downstream_mta_sts", options: ANY_YES_NO }), when: outboundAccepted, advanced: true },
  { label: "field.sort", make: sortField, advanced: true },
  { label: "field.attachments_only", make: () => checkbox({ name: "attachments_only", label: "field.attachments_only" }), when: accepted, advanced: true },
  { label: "field.attachment_sha256", make: () => text({ name: "attachment_sha256", label: "field.attachment_sha256" }), when: withAttachments, advanced: true },
  { label: "field.attachment_name", make: () => text({ name: "attachment_name", label: "field.attachment_name" }), when: withAttachments, advanced: true },
  {
    label: "field.attachment_status",
    make: () => select({ name: "attachment_status", label: "field.attachment_status", options: ["any", "deleted", "cleaned", "sanitized", "none"].map((v) => [v, {}, v]) }),
    when: withAttachments,
    advanced: true,
  },
  {
    label: "field.password_analysis",
    make: () => select({ name: "password_analysis", label: "field.password_analysis", options: ["any", "not_analyzed", "decrypted", "not_decrypted"].map((v) => [v, {}, v]) }),
    when: withAttachments,
    advanced: true,
  },
];

const ACCEPTED_COLUMNS = [
  { label: "col.date", cell: (r) => h("span", { time: r.time }) },
  { label: "col.sender", cell: (r) => r.sender },
  { label: "col.recipient", cell: (r) => r.recipient },
  { label: "col.action", cell: (r) => h("span", { cat: ["statuses", r.status] }) },
  { label: "col.subject", cell: (r) => r.subject },
  { label: "col.sender_ip", cell: (r) => r.sender_ip },
  { label: "col.delivered_to", cell: (r) => r.delivered_to },
  { label: "col.size_kb", cell: (r) => String(r.size_kb) },
];
const RELATED_COLUMNS = ACCEPTED_COLUMNS.filter((c) => ["col.date", "col.sender", "col.recipient", "col.action", "col.subject"].includes(c.label));
const BLOCKED_COLUMNS = [
  { label: "col.date", cell: (r) => h("span", { time: r.time }) },
  { label: "col.sender", cell: (r) => r.sender },
  { label: "col.recipient", cell: (r) => r.recipient },
  { label: "col.block_reason", cell: (r) => h("span", { cat: ["block_reasons", r.block_reason] }) },
  { label: "col.sender_ip", cell: (r) => r.sender_ip },
];

const list = (values) => (values?.length ? values.join(", ") : null);

function table(headers, rows) {
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", ta: { "aria-label": [headers[0]] } },
    h("table", {}, h("thead", {}, h("tr", {}, headers.map((key) => h("th", { scope: "col", t: key })))), h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))))),
  );
}

function policyResult(result) {
  if (result === "no_match") return h("span", { t: "detail.no_match" });
  return vocabulary("policy_actions")[result] ? h("span", { cat: ["policy_actions", result] }) : result;
}

function delivery(d) {
  if (!d) return h("p", { t: "detail.not_delivered" });
  if (d.undelivered) {
    return [h("p", { class: "undelivered", t: "detail.undelivered" }), definitionList([["col.date", d.time ? h("span", { time: d.time }) : null], ["detail.server", d.server], ["detail.reply", d.reply], ["detail.next_attempt", d.next_attempt_at ? h("span", { time: d.next_attempt_at }) : undefined]])];
  }
  return definitionList([["col.action", h("span", { cat: ["statuses", d.status] })], ["col.date", d.time ? h("span", { time: d.time }) : null], ["detail.server", d.server], ["detail.ip", d.ip], ["detail.tls", d.tls], ["detail.reply", d.reply]]);
}

export async function trackingDetail(row) {
  const path = `/v1/tracking/${encodeURIComponent(row.message_uuid)}?recipient=${encodeURIComponent(row.recipient)}`;
  const { data } = await call("GET", path);
  const s = data.summary;
  const p = data.processing;
  return h(
    "div",
    { class: "detail-body" },
    h("h3", { t: "detail.summary" }),
    definitionList([
      ["col.date", h("span", { time: s.time })],
      ["col.direction", h("span", { cat: ["directions", s.direction] })],
      ["col.sender", s.sender],
      ["col.recipient", s.recipient],
      ["field.header_from", list(s.header_from)],
      ["field.header_to", list(s.header_to)],
      ["detail.reply_to", list(s.reply_to)],
      ["col.subject", s.subject],
      ["col.message_id", s.message_id],
      ["detail.size", String(s.size)],
    ]),
    h("h3", { t: "detail.processing" }),
    h("h4", { t: "detail.received" }),
    definitionList([["col.date", h("span", { time: p.received.time })], ["col.sender_ip", p.received.sender_ip], ["detail.helo", p.received.helo], ["detail.tls", p.received.tls]]),
    h("h4", { t: "detail.evaluated" }),
    p.evaluated_policies.length ? table(["col.rule_name", "col.action"], p.evaluated_policies.map((e) => [e.rule, policyResult(e.result)])) : h("p", { cat: ["not_available"] }),
    h("h4", { t: "detail.delivery" }),
    delivery(p.delivery),
    data.attachments.length
      ? [
          h("h3", { t: "detail.attachments" }),
          table(
            ["col.attachments", "detail.sha256", "field.attachment_status", "detail.password_protected", "field.password_analysis"],
            data.attachments.map((a) => [a.name, h("code", {}, a.sha256), a.status, h("span", { t: a.password_protected ? "choice.yes" : "choice.no" }), a.password_analysis]),
          ),
        ]
      : null,
    h("h3", { t: "detail.timeline" }),
    h("ol", { class: "timeline" }, data.events.map((e) => h("li", {}, h("span", { time: e.time }), " ", h("strong", {}, e.event), " ", e.detail || "", e.reply ? ` — ${e.reply}` : ""))),
    h("h3", { t: "detail.related" }),
    related(row.message_uuid),
  );
}

// The messages related to this one, from a route that may not be deployed yet: the router's own
// 404 (code not_found) means the route is missing, and the detail says so.
function related(messageUuid) {
  const box = h("div", { class: "related", "aria-live": "polite" }, h("p", { t: "detail.related_loading" }));
  call("GET", `/v1/tracking/${encodeURIComponent(messageUuid)}/related`).then(
    ({ data }) => {
      const rows = data.rows ?? [];
      box.replaceChildren(rows.length ? table(RELATED_COLUMNS.map((c) => c.label), rows.map((r) => RELATED_COLUMNS.map((c) => c.cell(r)))) : h("p", { class: "empty", t: "detail.related_none" }));
    },
    (error) => {
      const missing = error.status === 404 && error.code === "not_found";
      box.replaceChildren(missing ? h("p", { class: "notice notice-info", t: "detail.related_missing" }) : h("p", { class: "notice notice-error" }, error.message));
    },
  );
  return box;
}

export function trackingScreen(root) {
  return searchScreen(root, {
    id: "tracking",
    title: "nav.tracking",
    schema: "TrackingSearch",
    endpoint: "/v1/tracking/search",
    fields: FIELDS,
    columns: (query) => (query?.type === "blocked" ? BLOCKED_COLUMNS : ACCEPTED_COLUMNS),
    rowKey: (row) => `${row.message_uuid} ${row.recipient}`,
    openable: (row) => row.type !== "blocked" && row.status !== undefined,
    open: trackingDetail,
    toolbar: (ctx) => exportButtons(ctx, "tracking", (row) => ({ message_uuid: row.message_uuid, recipient: row.recipient })),
  });
}

