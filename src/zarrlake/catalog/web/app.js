// zarrlake catalog dashboard: plain JavaScript over the REST API, no build step.
// The view and the search live in the URL's hash (#/view?criteria), so every page is
// bookmarkable and Back/Forward replay it. Charts: charts.js; other views: views.js.
"use strict";

const DEFAULT_SORT = "-observation_timestamp";  // newest first
const SEARCH_VIEWS = ["search", "sky", "coverage"];  // views that show the search form
const STATUSES = ["raw", "processing", "processed", "failed", "archived"];
const STATUS_COLOURS = ["#7d8b99", "#2f7fd0", "#2e9a5a", "#c8362f", "#7b5ea7"];

const state = {
  missions: [],          // mission ids (the colour domain shared by every chart)
  summary: [],           // /summary rows
  cursors: new Map(),    // search (without cursor/page) -> cursor of each page seen
  current: null,         // the hash being shown
  ready: null,           // resolves once the missions are known
  visits: 0,             // views shown since the app was opened
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

async function api(path, signal) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, signal });
  if (!response.ok) {  // the service answers JSON errors; a path it does not know may not
    const body = await response.json().catch(() => ({ code: response.status, description: response.statusText }));
    const error = new Error(`${body.code}: ${body.description}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

// Each view's load takes a ticket: a newer load (another view, another search, another
// depth) aborts the older one's requests, and an answer that still arrives late is not
// drawn (current() is false), so the last thing asked for is what stays on the page.
let loads = 0;
let inFlight = null;
function ticket() {
  const mine = ++loads;
  if (inFlight) inFlight.abort();
  inFlight = new AbortController();
  const signal = inFlight.signal;
  return { signal, current: () => mine === loads };
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

function clearSearch() {  // no stale count, rows or pages under an error
  $("#result-count").textContent = "";
  $("#results tbody").replaceChildren();
  $("#next-page").disabled = true;
  $("#prev-page").disabled = true;
}

function statusBadge(status) {
  return el("span", { class: `status status-${status}`, "data-status": status, text: status });
}

// -- the URL: #/view?criteria ----------------------------------------------------------

function parseHash() {
  const hash = (location.hash || "#/").slice(1);
  const [path, query] = hash.split("?", 2);
  return { path: path || "/", params: new URLSearchParams(query || "") };
}

function go(path, params) {
  const query = params && [...params].length ? `?${params}` : "";
  location.hash = `#${path}${query}`;
}

// The search's criteria only: no paging, for counts and charts.
function criteria(params) {
  const copy = new URLSearchParams(params);
  copy.delete("cursor");
  copy.delete("page");
  if (!copy.has("sort")) copy.set("sort", DEFAULT_SORT);
  if (!copy.has("limit")) copy.set("limit", "25");
  return copy;
}

function chartCriteria(params) {
  const copy = criteria(params);
  copy.delete("sort");
  copy.delete("limit");
  return copy;
}

function timeInput(iso) {  // "2026-03-01T00:00:00Z" -> "2026-03-01T00:00" (ISO, 24-hour, UTC)
  if (!iso) return "";
  const text = iso.replace("Z", "").replace(" ", "T");
  if (text.length === 10) return `${text}T00:00`;
  return text.slice(16, 19) === ":00" || text.length < 19 ? text.slice(0, 16) : text.slice(0, 19);
}

function timeParam(text) {  // "2026-03-01", "2026-03-01 13:05" or "...T13:05:30" -> "...Z"
  const iso = text.replace(" ", "T").replace(/Z$/i, "");
  if (/^\d{4}-\d\d-\d\d$/.test(iso)) return `${iso}T00:00:00Z`;
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(iso)) return `${iso}:00Z`;
  return `${iso}Z`;  // anything else goes as typed: the service says what is wrong
}

function fillForm(params) {
  const form = $("#search-form");
  for (const field of form.elements) {
    if (!field.name) continue;
    const value = params.get(field.name);
    if (field.type === "checkbox") field.checked = value === "true";
    else if (field.name === "attr") field.value = params.getAll("attr").join("; ");
    else if (field.dataset.time !== undefined) field.value = timeInput(value);
    else if (field.name === "limit") field.value = value || "25";
    else field.value = value || "";
  }
  form.dataset.sort = params.get("sort") || DEFAULT_SORT;
  $("#sort-select").value = form.dataset.sort;
}

