// Settings: the configuration sections and the policy rules of each direction. A validation
// error is shown beside the field it names, with the API's sentence.
import { call } from "./api.js";
import { h, notice, uid } from "./dom.js";
import { t, vocabulary } from "./i18n.js";

const JSON_SECTIONS = ["domains", "ip_reputation", "tls_peers", "outbound_tls_peers", "reverse_dns", "threat_protection", "domain_auth"];

// "max_message_bytes: Input should be ..." names the field "max_message_bytes".
function fieldOf(message) {
  const match = /^([\w.[\]]+): /.exec(message);
  return match ? match[1] : null;
}

// Inputs of a form carry data-path; the error goes beside the one the API names.
function showError(form, error) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const path = fieldOf(error.message);
  const inputs = [...form.querySelectorAll("[data-path]")];
  const input = inputs.find((el) => path && (path === el.dataset.path || path.startsWith(`${el.dataset.path}[`) || path.startsWith(`${el.dataset.path}.`))) ?? inputs.find((el) => el.dataset.path === "");
  const id = uid("error");
  const message = h("p", { class: "field-error", id, role: "alert" }, error.message);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.after(message);
    input.focus();
  } else {
    form.prepend(message);
  }
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function sectionForm(name, fields, toBody, status) {
  const form = h("form", { class: "section", id: `section-${name}`, novalidate: true }, h("h3", { t: `section.${name}` }), fields, h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", t: "set.save" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    let body;
    try {
      body = toBody();
    } catch (error) {
      return showError(form, { message: t("set.json_invalid", { error: error.message }) });
    }
    try {
      const { data } = await call("PUT", `/v1/config/${name}`, body);
      notice(status, t("set.saved", { v: data.version }));
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function input(path, label, props) {
  const id = uid(path || "section");
  return h("div", { class: "field" }, h("label", { for: id, t: label }), h(props.rows ? "textarea" : "input", { id, "data-path": path, ...props }));
}

const lines = (el) => el.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);

function configSections(config, status) {
  const limits = input("max_message_bytes", "set.max_message_bytes", { type: "number", value: String(config.limits.max_message_bytes), inputmode: "numeric" });
  const blocked = input("blocked_senders", "set.blocked_senders", { rows: 4, value: config.sender_filter.blocked_senders.join("\n") });
  const approved = input("approved_senders", "set.approved_senders", { rows: 4, value: config.sender_filter.approved_senders.join("\n") });
  const forms = [
    sectionForm("limits", limits, () => ({ ...config.limits, max_message_bytes: Number(limits.querySelector("input").value) }), status),
    sectionForm("sender_filter", [blocked, approved, h("p", { class: "hint", t: "set.one_per_line" })], () => ({ blocked_senders: lines(blocked.querySelector("textarea")), approved_senders: lines(approved.querySelector("textarea")) }), status),
  ];
  for (const name of JSON_SECTIONS) {
    const area = input("", "set.json", { rows: 8, value: JSON.stringify(config[name], null, 2), spellcheck: "false", class: "code" });
    forms.push(sectionForm(name, area, () => JSON.parse(area.querySelector("textarea").value), status));
  }
  return forms;
}

function ruleBody(rule) {
  const { id, editable, ...body } = rule;
  return body;
}

async function rulesOf(direction, root, status) {
  const { data } = await call("GET", `/v1/policies/${direction}`);
  const byId = new Map(data.rules.map((r) => [r.id, r]));
  const order = data.evaluation_order.filter((id) => byId.has(id));
  const reload = () => rulesOf(direction, root, status);
  const save = async (rule, changes, form) => {
    try {
      await call("PUT", `/v1/policies/${direction}/rules/${encodeURIComponent(rule.id)}`, { ...ruleBody(rule), ...changes });
      notice(status, t("set.rule_saved"));
      await reload();
    } catch (error) {
      if (form) showError(form, error);
      else notice(status, error.message, "error");
    }
  };
  const move = async (index, step) => {
    const ids = [...order];
    [ids[index], ids[index + step]] = [ids[index + step], ids[index]];
    try {
      await call("PUT", `/v1/policies/${direction}/order`, { rule_ids: ids });
      await reload();
      root.querySelector(`[data-rule="${ids[index + step]}"] .move-${step < 0 ? "up" : "down"}`)?.focus();
    } catch (error) {
      notice(status, error.message, "error");
    }
  };
  const editor = (rule, row) => {
    const name = input("name", "col.rule_name", { type: "text", value: rule.name });
    const actionId = uid("intercept");
    const action = h(
      "select",
      { id: actionId, "data-path": "actions.intercept" },
      Object.entries(vocabulary("policy_actions"))
        .filter(([code]) => ["delete", "quarantine", "deliver_now", "none"].includes(code))
        .map(([code]) => h("option", { value: code, cat: ["policy_actions", code], selected: code === rule.actions?.intercept?.action })),
    );
    const form = h("form", { class: "rule-editor", novalidate: true }, name, h("div", { class: "field" }, h("label", { for: actionId, t: "rule.intercept" }), action));
    const cancel = h("button", { type: "button", t: "rule.cancel", on: { click: () => { form.remove(); row.querySelector(".edit").focus(); } } });
    form.append(h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", t: "set.save" }), cancel));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const intercept = rule.actions.intercept?.action === action.value ? rule.actions.intercept : { action: action.value };
      save(rule, { name: name.querySelector("input").value, actions: { ...rule.actions, intercept } }, form);
    });
    return form;
  };
  const items = order.map((id, index) => {
    const rule = byId.get(id);
    const enabledId = uid("enabled");
    const row = h(
      "li",
      { class: "rule", "data-rule": rule.id },
      h("span", { class: "order" }, String(index + 1)),
      h("span", { class: "name" }, rule.name),
      h("span", { class: "category", t: `rule.category.${rule.category}` }),
      rule.actions?.intercept ? h("span", { cat: ["policy_actions", rule.actions.intercept.action] }) : null,
    );
    if (!rule.editable) {
      row.append(h("span", { class: "locked", t: "rule.locked" }));
      return row;
    }
    const enabled = h("input", { id: enabledId, type: "checkbox", checked: rule.enabled, on: { change: () => save(rule, { enabled: enabled.checked }) } });
    row.append(
      h("span", { class: "check" }, enabled, h("label", { for: enabledId, t: "rule.enabled" })),
      h("button", { type: "button", class: "move-up", disabled: index === 0, ta: { "aria-label": ["rule.up", { name: rule.name }] }, on: { click: () => move(index, -1) } }, "↑"),
      h("button", { type: "button", class: "move-down", disabled: index === order.length - 1, ta: { "aria-label": ["rule.down", { name: rule.name }] }, on: { click: () => move(index, 1) } }, "↓"),
      h("button", { type: "button", class: "edit", ta: { "aria-label": ["rule.edit", { name: rule.name }] }, on: { click: () => { if (!row.querySelector("form")) { const f = editor(rule, row); row.append(f); f.querySelector("input").focus(); } } } }, "✎"),
    );
    return row;
  });
  root.replaceChildren(h("h3", { cat: ["directions", direction] }), h("ol", { class: "rules" }, items));
}

export async function settingsScreen(root) {
  const status = h("div", { role: "status", "aria-live": "polite" });
  const sections = h("div", { class: "sections" });
  const inbound = h("section", { class: "rules-list", id: "rules-inbound" });
  const outbound = h("section", { class: "rules-list", id: "rules-outbound" });
  root.replaceChildren(h("h1", { t: "nav.settings" }), status, h("h2", { t: "set.policies" }), inbound, outbound, h("h2", { t: "set.sections" }), sections);
  try {
    const { data } = await call("GET", "/v1/config");
    sections.replaceChildren(h("p", { class: "hint", t: ["set.version", { v: data.version }] }), ...configSections(data.config, status));
    await Promise.all([rulesOf("inbound", inbound, status), rulesOf("outbound", outbound, status)]);
  } catch (error) {
    notice(status, error.message, "error");
  }
}
