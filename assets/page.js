"use strict";
// The live page. Everything charted is kept here, in the browser, for at
// most 15 minutes. On connecting it first asks the agent for the history it
// kept while others watched (nothing, when nobody did), so the charts open
// with the last minutes; then it asks for live samples.

// Errors are kept where a test (or a curious person) can read them.
window.__sondeErrors = [];
window.addEventListener("error", e => window.__sondeErrors.push(String(e.message)));
window.addEventListener("unhandledrejection", e => window.__sondeErrors.push(String(e.reason)));

const $ = id => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
// The token has been read: take it out of the address bar and the history,
// so it is not shown, bookmarked or shared by accident.
if (token) history.replaceState(null, "", location.pathname + location.hash);
const tokenQuery = token ? "?token=" + encodeURIComponent(token) : "";

// How often each reading is asked for: the socktop TUI's rates for its
// kinds, and the agent's cache TTLs for the others (asking faster would
// only get the same sample again).
const RATES = { metrics: 500, processes: 2000, disks: 5000, containers: 2000, disk_io: 2000, pressure: 2000, sensors: 2000, detail: 2000 };
// The longest window a chart shows, and so what is kept.
const KEEP_S = 15 * 60;
// A rate over a window longer than this is a since-boot average (the first
// sample after the agent starts): not drawn as if it were now.
const FRESH_WINDOW_MS = 60 * 1000;
// Charts draw this many series at most: the largest over the window.
const TOP_SERIES = 8;
// Samples further apart than this (and than three times the spacing
// before) leave a gap: nobody was watching, and a line would invent data.
const GAP_S = 30;
// New and exited processes stay marked this long.
const MARK_MS = 6000;

const state = {
  sort: "cpu", desc: true, filter: "", tree: false, rows: [], count: 0, windowS: 300, updates: 0,
  // The extra columns asked for over HTTP while shown: each process's disk
  // bytes/s and GPU %, by pid.
  io: false, net: false, gpu: false, ioByPid: new Map(), netByPid: new Map(), gpuByPid: new Map(), columnsTimer: null,
  prevNet: null, lastMetricsAt: 0, seen: null, firstSeen: new Map(), gone: new Map(), detail: null,
  // Readings this host does not have (no PSI, no fans, no disks) or this
  // agent does not serve: not asked for again while the page is open.
  unneeded: new Set(),
};
window.__sondeUnneeded = state.unneeded;

// ---- formatting ------------------------------------------------------------

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
function bytes(n) {
  if (n == null) return "–";
  let i = 0;
  while (Math.abs(n) >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  return (i && Math.abs(n) < 10 ? n.toFixed(1) : n.toFixed(0)) + " " + UNITS[i];
}
// A field summed over rows; null when no row has it (a first answer).
const sum = (rows, k) => rows.some(r => r[k] != null) ? rows.reduce((a, r) => a + (r[k] || 0), 0) : null;
const FORMATS = {
  bytes,
  rate: n => n == null ? "–" : bytes(n) + "/s",
  pct: n => n == null ? "–" : n.toFixed(n < 10 ? 1 : 0) + " %",
  celsius: n => n == null ? "–" : n.toFixed(0) + " °C",
  rpm: n => n == null ? "–" : n.toFixed(0) + " rpm",
};
function esc(s) { return String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); }
function bar(pct) { return `<div class="bar"><div style="width:${Math.max(0, Math.min(100, pct)).toFixed(1)}%"></div></div>`; }
// The last statuses shown, for tests (a state may last less than a look).
window.__sondeStatus = [];
function status(text, bad) {
  const s = $("status"); s.textContent = text; s.className = bad ? "bad" : "";
  window.__sondeStatus.push(text); if (window.__sondeStatus.length > 50) window.__sondeStatus.shift();
}
function show(id, visible) { const el = $(id); if (el.hidden === visible) el.hidden = !visible; }
function clock(t) { return new Date(t * 1000).toLocaleTimeString(); }
// A time axis label: hours and minutes, with seconds on short spans.
function tick(t, span) {
  const parts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return new Date(t * 1000).toLocaleTimeString([], span > 600 ? parts : { ...parts, second: "2-digit" });
}
// Where a chart's time axis starts: the chosen window back from now, or,
// while the page has been open for less, its first sample (30 s at least).
function windowStart(first, now) { return Math.max(now - state.windowS, Math.min(first, now - 30)); }

// ---- series kept in the page ----------------------------------------------

// Samples of named series over time: one time column, one value column per
// name (null where a sample lacks it), trimmed to the longest window.
class Series {
  constructor() { this.t = []; this.cols = new Map(); }
  push(t, values) {
    if (this.t.length && t <= this.t[this.t.length - 1]) return false;
    if (gapBefore(this.t, t)) { this.t.push(this.t[this.t.length - 1] + 0.001); for (const col of this.cols.values()) col.push(null); }
    const n = this.t.length;
    this.t.push(t);
    for (const key of Object.keys(values)) if (!this.cols.has(key)) this.cols.set(key, new Array(n).fill(null));
    for (const [key, col] of this.cols) col.push(values[key] ?? null);
    let cut = 0;
    while (cut < this.t.length && this.t[cut] < t - KEEP_S) cut++;
    if (cut) {
      this.t.splice(0, cut);
      for (const [key, col] of this.cols) { col.splice(0, cut); if (col.every(v => v == null)) this.cols.delete(key); }
    }
    return true;
  }
  // The names with the largest values over the last `windowS` seconds.
  top(windowS, n) {
    const from = this.t.findIndex(x => x >= this.t[this.t.length - 1] - windowS);
    const peak = [...this.cols].map(([key, col]) => {
      let max = -Infinity;
      for (let i = Math.max(0, from); i < col.length; i++) if (col[i] != null && col[i] > max) max = col[i];
      return [key, max];
    }).filter(([, max]) => max > -Infinity);
    peak.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return peak.slice(0, n).map(([key]) => key).sort();
  }
}