function formParams(sort) {
  const form = $("#search-form");
  const params = new URLSearchParams();
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === "checkbox") { if (field.checked) params.set(field.name, "true"); continue; }
    const value = field.value.trim();
    if (value === "") continue;
    if (field.name === "attr") {  // one attribute filter per "; "-separated part
      for (const part of value.split(";").map((p) => p.trim()).filter(Boolean)) params.append("attr", part);
      continue;
    }
    params.set(field.name, field.dataset.time !== undefined ? timeParam(value) : value);
  }
  params.set("sort", sort || form.dataset.sort || DEFAULT_SORT);
  return params;
}

function currentView() {
  const path = parseHash().path.replace(/^\//, "").split("/")[0];
  return SEARCH_VIEWS.includes(path) ? path : "search";
}

function viewPath(view) {
  return view === "search" ? "/" : `/${view}`;
}

function show(view) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== `${view}-view`;
  $("#search-panel").hidden = !SEARCH_VIEWS.includes(view);
  $("#error").hidden = true;
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    link.classList.toggle("active", link.dataset.view === view);
  }
}

function navLinks(params) {  // carry the search from view to view
  const query = chartCriteria(params);
  for (const view of SEARCH_VIEWS) {
    const link = $(`nav a[data-view=${view}]`);
    const carried = view === "search" ? criteria(params) : query;
    link.href = `#${viewPath(view)}${[...carried].length ? `?${carried}` : ""}`;
  }
}

// -- search ------------------------------------------------------------------------------

function exportLinks(params) {
  const query = criteria(params);
  query.delete("limit");
  query.set("format", "csv");
  $("#export-csv").href = `datasets/export?${query}`;
  query.set("format", "json");
  $("#export-json").href = `datasets/export?${query}`;
}

async function runSearch(params) {
  show("search");
  const query = criteria(params);
  const key = query.toString();
  const page = Math.max(1, Number(params.get("page") || 1));
  const cursors = state.cursors.get(key) || [null];
  state.cursors.set(key, cursors);
  const request = new URLSearchParams(query);
  if (params.get("cursor")) request.set("cursor", params.get("cursor"));
  cursors[page - 1] = params.get("cursor");
  exportLinks(params);
  const { signal, current } = ticket();
  try {
    // dashboard/count: /datasets/count kept by the service until the catalog changes
    // (counting 1M records takes half a second).
    const [result, total] = await Promise.all([api(`datasets?${request}`, signal),
      api(`dashboard/count?${chartCriteria(query)}`, signal)]);
    if (!current()) return;
    $("#result-count").textContent = `${total.count} observation(s)`;
    renderRows(result.items, query.get("sort"));
    cursors[page] = result.next_cursor;
    $("#next-page").disabled = !result.next_cursor;
    $("#prev-page").disabled = page === 1;
    $("#page-number").textContent = `page ${page}`;
  } catch (error) {
    if (!current()) return;
    clearSearch();
    showError(error);
  }
}

function turnPage(step) {
  const { params } = parseHash();
  const query = criteria(params);
  const page = Math.max(1, Number(params.get("page") || 1)) + step;
  const cursor = (state.cursors.get(query.toString()) || [null])[page - 1];
  if (page > 1 && cursor) { query.set("cursor", cursor); query.set("page", String(page)); }
  go("/", query);
}

function renderRows(items, sort) {
  const body = $("#results tbody");
  body.replaceChildren();
  for (const item of items) {
    const link = el("a", { href: `#/datasets/${item.id}`, "data-testid": "dataset-link", text: String(item.id) });
    const quality = item.data_quality_score === null ? "" : item.data_quality_score.toFixed(2);
    const cell = (label, value, attributes = {}) => el("td", { "data-label": label, ...attributes, text: value ?? "" });
    const missing = item.missing ? { class: "missing", "data-missing": "true", title: "the file is missing" } : {};
    body.append(el("tr", { "data-testid": "result-row", ...missing },
      el("td", { "data-label": "id" }, link), cell("mission", item.mission_id), cell("facility", item.satellite_name),
      cell("instrument", item.instrument_type), cell("target", item.target_object, { class: "wrap" }),
      cell("time (UTC)", when(item.observation_timestamp), { class: "time" }), cell("quality", quality),
      el("td", { "data-label": "status" }, statusBadge(item.processing_status)), cell("format", item.format),
      cell("size", bytes(item.file_size)),
      el("td", { "data-label": "path", class: "path" }, item.file_path || "",
        ...(item.missing ? [" ", el("span", { class: "missing-badge", "data-testid": "missing", text: "file missing" })] : []))));
  }
  $("#sort-select").value = sort;
  for (const header of document.querySelectorAll("#results th[data-sort]")) {
    const name = header.dataset.sort;
    header.classList.toggle("sorted-asc", sort === name);
    header.classList.toggle("sorted-desc", sort === `-${name}`);
    header.setAttribute("aria-sort", sort === name ? "ascending" : sort === `-${name}` ? "descending" : "none");
  }
}

