// Charts of the current search, drawn with Observable Plot (axes, scales, projections)
// and d3 (brush, sky projections from d3-geo-projection): sky and Earth maps, coverage
// over time, quality histogram, processing status; the missions page.
/* global Plot, d3, topojson, state, STATUSES, STATUS_COLOURS, $, el, api, show, showError,
   bytes, go, chartCriteria, criteria, parseHash, ticket */
"use strict";

// Loaded by the first view that draws (the search page needs none); the maps' projections
// and outlines only by the sky page. d3 first: the others extend it or use it.
const LIBRARIES = {
  charts: ["vendor/d3-7.9.2/d3.min.js", "vendor/plot-0.6.17/plot.umd.min.js"],
  maps: ["vendor/d3-geo-projection-4.0.0/d3-geo-projection.min.js",
    "vendor/topojson-client-3.1.0/topojson-client.min.js"],
};
const loading = {};

function load(src) {  // downloads at once, runs in the order added (async = false)
  loading[src] = loading[src] || new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.async = false;
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error(`could not load ${src}`)));
    document.head.append(script);
  });
  return loading[src];
}

function libraries(maps = false) {
  const wanted = maps ? [...LIBRARIES.charts, ...LIBRARIES.maps] : LIBRARIES.charts;
  return Promise.all(wanted.map(load));
}

function periodStep(period) {
  return { year: d3.utcYear, month: d3.utcMonth, day: d3.utcDay, hour: d3.utcHour }[period];
}

function missionColour() {
  return { type: "categorical", domain: state.missions, scheme: "tableau10", legend: true };
}

// Mark each drawn element of Plot's marks with a test id (tests count what is drawn).
function tag(chart, markLabel, testid, selector) {
  for (const node of chart.querySelectorAll(`g[aria-label="${markLabel}"] ${selector}`)) {
    node.setAttribute("data-testid", testid);
  }
  return chart;
}

// A bar a period wide over centuries (a year in 2,000) is under a pixel: at least 2 px
// wide, about its own middle, so every period with data is seen.
function widen(chart, testid, least = 2) {
  for (const bar of chart.querySelectorAll(`[data-testid=${testid}]`)) {
    const width = Number(bar.getAttribute("width"));
    if (!(width < least)) continue;
    bar.setAttribute("x", String(Number(bar.getAttribute("x")) - (least - width) / 2));
    bar.setAttribute("width", String(least));
  }
  return chart;
}

// -- sky map ----------------------------------------------------------------------------

function skyLongitude(ra) {  // east to the left, as on the sky: RA 0h in the middle
  const lon = -ra;
  return lon < -180 ? lon + 360 : lon;
}

