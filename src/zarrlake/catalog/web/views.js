// Operator views: problems (unreadable files, records with issues, missing files) and
// the pipeline (processing now, failed and why, recent status events).
/* global $, el, api, show, showError, when, statusBadge, go, parseHash, ticket */
"use strict";

function datasetLink(id) {
  return el("a", { href: `#/datasets/${id}`, text: String(id) });
}

const PROBLEM_FILTERS = { kind: "#problem-kind", mission: "#problem-mission", q: "#problem-text" };

function problemFilters(values) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) query.set(name, value);
  return query;
}

async function showProblems(params) {
  show("problems");
  const values = {};
  for (const [name, field] of Object.entries(PROBLEM_FILTERS)) {
    values[name] = params.get(name) || "";
    $(field).value = values[name];
  }
  const query = problemFilters(values);
  const csv = new URLSearchParams(query);
  csv.set("format", "csv");
  $("#problems-csv").href = `dashboard/problems?${csv}`;
  const { signal, current } = ticket();
  try {
    const { items } = await api(`dashboard/problems?${query}`, signal);
    if (!current()) return;
    $("#problems-count").textContent = `${items.length} problem(s)`;
    $("#problems tbody").replaceChildren(...items.map((item) => el("tr", { "data-testid": "problem-row", "data-kind": item.kind },
      el("td", { "data-label": "kind" }, el("span", { class: `kind kind-${item.kind}`, text: item.kind })),
      el("td", { "data-label": "id" }, datasetLink(item.id)),
      el("td", { "data-label": "mission", text: item.mission_id }),
      el("td", { "data-label": "path", class: "path", text: item.file_path }),
      el("td", { "data-label": "problem", class: "wrap", text: item.problem }),
      el("td", { "data-label": "updated", class: "time", text: when(item.last_updated) }))));
  } catch (error) {
    if (current()) showError(error);
  }
}

function pipelineRows(target, rows, cells) {
  $(target).replaceChildren(...rows.map((row) => el("tr", { "data-testid": "pipeline-row" }, ...cells(row))));
}

async function showPipeline() {
  show("pipeline");
  const { signal, current } = ticket();
  try {
    const pipe = await api("dashboard/pipeline", signal);
    if (!current()) return;
    const file = (row) => el("td", { "data-label": "path", class: "path", text: row.file_path });
    pipelineRows("#pipeline-processing tbody", pipe.processing, (row) => [
      el("td", { "data-label": "id" }, datasetLink(row.id)), el("td", { "data-label": "mission", text: row.mission_id }),
      file(row), el("td", { "data-label": "since", class: "time", text: when(row.last_updated) })]);
    pipelineRows("#pipeline-failed tbody", pipe.failed, (row) => [
      el("td", { "data-label": "id" }, datasetLink(row.id)), el("td", { "data-label": "mission", text: row.mission_id }),
      file(row), el("td", { "data-label": "why", class: "wrap reason", text: row.reason || "" }),
      el("td", { "data-label": "when", class: "time", text: when(row.last_updated) })]);
    pipelineRows("#pipeline-events tbody", pipe.events, (row) => [
      el("td", { "data-label": "when", class: "time", text: when(row.at) }),
      el("td", { "data-label": "id" }, datasetLink(row.dataset_id)),
      el("td", { "data-label": "from" }, row.old_status ? statusBadge(row.old_status) : ""),
      el("td", { "data-label": "to" }, statusBadge(row.new_status)),
      el("td", { "data-label": "by", text: row.actor || "" }),
      el("td", { "data-label": "why", class: "wrap", text: row.reason || "" })]);
    $("#pipeline-summary").textContent =
      `${pipe.processing.length} processing, ${pipe.failed.length} failed (newest first)`;
  } catch (error) {
    if (current()) showError(error);
  }
}

window.addEventListener("DOMContentLoaded", () => {
  const filterProblems = (event) => {
    event.preventDefault();
    const values = {};
    for (const [name, field] of Object.entries(PROBLEM_FILTERS)) values[name] = $(field).value.trim();
    go("/problems", problemFilters(values));
  };
  $("#problem-kind").addEventListener("change", filterProblems);
  $("#problem-filters").addEventListener("submit", filterProblems);
  $("#sky-projection").addEventListener("change", () => {
    const { params } = parseHash();
    params.set("projection", $("#sky-projection").value);
    go("/sky", params);
  });
  $("#coverage-reset").addEventListener("click", () => {
    const { params } = parseHash();
    params.delete("start");
    params.delete("end");
    go("/coverage", params);
  });
});