// -- one dataset and its lineage -----------------------------------------------------------

async function showDataset(id, params) {
  show("dataset");
  const depth = params.get("depth") || "2";
  $("#lineage-depth").value = depth;
  const { signal, current } = ticket();
  try {
    const record = await api(`datasets/${id}`, signal);
    if (!current()) return;
    $("#dataset-title").textContent = `Dataset ${record.id}: ${record.file_path}`;
    const fields = $("#dataset-fields tbody");
    fields.replaceChildren();
    for (const [key, value] of Object.entries(record)) {
      if (key === "status_history" || key === "links") continue;
      const text = value !== null && typeof value === "object" ? JSON.stringify(value, null, 1) : String(value ?? "");
      const shown = key === "processing_status" ? statusBadge(value) : el("pre", { text });
      fields.append(el("tr", {}, el("th", { text: key }), el("td", {}, shown)));
    }
    const history = $("#status-history tbody");
    history.replaceChildren();
    for (const event of record.status_history) {
      history.append(el("tr", { "data-testid": "status-event" },
        el("td", { text: when(event.at) }), el("td", { text: event.old_status || "" }),
        el("td", {}, statusBadge(event.new_status)), el("td", { text: event.actor || "" }),
        el("td", { class: "wrap", text: event.reason || "" })));
    }
    if (!record.status_history.length) {
      history.append(el("tr", {}, el("td", { colspan: "5", class: "muted", "data-testid": "no-history",
        text: `no status changes recorded (${record.processing_status} since it was catalogued)` })));
    }
    $("#lineage").replaceChildren();
    const graph = await lineage(record, depth, signal);
    if (!current()) return;
    drawLineage(graph);
  } catch (error) {
    if (current()) showError(error);
  }
}

// The lineage graph: every dataset up to depth links away and every link between any two
// of them (GET /dashboard/lineage; /datasets/{id}/related gives each dataset once, with
// the one link that reached it, and would leave links between shown datasets out).
function lineage(record, depth, signal) {
  return api(`dashboard/lineage/${record.id}?depth=${depth}`, signal);
}

// Columns: parents to the left, children to the right. A node's column is its longest chain
// of shown links to the dataset (37 -> 41 -> 44 and 37 -> 44: 37 two columns left of 44, 41
// one), so every link runs left to right. Every edge has its own end points on the boxes'
// sides, its own arrowhead and its link type.
function columnsOf(graph) {
  const column = new Map([[graph.root, 0]]);
  const side = new Map(graph.nodes.map((n) => [n.id, n.direction]));
  for (const n of graph.nodes) if (n.id !== graph.root) column.set(n.id, n.direction === "parent" ? -n.depth : n.depth);
  for (let pass = 0; pass < graph.nodes.length; pass += 1) {  // relax; bounded (a cycle stops)
    let moved = false;
    for (const e of graph.edges) {
      if (!column.has(e.parent) || !column.has(e.child)) continue;
      if (side.get(e.parent) === "parent" && column.get(e.parent) > column.get(e.child) - 1) {
        column.set(e.parent, column.get(e.child) - 1); moved = true;
      } else if (side.get(e.child) === "child" && column.get(e.child) < column.get(e.parent) + 1) {
        column.set(e.child, column.get(e.parent) + 1); moved = true;
      }
    }
    if (!moved) break;
  }
  return column;
}

const LINEAGE_BOX = { width: 190, height: 44, gapX: 130, gapY: 26, pad: 8 };
const ARC_LANE = 16;  // the height of each lane of links that skip a column

