// Exports: the selected rows as a CSV download, "export all" as a task, and the task list.
import { call, request } from "./api.js";
import { h, notice } from "./dom.js";
import { getLocale, limits, t, timeZone } from "./i18n.js";

const QUOTA_HEADER = "X-Export-Quota-Remaining";

function quotaText(headers) {
  const left = headers.get(QUOTA_HEADER);
  return left === null ? null : t("ex.quota", { n: left, max: limits().exports_per_day });
}

function fileName(response, fallback) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : fallback;
}

// The two export buttons of a log screen. select(rows) turns selected rows into the API's ids.
export function exportButtons(ctx, log, select) {
  const quota = h("p", { class: "hint", "aria-live": "polite" });
  const body = (selected) => ({ log, query: ctx.query() ?? {}, select: selected, locale: getLocale(), time_zone: timeZone() });
  const exportSelected = async () => {
    const rows = ctx.selectedRows();
    if (!ctx.query() || !rows.length) return notice(ctx.status, t("ex.none_selected"), "error");
    try {
      const response = await request("POST", "/v1/exports", body(rows.map(select)));
      const blob = await response.blob();
      const link = h("a", { href: URL.createObjectURL(blob), download: fileName(response, `${log}.csv`), hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      quota.textContent = quotaText(response.headers) ?? "";
    } catch (error) {
      notice(ctx.status, error.message, "error");
    }
  };
  const exportAll = async () => {
    try {
      const { headers } = await call("POST", "/v1/exports", body(null));
      notice(ctx.status, t("ex.started"));
      quota.textContent = quotaText(headers) ?? "";
    } catch (error) {
      notice(ctx.status, error.message, "error");
    }
  };
  return [
    h("button", { type: "button", id: `${log}-export-selected`, t: "ex.selected", on: { click: exportSelected } }),
    h("button", { type: "button", id: `${log}-export-all`, t: "ex.all", on: { click: exportAll } }),
    quota,
  ];
}

export async function exportsScreen(root) {
  const status = h("div", { role: "status", "aria-live": "polite" });
  const quota = h("p", { class: "quota", id: "export-quota" });
  const list = h("div", {});
  const load = async () => {
    notice(status, t("loading"));
    try {
      const { data, headers } = await call("GET", "/v1/exports");
      quota.textContent = quotaText(headers) ?? "";
      const links = await Promise.all(
        data.tasks.map((task) => (task.status === "complete" ? call("GET", `/v1/exports/${encodeURIComponent(task.task_id)}`).then((r) => r.data.download_url) : null)),
      );
      notice(status, "");
      if (!data.tasks.length) return list.replaceChildren(h("p", { class: "empty", t: "ex.empty" }));
      list.replaceChildren(
        h(
          "div",
          { class: "table-wrap", tabindex: "0", role: "region", ta: { "aria-label": ["ex.tasks"] } },
          h(
            "table",
            {},
            h("thead", {}, h("tr", {}, ["ex.created", "ex.status", "ex.rows", "ex.file"].map((key) => h("th", { scope: "col", t: key })))),
            h(
              "tbody",
              {},
              data.tasks.map((task, i) =>
                h(
                  "tr",
                  {},
                  h("td", { time: task.created_at }),
                  h("td", {}, h("span", { cat: ["export_statuses", task.status] }), task.reason ? h("span", { class: "reason" }, ` ${task.reason}`) : null),
                  h("td", {}, task.rows ?? "", task.truncated ? h("span", { class: "hint", t: ["ex.truncated", { n: limits().export_all_max_rows }] }) : null),
                  h("td", {}, links[i] ? h("a", { href: links[i], class: "download", ta: { "aria-label": ["ex.download", { file: task.file_name }] } }, task.file_name) : task.file_name),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      notice(status, error.message, "error");
    }
  };
  root.replaceChildren(
    h("h1", { t: "nav.exports" }),
    quota,
    h("div", { class: "toolbar" }, h("button", { type: "button", id: "exports-refresh", t: "ex.refresh", on: { click: load } })),
    status,
    h("h2", { t: "ex.tasks" }),
    list,
  );
  await load();
}