// Whether a sample at `t` after the times `ts` is after a time nobody watched.
function gapBefore(ts, t) {
  const n = ts.length;
  if (!n) return false;
  const spacing = n > 1 ? ts[n - 1] - ts[n - 2] : 0;
  return t - ts[n - 1] > Math.max(GAP_S, 3 * spacing);
}

// ---- charts ----------------------------------------------------------------

const PALETTE = ["#2f81f7", "#e3882b", "#2da44e", "#cf4f4f", "#8a63d2", "#1b9aaa", "#d6469b", "#b08800", "#6e7781", "#57ab5a"];
function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
const charts = {};
window.__sondeCharts = charts;

// A tooltip with the time and each series' value where the cursor is.
function tooltip(format) {
  let tip;
  return {
    hooks: {
      init: u => { tip = document.createElement("div"); tip.className = "tip"; tip.hidden = true; u.over.appendChild(tip); },
      // A tooltip placed for the old size would stick out of the new one.
      setSize: () => { tip.hidden = true; },
      setCursor: u => {
        const i = u.cursor.idx;
        if (i == null || u.cursor.left < 0) { tip.hidden = true; return; }
        const rows = u.series.slice(1).map((s, k) => [s, u.data[k + 1][i]]).filter(([s, v]) => s.show && v != null)
          .map(([s, v]) => `<div><i style="background:${s._stroke || s.stroke}"></i>${esc(s.label)} <b>${format(v)}</b></div>`);
        tip.innerHTML = `<div class="dim">${clock(u.data[0][i])}</div>` + rows.join("");
        tip.hidden = false;
        const left = u.cursor.left, width = u.over.clientWidth;
        tip.style.left = Math.max(0, Math.min(width - tip.offsetWidth, left > width / 2 ? left - tip.offsetWidth - 10 : left + 10)) + "px";
        tip.style.top = Math.max(0, u.cursor.top - tip.offsetHeight / 2) + "px";
      },
    },
  };
}

// One chart: a uPlot over a Series, showing the chosen window, remade when
// its set of series or the colour scheme changes.
class Chart {
  constructor(id, title, unit, opts = {}) {
    this.el = $(id); this.title = title; this.unit = unit; this.format = FORMATS[unit];
    this.max = opts.max; this.keys = null; this.u = null; this.series = opts.series || new Series();
    charts[id.replace(/^chart-/, "")] = this;
    new ResizeObserver(() => { if (this.u) this.u.setSize(this.size()); }).observe(this.el);
  }
  size() { return { width: Math.max(200, this.el.clientWidth), height: 150 }; }
  build(keys) {
    if (this.u) this.u.destroy();
    this.el.textContent = "";
    const fg = css("--dim"), grid = css("--grid"), format = this.format;
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: "11px system-ui, sans-serif" };
    const wide = this.unit === "bytes" || this.unit === "rate" || this.unit === "rpm";
    this.u = new uPlot({
      ...this.size(),
      title: this.title,
      series: [{ value: (u, t) => t == null ? "" : clock(t) }].concat(keys.map((key, i) => ({
        label: key, stroke: PALETTE[i % PALETTE.length], width: 1.5, points: { show: false },
        fill: keys.length === 1 ? PALETTE[0] + "22" : undefined, value: (u, v) => format(v),
      }))),
      axes: [{ ...axis, space: 70, values: (u, splits) => splits.map(t => tick(t, u.scales.x.max - u.scales.x.min)) },
        { ...axis, size: wide ? 78 : 56, values: (u, splits) => splits.map(v => format(v)) }],
      scales: { y: { range: (u, lo, hi) => [0, this.max ?? Math.max(hi || 0, this.unit === "pct" ? 1 : 1) * 1.05] } },
      legend: { live: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      plugins: [tooltip(format)],
    }, this.data(keys), this.el);
    this.u.root.querySelector(".u-title").style.cssText = "font-size:12px;font-weight:600;text-align:left;color:" + fg;
    this.keys = keys;
  }
  data(keys) { return [this.series.t, ...keys.map(k => this.series.cols.get(k))]; }
  // Redraws with the series' latest samples.
  draw() {
    if (!this.series.t.length) return;
    const keys = this.series.top(state.windowS, TOP_SERIES);
    if (!keys.length) return;
    if (!this.u || keys.join("\0") !== this.keys.join("\0")) this.build(keys);
    const now = this.series.t[this.series.t.length - 1];
    this.u.batch(() => {
      this.u.setData(this.data(keys), false);
      this.u.setScale("x", { min: windowStart(this.series.t[0], now), max: now });
    });
  }
  // Whether it has drawn: a series with two or more samples, for the tests.
  drawn() { return !!this.u && this.u.data.slice(1).some(col => col.filter(v => v != null).length >= 2); }
  rebuild() { if (this.keys) { this.build(this.keys); this.draw(); } }
}

