// Policy events: one row per message and stage-2 detection, the detail with engine details.
import { call } from "./api.js";
import { definitionList, h } from "./dom.js";
import { exportButtons } from "./exports.js";
import { multiValue, period, text, threats } from "./fields.js";
import { cat } from "./i18n.js";
import { searchScreen } from "./search.js";
import { directionField, sortField } from "./tracking.js";

const subtype = (row) => (row.subtype ? h("span", { cat: ["threat_types", row.threat_type, "subtypes", row.subtype] }) : null);
const method = (row) => (row.detection_method ? h("span", { cat: ["threat_types", row.threat_type, "methods", row.detection_method] }) : null);

const COLUMNS = [
  { label: "col.date", cell: (r) => h("span", { time: r.time }) },
  { label: "col.sender", cell: (r) => r.sender },
  { label: "col.recipient", cell: (r) => r.recipients.join(cat("recipient_separator")) },
  { label: "col.threat_type", cell: (r) => h("span", { cat: ["threat_types", r.threat_type] }) },
  { label: "col.subtype", cell: subtype },
  { label: "col.action", cell: (r) => h("span", { cat: ["policy_actions", r.action] }) },
  { label: "col.subject", cell: (r) => r.subject },
  { label: "col.threat_name", cell: (r) => r.threat_name },
];

async function eventDetail(row) {
  const { data: e } = await call("GET", `/v1/events/${encodeURIComponent(row.event_id)}`);
  const engine = Object.entries(e.details || {});
  return h(
    "div",
    { class: "detail-body" },
    definitionList([
      ["col.date", h("span", { time: e.time })],
      ["detail.received_at", e.received_at ? h("span", { time: e.received_at }) : null],
      ["col.direction", h("span", { cat: ["directions", e.direction] })],
      ["col.sender", e.sender],
      ["col.recipient", e.recipients.join(cat("recipient_separator"))],
      ["field.header_from", e.header_from?.join(", ") || null],
      ["field.header_to", e.header_to?.join(", ") || null],
      ["col.subject", e.subject],
      ["col.message_id", e.message_id],
      ["col.message_size", e.size === undefined ? undefined : String(e.size)],
      ["col.threat_type", h("span", { cat: ["threat_types", e.threat_type] })],
      ["col.subtype", subtype(e)],
      ["col.detection_method", method(e)],
      ["col.threat_name", e.threat_name],
      ["col.action", h("span", { cat: ["policy_actions", e.action] })],
      ["col.rule_name", e.rule_name],
      ["col.domain", e.domain || undefined],
      ["col.violating_file", e.violating_file || undefined],
      ["detail.violating_url", e.violating_url || undefined],
    ]),
    engine.length ? [h("h3", { t: "detail.engine" }), h("dl", { class: "facts" }, engine.map(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, typeof v === "string" ? v : JSON.stringify(v)))]))] : null,
  );
}

// Rule names of the chosen direction, suggested as the admin types.
async function suggestRules(widget, direction) {
  try {
    const { data } = await call("GET", `/v1/policies/${direction}`);
    widget.suggest(data.rules.map((r) => r.name));
  } catch {
    widget.suggest([]); // a key without config access gets no suggestions; typing still works
  }
}

export async function eventsScreen(root) {
  let rules = null;
  const fields = [
    { label: "field.period", make: period },
    { label: "col.direction", make: directionField },
    { label: "col.recipient", make: () => multiValue({ name: "recipients", label: "col.recipient" }) },
    { label: "col.sender", make: () => multiValue({ name: "senders", label: "col.sender" }) },
    { label: "field.header_to", make: () => multiValue({ name: "header_to", label: "field.header_to" }) },
    { label: "field.header_from", make: () => multiValue({ name: "header_from", label: "field.header_from" }) },
    { label: "col.subject", make: () => text({ name: "subject", label: "col.subject" }) },
    { label: "field.rule_names", make: () => (rules = multiValue({ name: "rule_names", label: "field.rule_names", suggestions: true })) },
    { label: "field.threats", make: () => threats({}) },
    { label: "col.threat_name", make: () => text({ name: "threat_name", label: "col.threat_name" }), advanced: true },
    { label: "col.message_id", make: () => text({ name: "message_id", label: "col.message_id" }), advanced: true },
    { label: "field.sort", make: sortField, advanced: true },
  ];
  const ctx = await searchScreen(root, {
    id: "events",
    title: "nav.events",
    schema: "EventSearch",
    endpoint: "/v1/events/search",
    fields,
    columns: () => COLUMNS,
    rowKey: (row) => row.event_id,
    openable: () => true,
    open: eventDetail,
    toolbar: (c) => exportButtons(c, "events", (row) => row.event_id),
  });
  const direction = root.querySelector('[data-field="direction"] select');
  direction.addEventListener("change", () => suggestRules(rules, direction.value));
  await suggestRules(rules, direction.value);
  return ctx;
}

