// Forms built from the API's own OpenAPI schemas: objects, arrays, enums, nullable values and
// tagged unions (a rule's conditions, its intercept action). Every input carries data-path, the
// field's path as the API's error sentences write it, so an error goes beside its field.
import { call } from "./api.js";
import { h, uid } from "./dom.js";
import { cat, hasLabel, t } from "./i18n.js";

let schemas = null;

// The component schemas of the API, read once from its OpenAPI document.
export async function loadSchemas() {
  if (!schemas) schemas = (await call("GET", "/v1/openapi.json")).data.components.schemas;
  return schemas;
}

const refName = (schema) => schema?.$ref?.split("/").pop();
const resolve = (schema) => (schema?.$ref ? schemas[refName(schema)] : schema);
const child = (path, key) => (path ? `${path}.${key}` : key);

// Enum values with a vocabulary of the product's catalog are shown with its labels.
const VOCABULARIES = { ThreatType: "threat_types", SpamLevel: "spam_levels" };
function enumLabel(ref, value) {
  if (VOCABULARIES[ref]) return { cat: [VOCABULARIES[ref], value] };
  if (ref === "RuleCategory") return { t: `rule.category.${value}` };
  return hasLabel(`enum.${value}`) ? { t: `enum.${value}` } : {};
}

// An element labelled from the catalog, or with the API's own name when the catalog lacks one.
function named(tag, props, label, fallback) {
  return h(tag, { ...props, ...label }, label.t || label.cat ? null : fallback);
}

const propLabel = (tag, props, key) => named(tag, props, hasLabel(`prop.${key}`) ? { t: `prop.${key}` } : {}, key);
const enumOption = (tag, props, ref, value) => named(tag, props, enumLabel(ref, value), value);

function nullable(schema) {
  const options = schema.anyOf ?? [];
  const inner = options.filter((s) => s.type !== "null");
  return options.length > inner.length && inner.length === 1 ? inner[0] : null;
}

// One field: a label and its control, or a fieldset for a group. Returns {el, read}; read()
// gives the value to send, or undefined to leave the field out (the API's default applies).
export function field(schema, value, key, path) {
  const ref = refName(schema) ?? refName(nullable(schema) ?? {});
  const resolved = resolve(nullable(schema) ?? schema);
  const isNullable = Boolean(nullable(schema));
  if (resolved.const !== undefined) return { el: null, read: () => resolved.const };
  if (resolved.oneOf && resolved.discriminator) return union(resolved, value, key, path);
  if (resolved.type === "object" && resolved.properties) {
    return isNullable ? optionalGroup(resolved, value, key, path) : group(resolved, value, key, path);
  }
  if (resolved.type === "object" && resolved.propertyNames?.enum) return keyed(resolved, value, key, path);
  if (resolved.type === "array") return array(resolved, value, key, path);
  if (resolved.anyOf) return scalar({ type: "string" }, value, key, path, isNullable);
  return scalar(resolved, value, key, path, isNullable, ref);
}

function scalar(schema, value, key, path, isNullable, ref) {
  const id = uid(path || key || "field");
  if (schema.type === "boolean") {
    const input = h("input", { id, type: "checkbox", checked: Boolean(value ?? schema.default), "data-path": path });
    return { el: h("div", { class: "field check" }, input, propLabel("label", { for: id }, key)), read: () => input.checked };
  }
  let control;
  if (schema.enum) {
    const unset = isNullable ? [h("option", { value: "", t: "form.unset" })] : [];
    control = h("select", { id }, unset, schema.enum.map((v) => enumOption("option", { value: v, selected: v === (value ?? schema.default) }, ref, v)));
  } else if ((schema.maxLength ?? 0) > 500) {
    control = h("textarea", { id, rows: 4, value: value ?? schema.default ?? "" });
  } else {
    const numeric = schema.type === "integer" || schema.type === "number";
    const shown = value ?? schema.default;
    control = h("input", { id, type: numeric ? "number" : "text", inputmode: numeric ? "numeric" : undefined, value: shown === undefined || shown === null ? "" : String(shown) });
    if (numeric && schema.minimum !== undefined) control.min = String(schema.minimum);
    if (numeric && schema.maximum !== undefined) control.max = String(schema.maximum);
  }
  control.dataset.path = path;
  const read = () => {
    const raw = control.value;
    if (raw === "") return isNullable ? null : undefined;
    if (schema.type === "integer" || schema.type === "number") {
      const number = Number(raw);
      return Number.isFinite(number) ? number : raw; // the API names what is wrong with it
    }
    return raw;
  };
  return { el: h("div", { class: "field" }, propLabel("label", { for: id }, key), control), read };
}