// Each core's busy share over time, one row a core: the shape of the load
// (one hot core, all busy) at a glance, where a line per core would be noise.
class Heat {
  constructor(id) { this.canvas = $(id); this.t = []; this.rows = []; }
  push(t, cores) {
    if (this.t.length && t <= this.t[this.t.length - 1]) return;
    if (gapBefore(this.t, t)) { this.t.push(this.t[this.t.length - 1] + 0.001); this.rows.push(null); }
    this.t.push(t); this.rows.push(cores);
    while (this.t.length && this.t[0] < t - KEEP_S) { this.t.shift(); this.rows.shift(); }
  }
  draw() {
    const c = this.canvas, n = this.t.length;
    if (!n) return;
    const now = this.t[n - 1], start = windowStart(this.t[0], now), span = now - start;
    const from = Math.max(0, this.t.findIndex(x => x >= start));
    const cores = this.rows[n - 1].length, width = Math.max(1, Math.min(c.clientWidth || 300, 600));
    if (c.width !== width || c.height !== cores) {
      c.width = width; c.height = cores;
      // A row of at least a pixel or two for each core, up to 128 of them.
      c.style.height = Math.min(256, Math.max(40, cores * 2)) + "px";
    }
    const img = c.getContext("2d").createImageData(width, cores);
    const base = hex(css("--line")), hot = hex(css("--accent"));
    for (let x = 0; x < width; x++) {
      // The sample nearest this column's time.
      const at = start + (x + 0.5) * span / width;
      let i = from; while (i < n - 1 && this.t[i + 1] <= at) i++;
      const row = this.t[i] <= at + span / width ? this.rows[i] : null;
      for (let y = 0; y < cores; y++) {
        const v = row ? Math.min(1, (row[y] || 0) / 100) : 0, o = (y * width + x) * 4;
        for (let k = 0; k < 3; k++) img.data[o + k] = base[k] + (hot[k] - base[k]) * v;
        img.data[o + 3] = row ? 255 : 40;
      }
    }
    c.getContext("2d").putImageData(img, 0, 0);
  }
}
function hex(color) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(color) || [0, "80", "80", "80"];
  return [1, 2, 3].map(i => parseInt(m[i], 16));
}

const heat = new Heat("heat");
const C = {
  cpu: new Chart("chart-cpu", "busy, % of all CPUs", "pct", { max: 100 }),
  memory: new Chart("chart-memory", "in use", "bytes"),
  net: new Chart("chart-net", "receive and transmit", "rate"),
  diskIo: new Chart("chart-disk-io", "read and write", "rate"),
  diskBusy: new Chart("chart-disk-busy", "busy", "pct", { max: 100 }),
  pressure: new Chart("chart-pressure", "stalled", "pct"),
  gpuUtil: new Chart("chart-gpu-util", "utilisation", "pct", { max: 100 }),
  gpuMemory: new Chart("chart-gpu-memory", "memory used", "bytes"),
  gpuTemp: new Chart("chart-gpu-temp", "temperature", "celsius"),
  temps: new Chart("chart-temps", "°C", "celsius"),
  fans: new Chart("chart-fans", "speed", "rpm"),
  containersCpu: new Chart("chart-containers-cpu", "CPU, % of all CPUs", "pct"),
  containersMemory: new Chart("chart-containers-memory", "memory", "bytes"),
  detailCpu: new Chart("chart-detail-cpu", "CPU, % of all CPUs", "pct"),
  detailMemory: new Chart("chart-detail-memory", "resident memory", "bytes"),
};
function drawAll() { heat.draw(); for (const c of Object.values(C)) if (!c.el.closest("[hidden]")) c.draw(); }

// ---- readings --------------------------------------------------------------

