// The inputs of the search forms: each reads its value for the API body and has a label.
import { h, uid } from "./dom.js";
import { limits, t, vocabulary } from "./i18n.js";

function labelled(name, labelKey, control, id, extra = []) {
  return h("div", { class: "field", "data-field": name }, h("label", { for: id, t: labelKey }), control, extra);
}

// Several values: Enter adds one, a pasted list adds each line; each has a remove button.
export function multiValue({ name, label, hint = "multi.hint", suggestions = null }) {
  const id = uid(name);
  const hintId = `${id}-hint`;
  const values = [];
  const chips = h("ul", { class: "chips", "aria-live": "polite" });
  const listId = suggestions ? `${id}-list` : null;
  const input = h("input", { id, type: "text", autocomplete: "off", "aria-describedby": hintId, list: listId });
  const add = (raw) => {
    const value = raw.trim();
    if (!value || values.includes(value)) return;
    values.push(value);
    const chip = h(
      "li",
      {},
      h("span", {}, value),
      h("button", {
        type: "button",
        class: "chip-remove",
        ta: { "aria-label": ["multi.remove", { value }] },
        on: {
          click: () => {
            values.splice(values.indexOf(value), 1);
            chip.remove();
            input.focus();
          },
        },
      }, "×"),
    );
    chips.append(chip);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      add(input.value);
      input.value = "";
    }
  });
  input.addEventListener("paste", (event) => {
    const text = event.clipboardData.getData("text");
    const lines = text.split(/[\r\n]+/).filter((line) => line.trim());
    if (lines.length > 1) {
      event.preventDefault();
      lines.forEach(add);
    }
  });
  const datalist = suggestions ? h("datalist", { id: listId }) : null;
  const el = labelled(name, label, input, id, [h("p", { class: "hint", id: hintId, t: hint }), chips, datalist]);
  return {
    name,
    el,
    suggest: (options) => datalist?.replaceChildren(...options.map((o) => h("option", { value: o }))),
    value: () => {
      if (input.value.trim()) {
        add(input.value);
        input.value = "";
      }
      return values.length ? [...values] : undefined;
    },
  };
}

export function text({ name, label, type = "text" }) {
  const id = uid(name);
  const input = h("input", { id, type, autocomplete: "off" });
  return { name, el: labelled(name, label, input, id), value: () => input.value.trim() || undefined };
}

// options: [value, labelSpec, text?] with labelSpec {t: key} or {cat: path}, or a plain text
export function select({ name, label, options, initial }) {
  const id = uid(name);
  const control = h("select", { id }, options.map(([value, spec, text]) => h("option", { value, ...spec, selected: value === initial }, text)));
  return {
    name,
    el: labelled(name, label, control, id),
    control,
    value: () => control.value,
    isDefault: () => control.value === options[0][0],
  };
}

export function checkbox({ name, label }) {
  const id = uid(name);
  const control = h("input", { id, type: "checkbox" });
  const el = h("div", { class: "field check", "data-field": name }, control, h("label", { for: id, t: label }));
  return { name, el, control, value: () => control.checked || undefined };
}

// Ticked codes of a vocabulary, optionally under headings (block reasons by group).
export function checks({ name, label, group, grouping = null }) {
  const boxes = [];
  const entries = Object.entries(vocabulary(group));
  const box = ([code]) => {
    const id = uid(`${name}-${code}`);
    const control = h("input", { id, type: "checkbox", value: code });
    boxes.push(control);
    return h("div", { class: "check" }, control, h("label", { for: id, cat: [group, code] }));
  };
  let body;
  if (grouping) {
    const heads = [...new Set(entries.map(([, e]) => e[grouping]))];
    body = heads.map((head) =>
      h("div", { class: "check-group" }, head ? h("p", { class: "group-head", t: `group.${head}` }) : null, entries.filter(([, e]) => e[grouping] === head).map(box)),
    );
  } else {
    body = entries.map(box);
  }
  const el = h("fieldset", { class: "field checks", "data-field": name }, h("legend", { t: label }), body);
  return { name, el, value: () => boxes.filter((b) => b.checked).map((b) => b.value) || undefined };
}

