// zarrlake catalog dashboard: plain JavaScript over the REST API, no build step.
"use strict";

const state = {
  params: new URLSearchParams(),   // the current search, without cursor
  cursors: [null],                 // cursor of each page shown so far (keyset paging)
  page: 0,
  sort: "observation_timestamp",
};

const $ = (selector) => document.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code}: ${body.description}`);
  return body;
}

function showError(error) {
  const box = $("#error");
  box.textContent = String(error.message || error);
  box.hidden = false;
}

function bytes(size) {
  if (size === null || size === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(size);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function when(text) {
  return text ? text.replace("T", " ").replace("Z", "").slice(0, 19) : "";
}

function show(view) {
  for (const id of ["search-view", "dataset-view", "missions-view"]) $(`#${id}`).hidden = id !== view;
  $("#error").hidden = true;
}

// -- search --------------------------------------------------------------------------

function formParams() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("#search-form"))) {
    if (value === "") continue;
    if (name === "start") params.set("start", `${value}T00:00:00Z`);
    else if (name === "end") params.set("end", `${value}T23:59:59Z`);
    else params.set(name, value);
  }
  params.set("sort", state.sort);
  return params;
}

function exportLinks() {
  const params = new URLSearchParams(state.params);
  params.delete("limit");
  params.set("format", "csv");
  $("#export-csv").href = `datasets/export?${params}`;
  params.set("format", "json");
  $("#export-json").href = `datasets/export?${params}`;
}

async function runSearch() {
  show("search-view");
  const params = new URLSearchParams(state.params);
  const cursor = state.cursors[state.page];
  if (cursor) params.set("cursor", cursor);
  try {
    const [page, total] = await Promise.all([
      api(`datasets?${params}`),
      state.page === 0 ? api(`datasets/count?${state.params}`) : Promise.resolve(null),
    ]);
    if (total) $("#result-count").textContent = `${total.count} observation(s)`;
    renderRows(page.items);
    state.cursors[state.page + 1] = page.next_cursor;
    $("#next-page").disabled = !page.next_cursor;
    $("#prev-page").disabled = state.page === 0;
    $("#page-number").textContent = `page ${state.page + 1}`;
    exportLinks();
  } catch (error) {
    showError(error);
  }
}

function renderRows(items) {
  const body = $("#results tbody");
  body.replaceChildren();
  for (const item of items) {
    const link = el("a", { href: `#/datasets/${item.id}`, "data-testid": "dataset-link", text: String(item.id) });
    const quality = item.data_quality_score === null ? "" : item.data_quality_score.toFixed(2);
    body.append(el("tr", { "data-testid": "result-row" },
      el("td", {}, link), el("td", { text: item.mission_id }), el("td", { text: item.satellite_name || "" }),
      el("td", { text: item.instrument_type || "" }), el("td", { text: item.target_object || "" }),
      el("td", { text: when(item.observation_timestamp) }), el("td", { text: quality }),
      el("td", { text: item.processing_status }), el("td", { text: bytes(item.file_size) }),
      el("td", { class: "path", text: item.file_path })));
  }
  for (const header of document.querySelectorAll("#results th[data-sort]")) {
    const name = header.dataset.sort;
    header.classList.toggle("sorted-asc", state.sort === name);
    header.classList.toggle("sorted-desc", state.sort === `-${name}`);
  }
}

function newSearch() {
  state.params = formParams();
  state.cursors = [null];
  state.page = 0;
  runSearch();
}

// -- one dataset -----------------------------------------------------------------------

async function showDataset(id) {
  show("dataset-view");
  try {
    const record = await api(`datasets/${id}`);
    $("#dataset-title").textContent = `Dataset ${record.id}: ${record.file_path}`;
    const fields = $("#dataset-fields tbody");
    fields.replaceChildren();
    for (const [key, value] of Object.entries(record)) {
      if (key === "status_history" || key === "links") continue;
      const text = value !== null && typeof value === "object" ? JSON.stringify(value, null, 1) : String(value ?? "");
      fields.append(el("tr", {}, el("th", { text: key }), el("td", {}, el("pre", { text }))));
    }
    const history = $("#status-history tbody");
    history.replaceChildren();
    for (const event of record.status_history) {
      history.append(el("tr", { "data-testid": "status-event" },
        el("td", { text: when(event.at) }), el("td", { text: event.old_status || "" }),
        el("td", { text: event.new_status }), el("td", { text: event.actor || "" }),
        el("td", { text: event.reason || "" })));
    }
    await drawLineage(record);
  } catch (error) {
    showError(error);
  }
}