function showMetrics(m) {
  state.updates++;
  $("updates").textContent = state.updates;
  $("cpu-total").textContent = m.cpu_total.toFixed(1) + " %";
  $("load").textContent = m.load_avg ? m.load_avg.map(l => l.toFixed(2)).join(" ") : "–";
  $("temp").textContent = m.cpu_temp_c != null ? ` · CPU ${m.cpu_temp_c.toFixed(0)} °C` : "";
  $("memory-figure").textContent = m.mem_total ? (100 * m.mem_used / m.mem_total).toFixed(0) + " %" : "–";
  $("memory").innerHTML = `memory ${bytes(m.mem_used)} of ${bytes(m.mem_total)}` +
    (m.swap_total ? ` · swap ${bytes(m.swap_used)} of ${bytes(m.swap_total)}` : " · no swap") + ` · ${m.process_count} processes`;
  // A cached sample comes back unchanged: nothing new to chart.
  if (m.sampled_at_ms === state.lastMetricsAt) return;
  state.lastMetricsAt = m.sampled_at_ms;
  chartMetrics(m);
  showGpus(m.gpus);
  drawAll();
}
// Charts one metrics sample (live, or rebuilt from the history).
function chartMetrics(m) {
  const t = m.sampled_at_ms / 1000;
  C.cpu.series.push(t, { "all CPUs": m.cpu_total });
  heat.push(t, m.cpu_per_core);
  C.memory.series.push(t, Object.assign({ memory: m.mem_used }, m.swap_total ? { swap: m.swap_used } : {}));
  showNetwork(m, t);
  chartGpus((m.gpus || []).map(g => ({ label: `${g.index} ${g.name}`, usage: g.usage, memory_used: g.memory_used, temp_c: g.temp_c })), t);
  const temps = m.temps || [];
  show("temps-section", temps.length > 0 || C.temps.series.t.length > 0);
  if (temps.length) C.temps.series.push(t, Object.fromEntries(temps.map(x => [x.label, x.celsius])));
}
function showNetwork(m, t) {
  const prev = state.prevNet, values = {}, rows = [];
  for (const n of m.networks) {
    const p = prev && prev.nets[n.name], dt = prev ? t - prev.at : 0;
    // No rate across a time nobody watched: it would be an average drawn as now.
    if (!p || dt <= 0 || dt > GAP_S) continue;
    const rx = Math.max(0, n.received - p.rx) / dt, tx = Math.max(0, n.transmitted - p.tx) / dt;
    rows.push(`<tr><td>${esc(n.name)}</td><td class="num">${FORMATS.rate(rx)}</td><td class="num">${FORMATS.rate(tx)}</td></tr>`);
    // An interface that never carried a byte is left off the chart.
    if (n.received + n.transmitted > 0) { values[n.name + " ↓"] = rx; values[n.name + " ↑"] = tx; }
  }
  state.prevNet = { at: t, nets: Object.fromEntries(m.networks.map(n => [n.name, { rx: n.received, tx: n.transmitted }])) };
  if (rows.length) $("net").tBodies[0].innerHTML = rows.join("");
  if (Object.keys(values).length) C.net.series.push(t, values);
}
function chartGpus(gpus, t) {
  if (!gpus.length) return;
  show("gpu-section", true);
  const util = {}, mem = {}, temp = {};
  for (const g of gpus) {
    if (g.usage != null) util[g.label] = g.usage;
    if (g.memory_used != null) mem[g.label] = g.memory_used;
    if (g.temp_c != null) temp[g.label] = g.temp_c;
  }
  // A reading no GPU gives has no chart (not a line at zero).
  for (const [chart, values] of [[C.gpuUtil, util], [C.gpuMemory, mem], [C.gpuTemp, temp]]) {
    chart.el.hidden = !Object.keys(values).length && !chart.series.t.length;
    if (Object.keys(values).length) chart.series.push(t, values);
  }
}
function showGpus(gpus) {
  gpus = gpus || [];
  show("gpu-section", gpus.length > 0);
  show("gpu-toggle", gpus.length > 0);
  if (!gpus.length) return;
  const name = g => `${g.index} ${g.name}`;
  $("gpus").innerHTML = gpus.map(g => `<div>${esc(name(g))} <span class="dim">${esc(g.state)}` +
    (g.power_w != null ? ` · ${g.power_w.toFixed(0)} W` : "") + (g.memory_total != null ? ` · ${bytes(g.memory_total)}` : "") +
    (g.processes && g.processes.length ? ` · ${g.processes.length} processes` : "") + `</span></div>`).join("");
  C.gpuMemory.max = Math.max(...gpus.map(g => g.memory_total || 0)) || undefined;
}
function showDiskIo(r) {
  const devices = r.devices || [];
  show("disk-io-section", devices.length > 0);
  if (!devices.length) state.unneeded.add("disk_io");
  if (!devices.length || r.window_ms > FRESH_WINDOW_MS) return;
  chartDiskIo(Date.now() / 1000, devices);
  C.diskIo.draw(); C.diskBusy.draw();
}
function chartDiskIo(t, devices) {
  const io = {}, busy = {};
  for (const d of devices) { io[d.name + " read"] = d.read_bytes_per_sec; io[d.name + " write"] = d.write_bytes_per_sec; busy[d.name] = d.busy_percent; }
  C.diskIo.series.push(t, io); C.diskBusy.series.push(t, busy);
}
function showPressure(p) {
  const values = {};
  for (const r of ["cpu", "memory", "io"]) if (p[r] && p[r].some) values[r] = p[r].some.avg10;
  show("pressure-section", Object.keys(values).length > 0);
  if (!Object.keys(values).length) state.unneeded.add("pressure");
  if (Object.keys(values).length && C.pressure.series.push(Date.now() / 1000, values)) C.pressure.draw();
}
function showSensors(s) {
  const fans = {};
  for (const chip of s.chips || []) for (const f of chip.fans || []) if (f.value != null) fans[`${chip.name} ${f.label || f.sensor}`] = f.value;
  show("fans-section", Object.keys(fans).length > 0);
  if (!Object.keys(fans).length) state.unneeded.add("sensors");
  if (Object.keys(fans).length && C.fans.series.push(Date.now() / 1000, fans)) C.fans.draw();
}
// Used is what df shows (size − free: blocks in use, the root reserve
// counted free), and the bar df's Use% (used of used + available); size −
// available would count the reserve and other users' blocks as used.
function diskUse(d) {
  const used = d.used != null ? d.used : d.total - d.available;
  const of = used + d.available;
  return { used, pct: of ? 100 * used / of : 0 };
}
function showDisks(list) {
  $("disks").tBodies[0].innerHTML = list.map(d => { const u = diskUse(d);
    return `<tr><td class="name">${esc(d.mount_point || d.name)}</td><td class="dim">${esc(d.fs_type || "")}</td>` +
    `<td class="num">${bytes(u.used)}</td><td class="num">${bytes(d.available)}</td><td class="num">${bytes(d.total)}</td><td>${bar(u.pct)}</td></tr>`; }).join("");
}
function showContainers(reply) {
  // Busiest first; a systemd host has a hundred units, the top 50 show.
  const list = (reply.containers || []).slice().sort((a, b) => (b.cpu_usage || 0) - (a.cpu_usage || 0) || b.mem_bytes - a.mem_bytes);
  show("containers-section", list.length > 0);
  $("containers-count").textContent = `(${list.length})`;
  $("containers").tBodies[0].innerHTML = list.slice(0, 50).map(c =>
    `<tr title="${esc(c.cgroup)}"><td class="dim">${esc(c.kind)}</td><td class="name">${esc(c.name || c.id.slice(0, 12))}</td><td class="num">${c.cpu_usage != null ? c.cpu_usage.toFixed(1) : "–"}</td>` +
    `<td class="num">${c.mem_bytes != null ? bytes(c.mem_bytes) : "–"}</td><td class="num">${c.mem_limit_bytes != null ? bytes(c.mem_limit_bytes) : "–"}</td><td class="num">${c.pids ?? "–"}</td>` +
    `<td class="num">${c.io_read_bytes_per_sec != null ? FORMATS.rate(c.io_read_bytes_per_sec + c.io_write_bytes_per_sec) : "–"}</td><td class="num">${stalled(c.pressure)}</td>` +
    `<td class="num${c.memory_events && c.memory_events.oom_kill ? " bad" : ""}">${c.memory_events ? c.memory_events.oom_kill : "–"}</td></tr>`).join("");
  const t = Date.now() / 1000, cpu = {}, mem = {};
  for (const c of list) {
    const name = c.name || c.id.slice(0, 12);
    if (c.cpu_usage != null) cpu[name] = c.cpu_usage;
    if (c.mem_bytes != null) mem[name] = c.mem_bytes;
  }
  if (list.length) { C.containersCpu.series.push(t, cpu); C.containersMemory.series.push(t, mem); C.containersCpu.draw(); C.containersMemory.draw(); }
}