// Threat types, each with its subtypes once ticked (no subtype ticked: all of them).
export function threats({ name = "threats", label = "field.threats", objects = true }) {
  const picked = [];
  const types = vocabulary("threat_types");
  const rows = Object.entries(types).map(([type, info]) => {
    const id = uid(`threat-${type}`);
    const control = h("input", { id, type: "checkbox", value: type });
    const subtypeBoxes = Object.keys(info.subtypes).map((code) => {
      const subId = uid(`sub-${code}`);
      const sub = h("input", { id: subId, type: "checkbox", value: code });
      return [sub, h("div", { class: "check" }, sub, h("label", { for: subId, cat: ["threat_types", type, "subtypes", code] }))];
    });
    const subs = subtypeBoxes.length && objects
      ? h(
          "fieldset",
          { class: "subtypes", hidden: true },
          h("legend", { t: ["threats.subtypes", { type: ["threat_types", type] }] }),
          h("p", { class: "hint", t: "threats.all_subtypes" }),
          subtypeBoxes.map(([, el]) => el),
        )
      : null;
    control.addEventListener("change", () => {
      if (subs) subs.hidden = !control.checked;
    });
    picked.push({ type, control, subtypeBoxes });
    return h("div", { class: "threat" }, h("div", { class: "check" }, control, h("label", { for: id, cat: ["threat_types", type] })), subs);
  });
  const el = h("fieldset", { class: "field checks threats", "data-field": name }, h("legend", { t: label }), rows);
  return {
    name,
    el,
    value: () => {
      const chosen = picked.filter((p) => p.control.checked);
      if (!objects) return chosen.map((p) => p.type);
      return chosen.map((p) => ({ type: p.type, subtypes: p.subtypeBoxes.filter(([b]) => b.checked).map(([b]) => b.value) }));
    },
  };
}

function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

// Presets or a custom range in the browser's zone, sent with its offset (as UTC).
export function period() {
  const presets = limits().period_presets.map((p) => [p, { t: `period.${p}` }]);
  const choice = select({ name: "period", label: "field.period", options: [...presets, ["custom", { t: "period.custom" }]], initial: "24h" });
  const now = new Date();
  const startId = uid("start");
  const endId = uid("end");
  const start = h("input", { id: startId, type: "datetime-local", value: localInput(new Date(now.getTime() - 86400000)) });
  const end = h("input", { id: endId, type: "datetime-local", value: localInput(now) });
  const range = h(
    "div",
    { class: "range", hidden: true },
    h("div", { class: "field" }, h("label", { for: startId, t: "field.start" }), start),
    h("div", { class: "field" }, h("label", { for: endId, t: "field.end" }), end),
    h("p", { class: "hint", t: ["period.custom_hint", { days: limits().custom_range_days, retention: limits().retention_days }] }),
  );
  choice.control.addEventListener("change", () => {
    range.hidden = choice.control.value !== "custom";
  });
  const el = h("div", { class: "period", "data-field": "period" }, choice.el, range);
  return {
    name: "period",
    el,
    value: () => {
      if (choice.control.value !== "custom") return choice.control.value;
      const toIso = (input) => (input.value ? new Date(input.value).toISOString() : "");
      return { start: toIso(start), end: toIso(end) };
    },
  };
}

export const TLS_CHOICES = [
  ["any", { t: "choice.any" }],
  ["none", { t: "choice.none" }],
  ["TLSv1", {}, "TLS 1.0"],
  ["TLSv1.1", {}, "TLS 1.1"],
  ["TLSv1.2", {}, "TLS 1.2"],
  ["TLSv1.3", {}, "TLS 1.3"],
];