async function drawLineage(record) {
  const depth = $("#lineage-depth").value;
  const lineage = await api(`datasets/${record.id}/related?depth=${depth}`);
  const parents = lineage.related.filter((e) => e.direction === "parent");
  const children = lineage.related.filter((e) => e.direction === "child");
  const levels = new Map();  // column offset -> entries
  for (const entry of parents) levels.set(-entry.depth, [...(levels.get(-entry.depth) || []), entry]);
  levels.set(0, [{ dataset: record, relationship_type: "" }]);
  for (const entry of children) levels.set(entry.depth, [...(levels.get(entry.depth) || []), entry]);
  const columns = [...levels.keys()].sort((a, b) => a - b);
  const rows = Math.max(...[...levels.values()].map((v) => v.length));
  const boxWidth = 150, boxHeight = 34, gapX = 60, gapY = 14;
  const width = columns.length * (boxWidth + gapX);
  const height = Math.max(1, rows) * (boxHeight + gapY) + 10;
  const canvas = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }));
  const defs = svg("defs");
  defs.append(marker);
  canvas.append(defs);
  const corner = new Map();  // "column:id" -> top-left corner of its box
  columns.forEach((column, ci) => {
    levels.get(column).forEach((entry, ri) => {
      const x = ci * (boxWidth + gapX) + 5;
      const y = ri * (boxHeight + gapY) + 5;
      const dataset = entry.dataset || {};
      corner.set(`${column}:${dataset.id}`, [x, y]);
      const group = svg("a", { href: `#/datasets/${dataset.id}`, "data-testid": "lineage-node" });
      group.append(svg("rect", { x, y, width: boxWidth, height: boxHeight, rx: 6,
        class: column === 0 ? "node current" : "node" }));
      const label = svg("text", { x: x + 8, y: y + 14 });
      label.textContent = `${dataset.id} ${dataset.mission_id || ""}`;
      const name = svg("text", { x: x + 8, y: y + 28, class: "small" });
      name.textContent = (dataset.file_path || "").split("/").pop().slice(0, 22);
      group.append(label, name);
      canvas.append(group);
    });
  });
  for (const column of columns.filter((c) => c !== 0)) {  // each entry: the link that reached it
    for (const entry of levels.get(column)) {
      const nearer = column < 0 ? column + 1 : column - 1;
      const here = corner.get(`${column}:${entry.dataset.id}`);
      const there = corner.get(`${nearer}:${entry.via}`);
      if (!here || !there) continue;
      const [from, to] = column < 0 ? [here, there] : [there, here];  // parent -> child
      const edge = svg("line", { x1: from[0] + boxWidth, y1: from[1] + boxHeight / 2, x2: to[0] - 2,
        y2: to[1] + boxHeight / 2, class: "edge", "marker-end": "url(#arrow)", "data-testid": "lineage-edge" });
      const tip = svg("title");
      tip.textContent = entry.relationship_type;
      edge.append(tip);
      canvas.append(edge);
    }
  }
  $("#lineage").replaceChildren(canvas);
}

// -- missions and charts ---------------------------------------------------------------

async function showMissions(mission) {
  show("missions-view");
  try {
    const rows = await api("summary");
    const body = $("#missions tbody");
    body.replaceChildren();
    for (const row of rows) {
      const link = el("a", { href: `#/missions/${encodeURIComponent(row.mission_id)}`, text: row.mission_id });
      body.append(el("tr", { "data-testid": "mission-row" }, el("td", {}, link),
        el("td", { text: String(row.observations) }), el("td", { text: bytes(row.total_bytes) }),
        el("td", { text: row.mean_quality === null ? "" : row.mean_quality.toFixed(3) }),
        el("td", { text: String(row.calibrated) }), el("td", { text: when(row.time_min) }),
        el("td", { text: when(row.time_max) })));
    }
    const chosen = mission || (rows[0] && rows[0].mission_id);
    if (!chosen) return;
    $("#chart-title").textContent = `Mission ${chosen}`;
    const stats = await api(`stats?mission=${encodeURIComponent(chosen)}`);
    barChart($("#chart-time"), stats.per_month.map((m) => [m.month, m.observations]), String);
    barChart($("#chart-quality"), stats.quality.map((b) => [b.low.toFixed(1), b.count]), String);
    barChart($("#chart-bytes"), stats.per_month.map((m) => [m.month, m.bytes]), bytes);
  } catch (error) {
    showError(error);
  }
}

function barChart(target, pairs, format) {
  const width = 360, height = 180, bottom = 40, top = 16;
  const canvas = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const largest = Math.max(1, ...pairs.map(([, v]) => v));
  const step = pairs.length ? width / pairs.length : width;
  pairs.forEach(([label, value], i) => {
    const barHeight = (height - bottom - top) * (value / largest);
    const x = i * step + 2;
    const bar = svg("rect", { x, y: height - bottom - barHeight, width: Math.max(1, step - 4),
      height: barHeight, class: "bar", "data-testid": "bar" });
    const tip = svg("title");
    tip.textContent = `${label}: ${format(value)}`;
    bar.append(tip);
    canvas.append(bar);
    if (pairs.length <= 12 || i % Math.ceil(pairs.length / 12) === 0) {
      const text = svg("text", { x: x + 2, y: height - bottom + 14, class: "small" });
      text.textContent = label;
      canvas.append(text);
    }
  });
  target.replaceChildren(canvas);
}

// -- wiring ------------------------------------------------------------------------------

function route() {
  const hash = location.hash || "#/";
  const dataset = hash.match(/^#\/datasets\/(\d+)$/);
  const mission = hash.match(/^#\/missions(?:\/(.+))?$/);
  if (dataset) showDataset(dataset[1]);
  else if (mission) showMissions(mission[1] && decodeURIComponent(mission[1]));
  else runSearch();
}

async function start() {
  try {
    const missions = await api("summary");
    const select = $("#search-form select[name=mission]");
    for (const row of missions) select.append(el("option", { value: row.mission_id, text: row.mission_id }));
  } catch (error) {
    showError(error);
  }
  $("#search-form").addEventListener("submit", (event) => { event.preventDefault(); location.hash = "#/"; newSearch(); });
  $("#next-page").addEventListener("click", () => { state.page += 1; runSearch(); });
  $("#prev-page").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); runSearch(); });
  $("#lineage-depth").addEventListener("change", route);
  for (const header of document.querySelectorAll("#results th[data-sort]")) {
    header.addEventListener("click", () => {
      const name = header.dataset.sort;
      state.sort = state.sort === name ? `-${name}` : name;
      newSearch();
    });
  }
  window.addEventListener("hashchange", route);
  state.params = formParams();
  route();
}

start();