async function showSky(params) {
  show("sky");
  const query = chartCriteria(params);
  query.delete("projection");
  const projection = params.get("projection") === "mollweide" ? "mollweide" : "aitoff";
  $("#sky-projection").value = projection;
  const { signal, current } = ticket();
  try {
    const earth = api(`dashboard/earth?${query}`, signal);  // asked now, drawn after the sky
    earth.catch(() => {});  // (its failure is shown by drawEarth)
    const [sky] = await Promise.all([api(`dashboard/sky?${query}`, signal), state.ready, libraries(true)]);
    if (!current()) return;
    const points = sky.points.map((p) => ({ ...p, lon: skyLongitude(p.ra) }));
    $("#sky-count").textContent = sky.sampled
      ? `${sky.total} observation(s) with RA/Dec; an even sample of ${points.length} shown`
      : `${sky.total} observation(s) with RA/Dec`;
    const make = projection === "mollweide" ? d3.geoMollweide : d3.geoAitoff;
    // 12h sits on the map's left edge: written from there inwards, not centred on it (clipped).
    const hours = d3.range(0, 360, 30).map((ra) => ({ lon: skyLongitude(ra), lat: 0, text: `${ra / 15}h` }));
    const edge = hours.filter((h) => h.text === "12h");
    const inner = hours.filter((h) => h.text !== "12h");
    // The map is 960 wide, drawn at the page's width: on a phone a point of radius 3.5 would
    // be a pixel or two. The radius grows as the map shrinks (a few CSS pixels at least), and
    // a tap opens the nearest point within reach (below).
    const shrink = mapShrink($("#sky-map"));
    const radius = Math.min(12, (sky.sampled ? 2 : 3.5) * Math.min(shrink, 2.5));
    const decs = [-60, -30, 30, 60].map((dec) => ({ lon: 0, lat: dec, text: `${dec > 0 ? "+" : ""}${dec}°` }));
    const chart = Plot.plot({
      width: 960,
      height: 500,
      projection: { type: () => make(), domain: { type: "Sphere" }, inset: 4 },
      color: missionColour(),
      marks: [
        Plot.sphere({ fill: "#0f1b2a", stroke: "#5b6b7c" }),
        Plot.graticule({ stroke: "#8fa3b8", strokeOpacity: 0.35 }),
        Plot.text(inner, { x: "lon", y: "lat", text: "text", fill: "#c9d6e3", dy: 10, fontSize: 11 }),
        Plot.text(edge, { x: "lon", y: "lat", text: "text", fill: "#c9d6e3", dy: 10, dx: 3, fontSize: 11,
          textAnchor: "start" }),
        Plot.text(decs, { x: "lon", y: "lat", text: "text", fill: "#c9d6e3", dx: 14, fontSize: 11 }),
        Plot.dot(points, { x: "lon", y: "dec", fill: "mission", stroke: "#fff", strokeWidth: 0.5, r: radius }),
      ],
    });
    // One listener instead of a link and a tooltip per point: thousands of them are slow.
    // Plot draws the points in the data's order (all have positions).
    chart.querySelectorAll('g[aria-label="dot"] circle').forEach((circle, i) => {
      const index = typeof circle.__data__ === "number" ? circle.__data__ : i;  // Plot binds the index
      circle.setAttribute("data-testid", "sky-point");
      circle.setAttribute("data-index", String(index));
      circle.setAttribute("data-id", String(points[index].id));
    });
    const point = (event) => points[Number(event.target.getAttribute("data-index"))];
    const open = (event) => {
      const hit = event.target.matches("circle[data-id]") ? event.target : nearestPoint(chart, event, 16);
      if (hit) location.hash = `#/datasets/${hit.dataset.id}`;
    };
    // A finger opens on lifting: a touch browser skips the click of a first tap whose hover
    // changed the page (the hover line below), so the first tap on a point did nothing.
    chart.addEventListener("pointerup", (event) => { if (event.pointerType !== "mouse") open(event); });
    chart.addEventListener("click", (event) => { if (!event.pointerType || event.pointerType === "mouse") open(event); });
    chart.addEventListener("mouseover", (event) => {
      if (!event.target.matches("circle[data-index]")) return;
      const d = point(event);
      $("#sky-hover").textContent = `${d.id} ${d.mission} ${d.target || ""}: RA ${d.ra.toFixed(3)}°, Dec ${d.dec.toFixed(3)}°`;
    });
    $("#sky-map").replaceChildren(chart);
    const boxes = await earth;
    if (current()) await drawEarth(boxes, current);
  } catch (error) {
    if (!current()) return;
    for (const id of ["#sky-count", "#sky-hover", "#earth-count"]) $(id).textContent = "";  // nothing stale
    $("#sky-map").replaceChildren();
    $("#earth-map").replaceChildren();
    $("#earth").hidden = true;
    showError(error);
  }
}

// How many times smaller than drawn (960 wide) a map is shown: a phone's marks grow by it.
function mapShrink(container) {
  return Math.max(1, 960 / Math.max(300, container.clientWidth || 960));
}

// The drawn point nearest a click, within reach CSS pixels (a finger is not a mouse).
function nearestPoint(chart, event, reach) {
  let best = null, distance = reach;
  for (const circle of chart.querySelectorAll("circle[data-id]")) {
    const box = circle.getBoundingClientRect();
    const d = Math.hypot(box.x + box.width / 2 - event.clientX, box.y + box.height / 2 - event.clientY);
    if (d <= distance) { best = circle; distance = d; }
  }
  return best;
}

