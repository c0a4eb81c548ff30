// Settings: the policy rules of each direction and the configuration sections, as forms built
// from the API's schemas. A validation error is shown beside the field it names, with the API's
// sentence; a section is saved with the version it was read at, so a concurrent change is
// reported instead of being overwritten.
import { call } from "./api.js";
import { confirmDialog, h, notice } from "./dom.js";
import { t } from "./i18n.js";
import { clearErrors, field, loadSchemas, showError } from "./schema_form.js";

// The configuration as last read or written; its version guards each section's save.
const state = { version: 0, config: null };

function versionLine() {
  return h("p", { class: "hint", id: "config-version", t: ["set.version", { v: state.version }] });
}

function actions(...buttons) {
  return h("div", { class: "actions" }, buttons);
}

// 409 version_conflict: someone else wrote since this page read the configuration.
function conflict(form, error, reload) {
  showError(form, error.message);
  form.querySelector(".field-error").append(" ", h("button", { type: "button", class: "reload", t: "set.reload", on: { click: reload } }));
}

function sectionForm(name, schemas, status, reload) {
  const schema = schemas.TenantConfig.properties[name];
  const built = field(schema, state.config[name], schema.type === "array" ? name : null, "");
  const form = h("form", { class: "section", id: `section-${name}`, novalidate: true }, h("h3", { t: `section.${name}` }), built.el, actions(h("button", { type: "submit", class: "primary", t: "set.save" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const { data } = await call("PUT", "/v1/config", { version: state.version, config: { ...state.config, [name]: built.read() } });
      Object.assign(state, data);
      document.getElementById("config-version")?.replaceWith(versionLine());
      notice(status, t("set.saved", { v: data.version }));
    } catch (error) {
      if (error.code === "version_conflict") conflict(form, error, reload);
      else showError(form, error.message, `config.${name}`);
    }
  });
  return form;
}

// A rule write adds one to the configuration's version. When nothing else was written in
// between, the sections take the new configuration; otherwise they keep the old version, and
// their next save reports the conflict.
async function afterRuleWrite(version) {
  if (version !== state.version + 1) return;
  const { data } = await call("GET", "/v1/config");
  if (data.version === version) Object.assign(state, data);
}

function ruleBody(rule) {
  const { id, editable, ...body } = rule;
  return body;
}

const NEW_RULE = { name: "", category: "content", enabled: true, match: "any", conditions: [], actions: { intercept: { action: "none" } } };

function ruleForm(rule, onSubmit, onCancel) {
  const built = field({ $ref: "#/components/schemas/RuleInput" }, rule, null, "");
  const form = h("form", { class: "rule-editor", novalidate: true }, built.el);
  form.append(actions(h("button", { type: "submit", class: "primary", t: "set.save" }), h("button", { type: "button", t: "rule.cancel", on: { click: onCancel } })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    onSubmit(built.read(), form);
  });
  return form;
}

async function rulesOf(direction, root, status, schemas, focus) {
  const { data } = await call("GET", `/v1/policies/${direction}`);
  const categories = schemas.RuleCategory.enum;
  // Stage 2 runs the rules by category, the tenant's order within one: shown so, and moved so.
  const rules = [...data.rules].sort((a, b) => categories.indexOf(a.category) - categories.indexOf(b.category));
  const reload = (selector) => rulesOf(direction, root, status, schemas, selector);
  const base = `/v1/policies/${direction}`;
  const write = async (method, path, body, form, selector, done) => {
    try {
      const { data: answer } = await call(method, `${base}${path}`, body);
      notice(status, t(done));
      await afterRuleWrite(answer.version);
      await reload(selector);
    } catch (error) {
      if (form) showError(form, error.message);
      else notice(status, error.message, "error");
    }
  };
  const move = (index, step) => {
    const ids = rules.map((r) => r.id);
    [ids[index], ids[index + step]] = [ids[index + step], ids[index]];
    write("PUT", "/order", { rule_ids: ids }, null, `[data-rule="${rules[index].id}"] .move-${step < 0 ? "up" : "down"}`, "set.rule_moved");
  };
  const items = rules.map((rule, index) => {
    const row = h(
      "li",
      { class: "rule", "data-rule": rule.id, "data-enabled": String(rule.enabled) },
      h("span", { class: "order" }, String(index + 1)),
      h("span", { class: "name" }, rule.name),
      h("span", { class: "category", t: `rule.category.${rule.category}` }),
      rule.actions?.intercept ? h("span", { cat: ["policy_actions", rule.actions.intercept.action] }) : null,
      h("span", { class: "state", t: rule.enabled ? "rule.on" : "rule.off" }),
    );
    if (!rule.editable) {
      row.append(h("span", { class: "locked", t: "rule.locked" }));
      return row;
    }
    const sameCategory = (other) => other?.category === rule.category;
    const enabled = h("input", { id: `enabled-${direction}-${rule.id}`, type: "checkbox", class: "enabled", checked: rule.enabled });
    enabled.addEventListener("change", () => write("PUT", `/rules/${encodeURIComponent(rule.id)}`, { ...ruleBody(rule), enabled: enabled.checked }, null, `[data-rule="${rule.id}"] .enabled`, "set.rule_saved"));
    const edit = () => {
      if (row.querySelector("form")) return;
      const form = ruleForm(
        ruleBody(rule),
        (body, f) => write("PUT", `/rules/${encodeURIComponent(rule.id)}`, body, f, `[data-rule="${rule.id}"] .edit`, "set.rule_saved"),
        () => {
          form.remove();
          row.querySelector(".edit").focus();
        },
      );
      row.append(form);
      form.querySelector("input").focus();
    };
    const remove = async () => {
      if (await confirmDialog(t("rule.delete_confirm", { name: rule.name }))) write("DELETE", `/rules/${encodeURIComponent(rule.id)}`, undefined, null, `#new-rule-${direction}`, "set.rule_deleted");
    };
    row.append(
      h("span", { class: "check" }, enabled, h("label", { for: enabled.id, t: "rule.enabled" })),
      h("button", { type: "button", class: "move-up", disabled: !sameCategory(rules[index - 1]), ta: { "aria-label": ["rule.up", { name: rule.name }] }, on: { click: () => move(index, -1) } }, "↑"),
      h("button", { type: "button", class: "move-down", disabled: !sameCategory(rules[index + 1]), ta: { "aria-label": ["rule.down", { name: rule.name }] }, on: { click: () => move(index, 1) } }, "↓"),
      h("button", { type: "button", class: "edit", ta: { "aria-label": ["rule.edit", { name: rule.name }] }, on: { click: edit } }, "✎"),
      h("button", { type: "button", class: "delete", ta: { "aria-label": ["rule.delete", { name: rule.name }] }, on: { click: remove } }, "🗑"),
    );
    return row;
  });
  const add = h("button", { type: "button", id: `new-rule-${direction}`, class: "new-rule", t: "rule.new" });
  add.addEventListener("click", () => {
    if (root.querySelector(".new-rule-form")) return;
    const form = ruleForm(
      NEW_RULE,
      (body, f) => write("POST", "/rules", body, f, `#new-rule-${direction}`, "set.rule_created"),
      () => {
        form.remove();
        add.focus();
      },
    );
    form.classList.add("new-rule-form");
    add.after(form);
    form.querySelector("input").focus();
  });
  root.replaceChildren(h("h3", { cat: ["directions", direction] }), h("p", { class: "hint", t: "rule.by_category" }), h("ol", { class: "rules" }, items), add);
  // Focus stays with the rule that moved; past the end of its category, on its edit button.
  const target = focus ? root.querySelector(focus) : null;
  (target?.disabled ? target.closest(".rule").querySelector(".edit") : target)?.focus();
}

export async function settingsScreen(root) {
  const status = h("div", { role: "status", "aria-live": "polite" });
  const sections = h("div", { class: "sections" });
  const inbound = h("section", { class: "rules-list", id: "rules-inbound" });
  const outbound = h("section", { class: "rules-list", id: "rules-outbound" });
  root.replaceChildren(h("h1", { t: "nav.settings" }), status, h("h2", { t: "set.policies" }), inbound, outbound, h("h2", { t: "set.sections" }), sections);
  const reload = () => settingsScreen(root);
  try {
    const schemas = await loadSchemas();
    const { data } = await call("GET", "/v1/config");
    Object.assign(state, data);
    const names = Object.keys(schemas.TenantConfig.properties).filter((name) => name !== "policies");
    sections.replaceChildren(versionLine(), ...names.map((name) => sectionForm(name, schemas, status, reload)));
    await Promise.all([rulesOf("inbound", inbound, status, schemas), rulesOf("outbound", outbound, status, schemas)]);
  } catch (error) {
    notice(status, error.message, "error");
  }
}