function drawLineage(graph) {
  const { width: boxWidth, height: boxHeight, gapX, gapY, pad } = LINEAGE_BOX;
  const columnOf = columnsOf(graph);  // the service names each dataset once
  const levels = new Map();
  for (const n of graph.nodes) {
    const column = columnOf.get(n.id);
    levels.set(column, [...(levels.get(column) || []), n]);
  }
  const columns = [...levels.keys()].sort((a, b) => a - b);
  const rows = Math.max(...[...levels.values()].map((v) => v.length));
  // A link that skips a column arcs over the boxes between its ends, each in a lane of
  // its own above them (the shortest lowest): it never crosses a box nor its label one.
  const skips = graph.edges
    .map((e) => ({ e, span: Math.abs(columnOf.get(e.child) - columnOf.get(e.parent)) }))
    .filter((s) => s.span > 1)
    .sort((a, b) => a.span - b.span || a.e.id - b.e.id);
  const lanes = new Map(skips.map((s, i) => [s.e, i]));
  const above = skips.length ? 14 + ARC_LANE * skips.length : 0;
  const width = columns.length * (boxWidth + gapX) - gapX + 2 * pad;
  const height = rows * (boxHeight + gapY) - gapY + 2 * pad + above;
  const canvas = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "lineage" });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }));
  defs.append(marker);
  canvas.append(defs);
  const boxes = new Map();  // id -> {x, y, left, right}
  const fit = [];  // texts to fit into their box once drawn (measuring needs the page)
  columns.forEach((column, ci) => {
    const entries = levels.get(column);
    const offset = ((rows - entries.length) * (boxHeight + gapY)) / 2;
    entries.forEach((dataset, ri) => {
      const x = pad + ci * (boxWidth + gapX);
      const y = pad + above + offset + ri * (boxHeight + gapY);
      boxes.set(dataset.id, { x, y, left: 0, right: 0 });
      const group = svg("a", { href: `#/datasets/${dataset.id}`, "data-testid": "lineage-node", "data-id": String(dataset.id) });
      group.append(svg("rect", { x, y, width: boxWidth, height: boxHeight, rx: 6,
        class: dataset.id === graph.root ? "node current" : "node" }));
      const label = svg("text", { x: x + 8, y: y + 17 });
      label.textContent = `${dataset.id} ${dataset.mission_id || ""}`;
      const name = svg("text", { x: x + 8, y: y + 34, class: "small" });
      name.textContent = (dataset.file_path || "").split("/").pop();
      const tip = svg("title");
      tip.textContent = dataset.file_path || "";
      group.append(label, name, tip);  // the id first: the node's text starts with it
      canvas.append(group);
      fit.push(label, name);
    });
  });
  const edges = [];  // [from box, to box, link]
  for (const e of graph.edges) {
    const from = boxes.get(e.parent), to = boxes.get(e.child);
    if (from && to && from !== to) edges.push([from, to, e]);
  }
  const count = (box, side) => edges.filter((e) => e[side === "out" ? 0 : 1] === box).length;
  for (const [from, to, link] of edges) {  // spread each box's edge ends along its side
    const y1 = from.y + (boxHeight * (from.right + 1)) / (count(from, "out") + 1);
    const y2 = to.y + (boxHeight * (to.left + 1)) / (count(to, "in") + 1);
    from.right += 1;
    to.left += 1;
    const x1 = from.x + boxWidth, x2 = to.x - 1;
    let d = `M${x1},${y1} L${x2},${y2}`, labelX = (x1 + x2) / 2, labelY = (y1 + y2) / 2 - 5;
    if (lanes.has(link)) {  // up into its lane, along it, and down into the box
      const lane = pad + 6 + ARC_LANE * (skips.length - 1 - lanes.get(link));
      d = `M${x1},${y1} C${x1 + gapX / 2},${y1} ${x1 + gapX / 2},${lane} ${x1 + gapX},${lane} `
        + `L${x2 - gapX},${lane} C${x2 - gapX / 2},${lane} ${x2 - gapX / 2},${y2} ${x2},${y2}`;
      labelY = lane - 4;
    }
    const ends = { "data-x1": x1, "data-y1": y1, "data-x2": x2, "data-y2": y2 };
    const edge = svg("path", { d, ...ends, class: "edge", "marker-end": "url(#arrow)", "data-testid": "lineage-edge" });
    const tip = svg("title");
    tip.textContent = link.type;
    edge.append(tip);
    const label = svg("text", { x: labelX, y: labelY, class: "edge-label", "text-anchor": "middle",
      "data-testid": "lineage-edge-label" });
    label.textContent = link.type;
    canvas.append(edge, label);
  }
  const note = graph.nodes.length === 1
    ? [el("p", { class: "muted", "data-testid": "no-lineage", text: "No links to other datasets." })] : [];
  $("#lineage").replaceChildren(canvas, ...note);
  for (const text of fit) fitText(text, boxWidth - 16);
  const room = $("#lineage").clientWidth - 12;  // fit the window, down to a legible 75%
  canvas.dataset.scale = String(Math.min(1, Math.max(0.75, room / width)));
  zoomLineage(0);
  const here = boxes.get(graph.root);  // scrolled so the dataset itself is in view (phones)
  canvas.dataset.currentX = String(here.x + boxWidth / 2);
  canvas.dataset.currentY = String(here.y + boxHeight / 2);
  centreLineage();
}