// -- Earth map: footprints of records with a geographic bounding box -------------------------

let land = null;  // world-atlas land outlines, fetched once

// A footprint's ring, from the service's bbox (longitudes -180..180, read as STAC items read
// them; west > east crosses the antimeridian). d3-geo draws spherical polygons: the ring runs
// clockwise (north along the west edge, then east) so it encloses the box, not the rest of the
// globe; east + 360 keeps a box across the antimeridian one narrow polygon, which d3 clips at
// the map's edge into two pieces. Edges follow parallels in 2° steps (a chord would cut across).
function footprint([west, south, east, north]) {
  const east2 = east < west ? east + 360 : east;
  const steps = Math.max(1, Math.ceil((east2 - west) / 2));
  const along = (lat, from, to) => d3.range(steps + 1).map((i) => [from + ((to - from) * i) / steps, lat]);
  return [[west, south], [west, north], ...along(north, west, east2), [east2, south],
    ...along(south, east2, west)];
}

// A box's area on the sphere (relative), to draw the large ones first and the small on top.
function boxArea([west, south, east, north]) {
  const wide = east < west ? east + 360 - west : east - west;
  return wide * Math.abs(Math.sin((north * Math.PI) / 180) - Math.sin((south * Math.PI) / 180));
}

async function drawEarth(earth, current) {
  $("#earth").hidden = earth.total === 0;
  const drawn = earth.footprints.length < earth.total ? ` (the newest ${earth.footprints.length} drawn)` : "";
  $("#earth-count").textContent = `${earth.total} observation(s) with a geographic bounding box${drawn}`;
  if (earth.total === 0) { $("#earth-map").replaceChildren(); return; }
  if (!land) {
    const atlas = await api("vendor/world-atlas-2.0.2/land-110m.json");
    land = topojson.feature(atlas, atlas.objects.land);
    if (!current()) return;
  }
  // A point, or a box with (next to) no width or height, or under a degree each way, has
  // no area to see or click: a marker. (NetCDF bounds of a point can differ by 1e-44.)
  const flat = ({ bbox: [west, south, east, north] }) => {
    const wide = east < west ? east + 360 - west : east - west, high = north - south;
    return wide < 0.05 || high < 0.05 || (wide < 1 && high < 1);
  };
  const shapes = earth.footprints.filter((f) => !flat(f))
    .sort((a, b) => boxArea(b.bbox) - boxArea(a.bbox))  // largest first: the smallest on top
    .map((f) => ({ type: "Feature", properties: f, geometry: { type: "Polygon", coordinates: [footprint(f.bbox)] } }));
  const markers = earth.footprints.filter(flat).map((f) => {
    const [west, south, east, north] = f.bbox;
    const lon = east < west ? (west + east + 360) / 2 : (west + east) / 2;
    return { ...f, lon: lon > 180 ? lon - 360 : lon, lat: (south + north) / 2 };
  });
  const markerRadius = Math.min(18, 6 * mapShrink($("#earth-map")));
  const chart = Plot.plot({
    width: 960, height: 500,
    projection: { type: "equal-earth", domain: { type: "Sphere" }, inset: 4 },
    color: missionColour(),
    marks: [
      Plot.sphere({ fill: "#e8f1f8", stroke: "#5b6b7c" }),
      Plot.graticule({ strokeOpacity: 0.2 }),
      Plot.geo(land, { fill: "#d9d4c7", stroke: "#a39b86", strokeWidth: 0.5 }),
      Plot.geo(shapes, { fill: (d) => d.properties.mission, fillOpacity: 0.25,
        stroke: (d) => d.properties.mission, strokeWidth: 1.2,
        href: (d) => `#/datasets/${d.properties.id}`, title: (d) => `${d.properties.id} ${d.properties.mission}` }),
      // Opaque, dark-edged and as large on a phone as on a laptop (the map is scaled to fit):
      // a point must stand out on boxes of its own mission's colour.
      Plot.dot(markers, { x: "lon", y: "lat", r: markerRadius, fill: "mission", fillOpacity: 1,
        stroke: "#1b2733", strokeWidth: 1.5 * markerRadius / 6,
        href: (d) => `#/datasets/${d.id}`, title: (d) => `${d.id} ${d.mission} (a point)` }),
    ],
  });
  const [sphere, , landMark, footprints] = chart.querySelectorAll('g[aria-label="geo"]');  // sphere, graticule, land, ours
  sphere.setAttribute("data-testid", "sphere");
  landMark.setAttribute("data-testid", "land");
  const dots = chart.querySelectorAll('g[aria-label="dot"] circle');
  for (const node of [...(footprints ? footprints.querySelectorAll("path") : []), ...dots]) {
    node.setAttribute("data-testid", "footprint");
    node.setAttribute("data-id", node.closest("a")?.getAttribute("href")?.split("/").pop() ?? "");
  }
  $("#earth-map").replaceChildren(chart);
}