// A cgroup's worst stall of the last 10 s: which resource, and how much.
function stalled(p) {
  const worst = ["cpu", "memory", "io"].filter(r => p && p[r] && p[r].some).map(r => [r, p[r].some.avg10]).sort((a, b) => b[1] - a[1])[0];
  return worst ? `${worst[0]} ${FORMATS.pct(worst[1])}` : "–";
}

// ---- history -----------------------------------------------------------------

// The kinds whose history the page draws, and how to ask for each.
const HISTORY = ["metrics", "disk_io", "pressure", "sensors", "containers"];
// What the page drew from the history before its first live sample, for
// the tests.
window.__sondeHistory = {};

// A history reply (timestamps and one column per series) as one object
// per sample: `field` for the host's series, `field[of]` for the others.
function historyRows(h) {
  return h.t.map((t, i) => {
    const r = {};
    for (const s of h.series) {
      const v = s.values[i];
      if (v == null) continue;
      if (s.of == null) r[s.field] = v; else (r[s.field] = r[s.field] || {})[s.of] = v;
    }
    return { t, r };
  });
}
function showHistory(h) {
  const rows = historyRows(h);
  // The live replies of these kinds are charted at the page's time: the
  // agent's times are moved onto the page's clock.
  const skew = (h.now_ms - Date.now()) / 1000;
  for (const { t, r } of rows) HISTORY_CHART[h.kind](r, t / 1000, t / 1000 - skew);
  drawAll();
  // What the chart library was given, and how many live samples came first.
  const drawn = C.cpu.u ? C.cpu.u.data[1].filter(v => v != null).length : 0;
  window.__sondeHistory[h.kind] = { rows: rows.length, liveBefore: state.updates, cpuPoints: drawn };
}
const entries = o => Object.entries(o || {});
const HISTORY_CHART = {
  metrics(r, t) {
    if (r.cpu_total == null) return;
    const cores = entries(r.cpu_per_core).sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    chartMetrics({
      sampled_at_ms: t * 1000, cpu_total: r.cpu_total, cpu_per_core: cores,
      mem_used: r.mem_used, swap_used: r.swap_used, swap_total: r.swap_total,
      networks: entries(r.received).map(([name, rx]) => ({ name, received: rx, transmitted: (r.transmitted || {})[name] || 0 })),
      temps: entries(r.celsius).map(([label, celsius]) => ({ label, celsius })),
    });
    chartGpus([...new Set([...Object.keys(r.usage || {}), ...Object.keys(r.memory_used || {}), ...Object.keys(r.temp_c || {})])]
      .map(label => ({ label, usage: (r.usage || {})[label], memory_used: (r.memory_used || {})[label], temp_c: (r.temp_c || {})[label] })), t);
    state.lastMetricsAt = t * 1000;
  },
  disk_io(r, _, t) {
    const devices = entries(r.read_bytes_per_sec).map(([name, read]) => ({
      name, read_bytes_per_sec: read, write_bytes_per_sec: (r.write_bytes_per_sec || {})[name], busy_percent: (r.busy_percent || {})[name] }));
    if (devices.length) { show("disk-io-section", true); chartDiskIo(t, devices); }
  },
  pressure(r, _, t) {
    const values = Object.fromEntries(entries(r.some_avg10));
    if (Object.keys(values).length) { show("pressure-section", true); C.pressure.series.push(t, values); }
  },
  sensors(r, _, t) {
    const fans = Object.fromEntries(entries(r.fan));
    if (Object.keys(fans).length) { show("fans-section", true); C.fans.series.push(t, fans); }
  },
  containers(r, _, t) {
    if (r.cpu_usage) C.containersCpu.series.push(t, r.cpu_usage);
    if (r.mem_bytes) C.containersMemory.series.push(t, r.mem_bytes);
  },
};
function askHistory() {
  for (const kind of HISTORY) ask("history-" + kind, JSON.stringify({ type: "history", kind }));
}

// ---- processes -------------------------------------------------------------

// The processes protobuf: Processes {1 process_count, 2 rows}, Process {1 pid,
// 2 name, 3 cpu_usage (float), 4 mem_bytes, 5 parent_pid}.
function varint(buf, pos) {
  let value = 0, scale = 1, b;
  do { b = buf[pos.i++]; value += (b & 0x7f) * scale; scale *= 128; } while (b & 0x80);
  return value;
}
function decodeProcesses(buf) {
  const pos = { i: 0 }, view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength), text = new TextDecoder();
  const out = { count: 0, rows: [] };
  while (pos.i < buf.length) {
    const key = varint(buf, pos), field = Math.floor(key / 8), wire = key & 7;
    if (field === 1 && wire === 0) out.count = varint(buf, pos);
    else if (field === 2 && wire === 2) {
      const len = varint(buf, pos), end = pos.i + len, row = { pid: 0, name: "", cpu: 0, mem: 0, ppid: 0 };
      while (pos.i < end) {
        const k = varint(buf, pos), f = Math.floor(k / 8), w = k & 7;
        if (f === 1 && w === 0) row.pid = varint(buf, pos);
        else if (f === 2 && w === 2) { const n = varint(buf, pos); row.name = text.decode(buf.subarray(pos.i, pos.i + n)); pos.i += n; }
        else if (f === 3 && w === 5) { row.cpu = view.getFloat32(pos.i, true); pos.i += 4; }
        else if (f === 4 && w === 0) row.mem = varint(buf, pos);
        else if (f === 5 && w === 0) row.ppid = varint(buf, pos);
        else skip(buf, pos, w);
      }
      out.rows.push(row);
    } else skip(buf, pos, wire);
  }
  return out;
}
function skip(buf, pos, wire) {
  if (wire === 0) varint(buf, pos); else if (wire === 1) pos.i += 8; else if (wire === 5) pos.i += 4;
  else if (wire === 2) { const n = varint(buf, pos); pos.i += n; } else throw new Error("bad protobuf wire type " + wire);
}