// Shorten a text in the middle (keeping the file's extension) until it fits; the full
// name stays in the node's <title> tooltip.
function fitText(text, room) {
  const full = text.textContent;
  if (text.getComputedTextLength() <= room) return;
  let keep = full.length - 1;
  while (keep > 3) {
    const head = Math.ceil(keep * 0.6);
    text.textContent = `${full.slice(0, head)}…${full.slice(full.length - (keep - head))}`;
    if (text.getComputedTextLength() <= room) return;
    keep -= 1;
  }
}

function centreLineage() {
  const canvas = $("#lineage svg"), pane = $("#lineage");
  if (!canvas || canvas.dataset.currentX === undefined) return;
  const scale = Number(canvas.dataset.scale || 1);
  pane.scrollLeft = Math.max(0, Number(canvas.dataset.currentX) * scale - pane.clientWidth / 2);
  pane.scrollTop = Math.max(0, Number(canvas.dataset.currentY) * scale - pane.clientHeight / 2);
}

function zoomLineage(step) {
  const canvas = $("#lineage svg");
  if (!canvas) return;
  const scale = Math.min(2, Math.max(0.4, Number(canvas.dataset.scale || 1) + step));
  canvas.dataset.scale = String(scale);
  const [, , width, height] = canvas.getAttribute("viewBox").split(" ").map(Number);
  canvas.setAttribute("width", String(width * scale));
  canvas.setAttribute("height", String(height * scale));
  $("#lineage-zoom").textContent = `${Math.round(scale * 100)}%`;
}

// -- wiring --------------------------------------------------------------------------------

function route() {
  if (location.hash === state.current) return;
  state.current = location.hash;
  state.visits += 1;  // pages shown in this app (the first one may be a bookmark)
  const { path, params } = parseHash();
  const dataset = path.match(/^\/datasets\/(\d+)$/);
  const mission = path.match(/^\/missions(?:\/(.+))?$/);
  if (["/", "/sky", "/coverage"].includes(path)) {
    navLinks(params);
    state.ready.then(() => fillForm(params));  // once the missions are in the form
  }
  if (dataset) showDataset(dataset[1], params);
  else if (mission) showMissions(mission[1] && decodeURIComponent(mission[1]));
  else if (path === "/sky") showSky(params);
  else if (path === "/coverage") showCoverage(params);
  else if (path === "/problems") showProblems(params);
  else if (path === "/pipeline") showPipeline();
  else runSearch(params);
}

async function loadMissions() {
  try {
    state.summary = await api("summary");
    state.missions = state.summary.map((row) => row.mission_id);
    const select = $("#search-form select[name=mission]");
    for (const id of state.missions) select.append(el("option", { value: id, text: id }));
  } catch (error) {
    showError(error);
  }
}

function start() {
  state.ready = loadMissions();  // the views' own requests start meanwhile
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const view = currentView();
    const params = formParams();
    go(viewPath(view), view === "search" ? params : chartCriteria(params));
  });
  $("#next-page").addEventListener("click", () => turnPage(1));
  $("#prev-page").addEventListener("click", () => turnPage(-1));
  $("#lineage-depth").addEventListener("change", () => {
    const { path, params } = parseHash();
    params.set("depth", $("#lineage-depth").value);
    go(path, params);
  });
  $("#zoom-in").addEventListener("click", () => { zoomLineage(0.2); centreLineage(); });
  $("#zoom-out").addEventListener("click", () => { zoomLineage(-0.2); centreLineage(); });
  $("#back").addEventListener("click", (event) => {  // opened from a bookmark: to the search
    if (state.visits > 1) { event.preventDefault(); history.back(); }
  });
  $("#sort-select").addEventListener("change", () => go("/", formParams($("#sort-select").value)));
  for (const header of document.querySelectorAll("#results th[data-sort]")) {
    header.addEventListener("click", () => {
      const name = header.dataset.sort;
      const sort = $("#search-form").dataset.sort;
      go("/", formParams(sort === name ? `-${name}` : name));
    });
  }
  window.addEventListener("hashchange", route);
  route();
}

window.addEventListener("DOMContentLoaded", start);