// -- coverage over time, quality, status ------------------------------------------------------

function periodStart(text) {  // "2026", "2026-03", "2026-03-01", "2026-03-01T05"
  const [date, hour] = text.split("T");
  const [year, month, day] = date.split("-").map(Number);
  const start = new Date(0);  // not Date.UTC: it reads years 0-99 as 1900-1999
  start.setUTCFullYear(year, (month || 1) - 1, day || 1);
  start.setUTCHours(Number(hour || 0), 0, 0, 0);
  return start;
}

async function showCoverage(params) {
  show("coverage");
  const query = chartCriteria(params);
  const { signal, current } = ticket();
  try {
    // The service chooses the period from the search's time range or its missions' span,
    // so the resolution follows the zoom; the data is asked for while the libraries load.
    const [coverage, status] = await Promise.all([api(`dashboard/coverage/auto?${query}`, signal),
      api(`dashboard/status?${query}`, signal), libraries(), state.ready]);
    if (!current()) return;
    const period = coverage.period;
    const all = coverage.rows.map((r) => {
      const start = periodStart(r.period);
      return { ...r, start, end: periodStep(period).offset(start, 1) };
    });
    $("#coverage-period").textContent = `per ${period}`;
    $("#coverage-reset").hidden = !params.get("start") && !params.get("end");
    // A search with a time range finds the observations that overlap it, some of which
    // started long before it (or after it, for an end before their start): the chart shows
    // the range, its scales from what is drawn, and a note counts the others.
    const from = params.get("start") ? new Date(params.get("start")) : null;
    const until = params.get("end") ? new Date(params.get("end")) : null;
    const place = (r) => (from && r.end <= from ? "before" : until && r.start > until ? "after" : "inside");
    const rows = all.filter((r) => place(r) === "inside");
    let domain;
    if (from || until) {
      domain = [from || d3.min(rows, (r) => r.start) || until, until || d3.max(rows, (r) => r.end) || from];
      if (!(domain[0] < domain[1])) domain = undefined;
    }
    const outside = [];
    for (const [where, words] of [["before", "started before the range"], ["after", "started after the range"]]) {
      const them = all.filter((r) => place(r) === where);
      if (!them.length) continue;
      const n = d3.sum(them, (r) => r.observations);
      outside.push(`${n} observation(s) (${bytes(d3.sum(them, (r) => r.bytes))}) ${words}`);
    }
    $("#coverage-note").textContent = outside.length ? `${outside.join("; ")}: counted, not drawn.` : "";
    $("#coverage-note").hidden = !outside.length;
    for (const [target, field, label, format] of [
      ["#chart-coverage", "observations", "observations", (v) => String(v)],
      ["#chart-coverage-bytes", "bytes", "bytes", bytes],
    ]) {
      const chart = Plot.plot({
        width: 960, height: 240, marginLeft: 70, marginBottom: 36,
        x: { type: "utc", label: "observation time (UTC)", domain, nice: !domain },
        y: { label, grid: true, tickFormat: field === "bytes" ? bytes : "d",
          ticks: field === "bytes" ? undefined : Math.min(6, Math.max(1, ...peaks(rows))) },
        color: missionColour(),
        marks: [
          Plot.rectY(rows, { x1: "start", x2: "end", y: field, fill: "mission", insetLeft: 0.5, clip: true,
            title: (d) => `${d.period} ${d.mission}: ${format(d[field])} ${label}` }),
          Plot.ruleY([0]),
        ],
      });
      widen(tag(chart, "rect", "coverage-bar", "rect"), "coverage-bar");
      $(target).replaceChildren(chart);
      brush(chart, params);
    }
    drawQuality($("#chart-quality-search"), status.quality, status.unscored);
    drawStatus(status.counts);
  } catch (error) {
    if (!current()) return;
    for (const id of ["#chart-coverage", "#chart-coverage-bytes", "#chart-quality-search", "#chart-status",
      "#status-counts"]) $(id).replaceChildren();  // nothing stale under the error
    $("#coverage-note").hidden = true;
    $("#coverage-period").textContent = "";
    showError(error);
  }
}