// A new list: which processes are new since the last one, and which exited
// (kept a moment, struck through).
function takeProcesses(list) {
  const now = Date.now(), pids = new Set(list.rows.map(r => r.pid));
  if (state.seen) {
    for (const r of list.rows) if (!state.seen.has(r.pid)) state.firstSeen.set(r.pid, now);
    for (const r of state.rows) if (!pids.has(r.pid) && !state.gone.has(r.pid)) state.gone.set(r.pid, { row: r, at: now });
  }
  for (const [pid, at] of state.firstSeen) if (now - at > MARK_MS || !pids.has(pid)) state.firstSeen.delete(pid);
  for (const [pid, g] of state.gone) if (now - g.at > MARK_MS || pids.has(pid)) state.gone.delete(pid);
  state.seen = pids; state.rows = list.rows; state.count = list.count;
  $("proc-count").textContent = `(${list.count})`;
  showProcesses();
}
function showProcesses() {
  const f = state.filter.toLowerCase();
  const matches = r => !f || r.name.toLowerCase().includes(f) || String(r.pid).startsWith(f);
  const diskRate = r => state.ioByPid.get(r.pid) ?? -1, gpuShare = r => state.gpuByPid.get(r.pid) ?? -1;
  const netRate = r => state.netByPid.get(r.pid) ?? -1;
  const key = { pid: r => r.pid, name: r => r.name.toLowerCase(), cpu: r => r.cpu, mem: r => r.mem, io: diskRate, net: netRate, gpu: gpuShare }[state.sort];
  const order = (a, b) => { const x = key(a), y = key(b); const c = x < y ? -1 : x > y ? 1 : a.pid - b.pid; return state.desc ? -c : c; };
  const all = state.rows.concat([...state.gone.values()].map(g => ({ ...g.row, gone: true })));
  const rows = state.tree ? treeOrder(all, matches, order) : all.filter(matches).sort(order).map(r => ({ r, depth: 0 }));
  const selected = state.detail && state.detail.pid;
  $("procs").tBodies[0].innerHTML = rows.slice(0, state.tree ? 500 : 200).map(({ r, depth }) => {
    const cls = [r.gone ? "gone" : state.firstSeen.has(r.pid) ? "new" : "", r.pid === selected ? "selected" : ""].join(" ").trim();
    const mark = depth ? `<span class="tree-mark" style="padding-left:${(depth - 1) * 1.1}em">└ </span>` : "";
    return `<tr tabindex="0" data-pid="${r.pid}" data-ppid="${r.ppid}" data-depth="${depth}" data-mem="${r.mem}" data-cpu="${r.cpu}"${cls ? ` class="${cls}"` : ""}>` +
      `<td class="num">${r.pid}</td><td class="name">${mark}${esc(r.name)}</td><td class="num">${r.cpu.toFixed(1)}</td><td class="num">${bytes(r.mem)}</td>` +
      (state.io ? `<td class="num">${state.ioByPid.has(r.pid) ? FORMATS.rate(state.ioByPid.get(r.pid)) : "–"}</td>` : "") +
      (state.net ? `<td class="num">${state.netByPid.has(r.pid) ? FORMATS.rate(state.netByPid.get(r.pid)) : "–"}</td>` : "") +
      (state.gpu ? `<td class="num">${state.gpuByPid.has(r.pid) ? FORMATS.pct(state.gpuByPid.get(r.pid)) : "–"}</td>` : "") + `</tr>`;
  }).join("");
  for (const th of $("procs").tHead.rows[0].cells) th.className = (th.classList.contains("num") ? "num " : "") + (th.dataset.key === state.sort ? "on" : "");
}
// Parents before their children, siblings in the chosen order; with a
// filter, the matches and the ancestors that lead to them.
function treeOrder(rows, matches, order) {
  const byPid = new Map(rows.map(r => [r.pid, r])), children = new Map();
  for (const r of rows) {
    const parent = byPid.has(r.ppid) && r.ppid !== r.pid ? r.ppid : 0;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(r);
  }
  const keep = new Set();
  for (const r of rows) if (matches(r)) for (let p = r, hops = 0; p && !keep.has(p.pid) && hops < 64; p = byPid.get(p.ppid), hops++) keep.add(p.pid);
  const out = [], walk = (pid, depth) => {
    for (const r of (children.get(pid) || []).filter(r => keep.has(r.pid)).sort(order)) { out.push({ r, depth }); walk(r.pid, depth + 1); }
  };
  walk(0, 0);
  return out;
}

// The disk I/O, network and GPU columns: asked for over HTTP (the
// WebSocket's process list is socktop's protobuf, unchanged) while shown,
// at the list's rate; the agent reads every process's io file, or lists
// its descriptors, only while asked.
async function askColumns() {
  const columns = ["io", "net", "gpu"].filter(c => state[c]);
  if (!columns.length || document.hidden) return;
  const sep = tokenQuery ? tokenQuery + "&" : "?";
  const res = await fetch(`/api/processes${sep}columns=${columns.join(",")}`);
  if (!res.ok) { status(`process columns: HTTP ${res.status}`, true); return; }
  const list = await res.json();
  if (state.io) state.ioByPid = new Map(list.processes.filter(p => p.disk_read_bytes_per_sec != null)
    .map(p => [p.pid, p.disk_read_bytes_per_sec + p.disk_write_bytes_per_sec]));
  if (state.net) state.netByPid = new Map(list.processes.filter(p => p.net_received_bytes_per_sec != null)
    .map(p => [p.pid, p.net_received_bytes_per_sec + p.net_sent_bytes_per_sec]));
  if (state.gpu) state.gpuByPid = new Map(list.processes.filter(p => p.gpu_utilization_percent != null)
    .map(p => [p.pid, p.gpu_utilization_percent]));
  showProcesses();
}
function showColumn(column, on) {
  state[column] = on;
  $("sort-" + column).hidden = !on;
  state[column + "ByPid"] = new Map();
  clearInterval(state.columnsTimer);
  const ask = () => askColumns().catch(e => window.__sondeErrors.push(String(e)));
  if (state.io || state.net || state.gpu) { ask(); state.columnsTimer = setInterval(ask, RATES.processes); }
  if (!on && state.sort === column) state.sort = "cpu";
  showProcesses();
}