function group(schema, value, key, path) {
  const entries = Object.entries(schema.properties).map(([name, sub]) => [name, field(sub, value?.[name], name, child(path, name))]);
  const body = entries.map(([, f]) => f.el);
  const el = key ? h("fieldset", { class: "group" }, propLabel("legend", {}, key), body) : h("div", { class: "group" }, body);
  const read = () => {
    const out = {};
    for (const [name, f] of entries) {
      const v = f.read();
      if (v !== undefined) out[name] = v;
    }
    return out;
  };
  return { el, read };
}

// A nullable group (a rate limit): a checkbox turns it on; off sends null.
function optionalGroup(schema, value, key, path) {
  const id = uid(path);
  const toggle = h("input", { id, type: "checkbox", checked: value !== null && value !== undefined, "data-path": path });
  const inner = group(schema, value ?? {}, null, path);
  inner.el.hidden = !toggle.checked;
  toggle.addEventListener("change", () => (inner.el.hidden = !toggle.checked));
  const el = h("fieldset", { class: "group" }, h("legend", {}, h("span", { class: "check" }, toggle, propLabel("label", { for: id }, key))), inner.el);
  return { el, read: () => (toggle.checked ? inner.read() : null) };
}

// An object keyed by an enum (reputation lists; actions per SPF result): each key on or off.
function keyed(schema, value, key, path) {
  const valueSchema = resolve(schema.additionalProperties);
  const entries = schema.propertyNames.enum.map((name) => {
    if (valueSchema.type === "boolean") return [name, field(valueSchema, value?.[name] ?? false, name, child(path, name))];
    return [name, optionalGroup(valueSchema, value?.[name], name, child(path, name))];
  });
  const el = h("fieldset", { class: "group" }, propLabel("legend", {}, key), entries.map(([, f]) => f.el));
  const read = () => Object.fromEntries(entries.map(([name, f]) => [name, f.read()]).filter(([, v]) => v !== null && v !== undefined));
  return { el, read };
}

function array(schema, value, key, path) {
  const items = resolve(schema.items);
  const values = value ?? [];
  if (items.enum) {
    // a set of choices: one checkbox each
    const boxes = items.enum.map((v) => {
      const id = uid(`${path}-${v}`);
      const box = h("input", { id, type: "checkbox", value: v, checked: values.includes(v), "data-path": path });
      return [v, box, h("span", { class: "check" }, box, enumOption("label", { for: id }, refName(schema.items), v))];
    });
    const el = h("fieldset", { class: "group" }, propLabel("legend", {}, key), boxes.map(([, , e]) => e));
    return { el, read: () => boxes.filter(([, box]) => box.checked).map(([v]) => v) };
  }
  if (items.type === "object" || items.oneOf) return repeated(schema, values, key, path);
  const id = uid(path);
  const area = h("textarea", { id, rows: 3, value: values.join("\n"), "data-path": path, "aria-describedby": `${id}-hint` });
  const el = h("div", { class: "field" }, propLabel("label", { for: id }, key), h("p", { class: "hint", id: `${id}-hint`, t: "set.one_per_line" }), area);
  const numeric = items.type === "integer";
  return { el, read: () => area.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => (numeric && Number.isFinite(Number(l)) ? Number(l) : l)) };
}