function peaks(rows) {  // the stacked height of each period (integer ticks for counts)
  const sums = new Map();
  for (const r of rows) sums.set(r.period, (sums.get(r.period) || 0) + r.observations);
  return [...sums.values()];
}

// Drag across a coverage chart: the range becomes the search's time filter.
function brush(chart, params) {
  const x = chart.scale("x");
  const [left, right] = x.range;
  const plot = chart.tagName.toLowerCase() === "svg" ? chart : chart.querySelector(":scope > svg");
  const height = Number(plot.getAttribute("height"));
  const brushing = d3.brushX().extent([[left, 10], [right, height - 36]]).on("end", (event) => {
    if (!event.selection) return;
    const [from, to] = event.selection.map((px) => x.invert(px));
    const changed = new URLSearchParams(params);
    changed.set("start", from.toISOString().replace(/\.\d+Z$/, "Z"));
    changed.set("end", to.toISOString().replace(/\.\d+Z$/, "Z"));
    go("/coverage", changed);
  });
  d3.select(plot).append("g").attr("class", "brush").attr("data-testid", "coverage-brush").call(brushing);
}

// A count axis: whole-number ticks, and at least 0..1 (with every count 0, Plot's domain
// would be 0..0 and the bars drawn full height).
function countScale(counts) {
  const peak = Math.max(1, ...counts);
  return { grid: true, domain: [0, peak], ticks: Math.min(6, peak) };
}

function drawQuality(target, bins, unscored = 0) {
  const chart = Plot.plot({
    width: 460, height: 250, marginLeft: 50, marginTop: 32,
    x: { label: "quality score", domain: [0, 1], ticks: 10 },
    y: { label: "observations", ...countScale(bins.map((b) => b.count)) },
    marks: [
      Plot.rectY(bins, { x1: "low", x2: "high", y: "count", fill: "#0b6e99", insetLeft: 1, insetRight: 1,
        title: (d) => `${d.low.toFixed(1)}–${d.high.toFixed(1)}: ${d.count}` }),
      Plot.text(bins, { x: (d) => (d.low + d.high) / 2, y: "count", text: (d) => String(d.count), dy: -7,
        fontSize: 11 }),
      Plot.ruleY([0]),
    ],
  });
  const drawn = [tag(chart, "rect", "bar", "rect")];
  if (unscored) {  // records without a score are in no bin: say how many
    drawn.push(el("p", { class: "note", "data-testid": "quality-unscored",
      text: `${unscored} observation(s) without a quality score (not in the histogram)` }));
  }
  target.replaceChildren(...drawn);
}