function openDetail(pid) {
  if (!state.detail || state.detail.pid !== pid) {
    state.detail = { pid };
    C.detailCpu.series = new Series(); C.detailMemory.series = new Series();
    $("detail").textContent = "…"; $("detail-pid").textContent = String(pid);
    for (const id of ["threads", "children", "connections"]) $(id).tBodies[0].innerHTML = "";
  }
  $("detail-section").hidden = false;
  askDetail();
  showProcesses();
}
function askDetail() { if (state.detail) ask("detail", JSON.stringify({ type: "process_metrics", pid: state.detail.pid, connections: true })); }
function showDetail(reply) {
  if (!state.detail) return;
  if (reply.error) { $("detail").textContent = reply.error; return; }
  const p = reply.process;
  if (p.pid !== state.detail.pid) return;
  $("detail-pid").textContent = `${p.pid} ${p.name}`;
  $("detail").textContent = [
    `command   ${p.command || (p.pid === 2 || p.parent_pid === 2 ? "(kernel thread)" : "(withheld: the agent has no token, or runs with --redact)")}`,
    `status    ${p.status} · parent ${p.parent_pid ?? "–"} · uid ${p.user_id}`,
    `CPU       ${p.cpu_usage.toFixed(1)} % · user ${(p.cpu_time_user / 1e6).toFixed(2)} s · system ${(p.cpu_time_system / 1e6).toFixed(2)} s`,
    `memory    ${bytes(p.mem_bytes)} resident · ${bytes(p.virtual_mem_bytes)} virtual`,
    `threads   ${p.thread_count} · open files ${p.fd_count ?? "–"}`,
    `disk      read ${FORMATS.rate(p.read_bytes_per_sec)} · write ${FORMATS.rate(p.write_bytes_per_sec)} · ${bytes(p.read_bytes)} read, ${bytes(p.write_bytes)} written in all`,
    ...(p.connections ? [`network   received ${FORMATS.rate(sum(p.connections, "received_bytes_per_sec"))} · sent ${FORMATS.rate(sum(p.connections, "sent_bytes_per_sec"))} over ${p.connections.length} TCP sockets`] : []),
    ...(p.gpus || []).map(g => `GPU ${g.index}     ${FORMATS.pct(g.utilization_percent)} · ${bytes(g.used_memory_bytes)}`),
    `directory ${p.working_directory ?? "–"}`,
    `cgroup    ${p.cgroup ?? "–"}${p.container_id ? " · container " + p.container_id.slice(0, 12) : ""}`,
  ].join("\n");
  const t = Date.now() / 1000;
  C.detailCpu.series.push(t, { [p.name]: p.cpu_usage });
  C.detailMemory.series.push(t, { [p.name]: p.mem_bytes });
  C.detailCpu.draw(); C.detailMemory.draw();
  const threads = (p.threads || []).slice().sort((a, b) => (b.cpu_time_user + b.cpu_time_system) - (a.cpu_time_user + a.cpu_time_system));
  $("threads-count").textContent = `(${p.thread_count})`;
  $("threads").tBodies[0].innerHTML = threads.slice(0, 200).map(th => `<tr><td class="num">${th.tid}</td><td class="name">${esc(th.name)}</td><td class="dim">${esc(th.status)}</td>` +
    `<td class="num">${((th.cpu_time_user + th.cpu_time_system) / 1e6).toFixed(2)} s</td></tr>`).join("");
  const conns = p.connections || [];
  $("connections-section").hidden = !conns.length;
  $("connections-count").textContent = `(${conns.length})`;
  $("connections").tBodies[0].innerHTML = conns.slice(0, 200).map(c => `<tr><td class="name">${esc(c.local)}</td><td class="name">${c.remote == null ? '<span class="dim">withheld</span>' : esc(c.remote)}</td><td class="dim">${esc(c.state)}</td>` +
    `<td class="num">${FORMATS.rate(c.received_bytes_per_sec)}</td><td class="num">${FORMATS.rate(c.sent_bytes_per_sec)}</td>` +
    `<td class="num">${bytes(c.received_bytes)}</td><td class="num">${bytes(c.sent_bytes)}</td><td class="num">${c.rtt_ms != null ? c.rtt_ms.toFixed(2) + " ms" : "–"}</td></tr>`).join("");
  $("children-count").textContent = `(${p.child_processes.length})`;
  $("children").tBodies[0].innerHTML = p.child_processes.map(c => `<tr tabindex="0" data-pid="${c.pid}"><td class="num">${c.pid}</td><td class="name">${esc(c.name)}</td>` +
    `<td class="num">${c.cpu_usage.toFixed(1)}</td><td class="num">${bytes(c.mem_bytes)}</td></tr>`).join("");
}
function closeDetail() { state.detail = null; $("detail-section").hidden = true; showProcesses(); }

// ---- the connection --------------------------------------------------------

async function payload(data) {
  if (typeof data === "string") return new TextEncoder().encode(data);
  let buf = new Uint8Array(data);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream("gzip"));
    buf = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return buf;
}