// A list of objects: each item a fieldset with a remove button; "Add" appends one.
function repeated(schema, values, key, path) {
  const list = h("ol", { class: "items" });
  const rows = [];
  const renumber = () =>
    rows.forEach((row, index) => {
      row.index = index;
      row.legend.replaceChildren(h("span", { t: ["form.item", { n: index + 1 }] }));
    });
  const add = (value) => {
    const row = { index: rows.length };
    // paths of an item are fixed when built; a removal rebuilds the items after it
    const built = field(schema.items, value, null, `${path}[${row.index}]`);
    row.legend = h("span", { class: "item-no" });
    row.read = built.read;
    row.el = h(
      "li",
      { class: "item" },
      h("div", { class: "item-head" }, row.legend, h("button", { type: "button", class: "remove", ta: { "aria-label": ["form.remove_item", { n: row.index + 1 }] }, t: "form.remove", on: { click: () => remove(row) } })),
      built.el,
    );
    rows.push(row);
    list.append(row.el);
    renumber();
    return row;
  };
  const remove = (row) => {
    const kept = rows.splice(row.index).slice(1).map((r) => r.read());
    for (const el of [...list.children].slice(row.index)) el.remove();
    for (const value of kept) add(value);
    const next = rows[row.index]?.el.querySelector("button");
    (next ?? addButton).focus();
  };
  const addButton = h("button", { type: "button", class: "add", ta: { "aria-label": ["form.add_to", { name: t(`prop.${key}`) }] }, t: "form.add", on: { click: () => add(undefined).el.querySelector("input, select, textarea")?.focus() } });
  for (const value of values) add(value);
  const el = h("fieldset", { class: "group" }, propLabel("legend", {}, key), list, addButton);
  return { el, read: () => rows.map((r) => r.read()) };
}

// A tagged union: a select of the variants, and the fields of the chosen one. The API's
// error paths name the variant (conditions[0].header_keywords.header), so do the fields'.
function union(schema, value, key, path) {
  const tag = schema.discriminator.propertyName;
  const variants = Object.keys(schema.discriminator.mapping);
  const ordered = schema.oneOf.map((s) => variants.find((v) => schema.discriminator.mapping[v] === s.$ref));
  const id = uid(path);
  const chosen = value?.[tag] ?? ordered[0];
  const select = h("select", { id, "data-path": path }, ordered.map((v) => h("option", { value: v, selected: v === chosen, t: `variant.${v}` })));
  const slot = h("div", { class: "variant" });
  let current;
  const show = (variant, data) => {
    current = field({ $ref: schema.discriminator.mapping[variant] }, data, null, child(path, variant));
    slot.replaceChildren(current.el);
  };
  show(chosen, value);
  select.addEventListener("change", () => show(select.value, undefined));
  const label = key ? propLabel("label", { for: id }, key) : h("label", { for: id, t: "form.kind" });
  const el = h("div", { class: "union" }, h("div", { class: "field" }, label, select), slot);
  return { el, read: () => ({ ...current.read(), [tag]: select.value }) };
}

// "config.limits.inbound.count_ip.window_s: …" names that field; "Unknown field 'x'." too.
export function errorPath(message) {
  const unknown = /^Unknown field '([^']+)'/.exec(message);
  if (unknown) return unknown[1];
  const match = /^([^\s:]+(?:\[[^\]]*\])*[^\s:]*): /.exec(message);
  return match ? match[1] : null;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    if (el.dataset.describedBy) el.setAttribute("aria-describedby", el.dataset.describedBy);
    else el.removeAttribute("aria-describedby");
  }
}

// The API's sentence beside the input whose path is the longest prefix of the one it names
// (after `strip`, the part of the path outside this form); at the form's top otherwise.
export function showError(form, message, strip = "") {
  clearErrors(form);
  let path = errorPath(message);
  const within = (p, whole = path) => whole !== null && (whole === p || whole.startsWith(`${p}.`) || whole.startsWith(`${p}[`));
  if (strip) path = within(strip) ? path.slice(strip.length).replace(/^\./, "") : null;
  const candidates = [...form.querySelectorAll("input[data-path], select[data-path], textarea[data-path]")].filter((el) => el.dataset.path !== "" && within(el.dataset.path));
  const input = candidates.sort((a, b) => b.dataset.path.length - a.dataset.path.length)[0];
  const id = uid("error");
  const note = h("p", { class: "field-error", id, role: "alert" }, message);
  if (!input) {
    form.prepend(note);
    note.tabIndex = -1;
    note.focus();
    return;
  }
  const hint = input.getAttribute("aria-describedby");
  if (hint) input.dataset.describedBy = hint;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", hint ? `${hint} ${id}` : id);
  (input.closest(".field, .check") ?? input.parentElement).append(note);
  for (let el = input.parentElement; el; el = el.parentElement) if (el.hidden) el.hidden = false;
  input.focus();
}