function drawStatus(counts) {
  const rows = Object.entries(counts).map(([status, count]) => ({ status, count }));
  const chart = Plot.plot({
    width: 460, height: 220, marginLeft: 80, marginRight: 50,
    x: { label: "observations", ...countScale(rows.map((r) => r.count)) },
    y: { label: null, domain: rows.map((r) => r.status) },
    color: { domain: STATUSES, range: STATUS_COLOURS },
    marks: [
      Plot.barX(rows, { x: "count", y: "status", fill: "status" }),
      Plot.text(rows, { x: "count", y: "status", text: (d) => String(d.count), textAnchor: "start", dx: 4 }),
      Plot.ruleX([0]),
    ],
  });
  $("#chart-status").replaceChildren(tag(chart, "bar", "status-bar", "rect"));
  $("#status-counts").replaceChildren(...rows.map((r) => el("li", { "data-status": r.status },
    el("span", { class: `status status-${r.status}`, text: r.status }), ` ${r.count}`)));
}

// -- missions page ----------------------------------------------------------------------------

async function showMissions(mission) {
  show("missions");
  const { signal, current } = ticket();
  try {
    const [rows] = await Promise.all([api("summary", signal), libraries()]);
    if (!current()) return;
    const body = $("#missions tbody");
    body.replaceChildren();
    for (const row of rows) {
      const link = el("a", { href: `#/missions/${encodeURIComponent(row.mission_id)}`, text: row.mission_id });
      const cell = (label, text) => el("td", { "data-label": label, text });
      body.append(el("tr", { "data-testid": "mission-row" }, el("td", { "data-label": "mission" }, link),
        cell("observations", String(row.observations)), cell("bytes", bytes(row.total_bytes)),
        cell("mean quality", row.mean_quality === null ? "" : row.mean_quality.toFixed(3)),
        cell("calibrated", String(row.calibrated)), cell("from", (row.time_min || "").slice(0, 19)),
        cell("until", (row.time_max || "").slice(0, 19))));
    }
    const chosen = mission || (rows[0] && rows[0].mission_id);
    if (!chosen) return;
    $("#chart-title").textContent = `Mission ${chosen}`;
    const stats = await api(`stats?mission=${encodeURIComponent(chosen)}`, signal);
    if (!current()) return;
    // Months over more than ten years are hairlines: then the bars are years.
    const months = stats.per_month.map((m) => ({ ...m, start: periodStart(m.month) }));
    const span = months.length ? d3.utcYear.count(d3.min(months, (m) => m.start), d3.max(months, (m) => m.start)) : 0;
    const period = span > 10 ? "year" : "month";
    const bars = d3.rollups(months, (ms) => ({ observations: d3.sum(ms, (m) => m.observations),
      bytes: d3.sum(ms, (m) => m.bytes) }), (m) => (period === "year" ? m.month.slice(0, 4) : m.month))
      .map(([key, sums]) => {
        const start = periodStart(key);
        return { key, ...sums, start, end: periodStep(period).offset(start, 1) };
      });
    $("#chart-time-caption").textContent = `Observations per ${period}`;
    $("#chart-bytes-caption").textContent = `Bytes per ${period}`;
    const peak = Math.max(1, ...bars.map((b) => b.observations));
    for (const [target, field, format] of [["#chart-time", "observations", String], ["#chart-bytes", "bytes", bytes]]) {
      const chart = Plot.plot({
        width: 460, height: 220, marginLeft: 70,
        x: { type: "utc", label: `${period} (UTC)` },
        y: { label: field, grid: true, tickFormat: field === "bytes" ? bytes : "d",
          ticks: field === "bytes" ? undefined : Math.min(6, peak) },  // counts: whole numbers
        marks: [
          Plot.rectY(bars, { x1: "start", x2: "end", y: field, fill: "#0b6e99", insetLeft: 0.5,
            title: (d) => `${d.key}: ${format(d[field])}` }),
          Plot.ruleY([0]),
        ],
      });
      $(target).replaceChildren(widen(tag(chart, "rect", "bar", "rect"), "bar"));
    }
    drawQuality($("#chart-quality"), stats.quality, stats.unscored);
  } catch (error) {
    if (current()) showError(error);
  }
}