// One connection, one reply per request in order: replies are matched to
// what was asked by a queue.
let ws = null, asked = [], timers = [], retries = 0;
function ask(kind, text) {
  if (!ws || ws.readyState !== WebSocket.OPEN || document.hidden) return;
  if (asked.some(a => a.kind === kind) || state.unneeded.has(kind)) return;   // the last one is still coming, or never will
  asked.push({ kind }); ws.send(text);
}
const SHOW = {
  ...Object.fromEntries(HISTORY.map(k => ["history-" + k, showHistory])),
  metrics: showMetrics, disks: showDisks, containers: showContainers, disk_io: showDiskIo,
  pressure: showPressure, sensors: showSensors, detail: showDetail,
};
async function onMessage(ev) {
  const what = asked.shift();
  if (!what) return;
  const buf = await payload(ev.data);
  if (what.kind === "processes") {
    if (typeof ev.data === "string") { status(JSON.parse(new TextDecoder().decode(buf)).error, true); return; }
    takeProcesses(decodeProcesses(buf)); return;
  }
  const value = JSON.parse(new TextDecoder().decode(buf));
  // A reading this agent does not serve (an older one, or turned off): its
  // panel stays absent, the rest go on.
  // An agent keeping no history (an older one, or --history 0): the page
  // starts empty, as it always did.
  if (value.error && what.kind.startsWith("history-")) { state.unneeded.add(what.kind); return; }
  if (value.error && what.kind !== "detail") {
    if (what.kind === "metrics") status(value.error, true); else state.unneeded.add(what.kind);
    return;
  }
  SHOW[what.kind](value);
}
function poll() {
  const request = { metrics: '{"type":"metrics"}', processes: '{"type":"processes"}', disks: '{"type":"disks"}', containers: '{"type":"containers"}',
    disk_io: '{"type":"disk_io"}', pressure: '{"type":"pressure"}', sensors: '{"type":"sensors"}' };
  for (const [kind, text] of Object.entries(request)) {
    ask(kind, text);
    timers.push(setInterval(() => ask(kind, text), RATES[kind]));
  }
  timers.push(setInterval(askDetail, RATES.detail));
}
function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" + tokenQuery;
  ws = new WebSocket(url); ws.binaryType = "arraybuffer"; asked = [];
  ws.onopen = () => { retries = 0; status("live"); askHistory(); poll(); };
  // Replies are handled one after another: a gzipped one (a history) is
  // unpacked asynchronously, and a small live reply behind it must not be
  // charted first.
  let handled = Promise.resolve();
  ws.onmessage = ev => { handled = handled.then(() => onMessage(ev)).catch(e => window.__sondeErrors.push(String(e))); };
  ws.onclose = ev => {
    timers.forEach(clearInterval); timers = [];
    // Backoff: 1, 2, 4… up to 30 s, so a host that is down is not hammered.
    const wait = Math.min(30, 2 ** retries++);
    const why = ev.code === 1001 ? "the agent is shutting down" : "disconnected";
    let left = wait;
    status(`${why}; reconnecting in ${left} s…`, true);
    const tick = setInterval(() => { if (--left > 0) status(`${why}; reconnecting in ${left} s…`, true); }, 1000);
    setTimeout(() => { clearInterval(tick); status("connecting…", true); connect(); }, wait * 1000);
  };
}
async function start() {
  // The host facts by HTTP first: a 401 here means the page needs a token.
  const res = await fetch("/api/host" + tokenQuery);
  if (res.status === 401) {
    status(token ? "the token in this page's address was refused" : "this agent needs a token: open this page as /?token=YOUR_TOKEN", true);
    return;
  }
  const h = await res.json();
  $("host").textContent = `${h.hostname || "?"} · ${h.os || ""} · ${h.cpu_name || ""} · sonde ${h.version}`;
  connect();
}

// ---- controls --------------------------------------------------------------

$("filter").addEventListener("input", e => { state.filter = e.target.value; showProcesses(); });
$("tree").addEventListener("change", e => { state.tree = e.target.checked; showProcesses(); });
$("io").addEventListener("change", e => showColumn("io", e.target.checked));
$("proc-net").addEventListener("change", e => showColumn("net", e.target.checked));
$("gpu").addEventListener("change", e => showColumn("gpu", e.target.checked));
for (const th of $("procs").tHead.rows[0].cells) {
  const sort = () => {
    const key = th.dataset.key;
    state.desc = state.sort === key ? !state.desc : ["cpu", "mem", "io", "net", "gpu"].includes(key);
    state.sort = key; showProcesses();
  };
  th.addEventListener("click", sort);
  th.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
}
for (const id of ["procs", "children"]) {
  const body = $(id).tBodies[0];
  body.addEventListener("click", e => { const tr = e.target.closest("tr"); if (tr) openDetail(Number(tr.dataset.pid)); });
  body.addEventListener("keydown", e => {
    const tr = e.target.closest("tr");
    if (tr && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openDetail(Number(tr.dataset.pid)); }
  });
}
$("detail-close").addEventListener("click", closeDetail);
for (const b of document.querySelectorAll("[data-window]")) b.addEventListener("click", () => {
  state.windowS = Number(b.dataset.window);
  for (const o of document.querySelectorAll("[data-window]")) { o.classList.toggle("on", o === b); o.setAttribute("aria-pressed", String(o === b)); }
  drawAll();
});
document.addEventListener("keydown", e => {
  if (e.key === "Escape") { if (document.activeElement === $("filter") && state.filter) return; closeDetail(); }
  else if (e.key === "/" && !(e.target instanceof HTMLInputElement)) { e.preventDefault(); $("filter").focus(); }
});
// The colours follow the system's light or dark scheme, charts included.
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { for (const c of Object.values(C)) c.rebuild(); heat.draw(); });
// A hidden tab asks for nothing; it catches up when shown again.
document.addEventListener("visibilitychange", () => { if (!document.hidden) { ask("metrics", '{"type":"metrics"}'); ask("processes", '{"type":"processes"}'); } });
start().catch(e => { status("cannot reach the agent: " + e, true); window.__sondeErrors.push(String(e)); });
