// fluoro's HTML report: reads the profile data embedded in the page and draws the flame
// graph, the timelines, the tables and the source view. Program-derived text is only ever
// set with textContent or drawn on a canvas, never parsed as HTML.
"use strict";
(() => {
  const timings = (window.__fluoroTimings = { draws: [] });
  const $ = (id) => document.getElementById(id);

  // ---- data ------------------------------------------------------------------------------

  const parseStart = performance.now();
  const D = JSON.parse($("fluoro-data").textContent);
  timings.parseMs = performance.now() - parseStart;

  /** A column written as base64 LEB128 varints, as a Float64Array. */
  function column(text) {
    const bin = atob(text || "");
    // Each value takes at least one byte: size for the bytes, then keep what was read.
    const out = new Float64Array(bin.length);
    let value = 0;
    let scale = 1;
    let k = 0;
    for (let i = 0; i < bin.length; i++) {
      const b = bin.charCodeAt(i);
      value += (b & 127) * scale;
      if (b < 128) {
        out[k++] = value;
        value = 0;
        scale = 1;
      } else {
        scale *= 128;
      }
    }
    return out.slice(0, k);
  }

  const decodeStart = performance.now();
  const files = D.files;
  const fnName = D.functions.name;
  const fnFile = column(D.functions.file);
  const fnLine = column(D.functions.line);
  const nFn = fnName.length;
  const frFn = column(D.frames.function);
  const frLine = column(D.frames.line);
  const nStacks = column(D.stacks.frame).length + 1;
  const stFrame = new Int32Array(nStacks);
  const stParent = new Int32Array(nStacks);
  {
    const parent = column(D.stacks.parent);
    const frame = column(D.stacks.frame);
    stParent[0] = -1;
    for (let i = 1; i < nStacks; i++) {
      stParent[i] = i - parent[i - 1];
      stFrame[i] = frame[i - 1];
    }
  }
  const W = {
    thread: column(D.weights.thread),
    stack: column(D.weights.stack),
    samples: column(D.weights.samples),
    active: column(D.weights.active),
    gil: column(D.weights.gil),
    wall: column(D.weights.wall_ns),
    idle: column(D.weights.idle_ns),
    cpu: column(D.weights.cpu_ns),
    alloc: D.weights.alloc_bytes ? column(D.weights.alloc_bytes) : null,
    allocs: D.weights.alloc_count ? column(D.weights.alloc_count) : null,
    peak: D.weights.peak_bytes ? column(D.weights.peak_bytes) : null,
    leak: D.weights.leak_bytes ? column(D.weights.leak_bytes) : null,
  };
  const nW = W.stack.length;
  const TL = {
    bucketNs: D.timeline.bucket_ns,
    buckets: D.timeline.buckets,
    weight: column(D.timeline.weight),
    samples: column(D.timeline.samples),
    active: column(D.timeline.active),
    gil: column(D.timeline.gil),
  };
  /** Where each slice's cells start, and their weights made whole (the column holds each
   * slice's first weight, then distances). */
  function slices(perBucket, weight) {
    const per = column(perBucket);
    const start = new Int32Array(TL.buckets + 1);
    for (let b = 0; b < TL.buckets; b++) {
      start[b + 1] = start[b] + per[b];
      for (let c = start[b] + 1; c < start[b + 1]; c++) weight[c] += weight[c - 1];
    }
    return start;
  }
  TL.start = slices(D.timeline.per_bucket, TL.weight);
  // Allocations per slice, when memory was recorded.
  const TA = D.timeline.alloc
    ? { weight: column(D.timeline.alloc.weight), bytes: column(D.timeline.alloc.bytes), count: column(D.timeline.alloc.count) }
    : null;
  if (TA) TA.start = slices(D.timeline.alloc.per_bucket, TA.weight);
  timings.decodeMs = performance.now() - decodeStart;

  // ---- the flame graph's nodes: stacks merged by function along the call path ------------

  const buildStart = performance.now();
  const flameOf = new Int32Array(nStacks);
  // At most one node per stack; an open-addressing table finds a (parent, function) child.
  const fParent = new Int32Array(nStacks).fill(-1);
  const fFn = new Int32Array(nStacks).fill(-1);
  const fDepth = new Int32Array(nStacks);
  let nNodes = 1;
  {
    let size = 1024;
    while (size < 2 * nStacks) size *= 2;
    const slots = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let s = 1; s < nStacks; s++) {
      const p = flameOf[stParent[s]];
      const f = frFn[stFrame[s]];
      let h = (Math.imul(p, 0x9e3779b1) ^ Math.imul(f, 0x85ebca6b)) & mask;
      let node = slots[h];
      while (node >= 0 && !(fParent[node] === p && fFn[node] === f)) {
        h = (h + 1) & mask;
        node = slots[h];
      }
      if (node < 0) {
        node = nNodes++;
        fParent[node] = p;
        fFn[node] = f;
        fDepth[node] = fDepth[p] + 1;
        slots[h] = node;
      }
      flameOf[s] = node;
    }
  }
  // Functions ranked by name, so children can be put in name order by a number.
  const fnRank = new Int32Array(nFn);
  Array.from({ length: nFn }, (_, i) => i)
    .sort((a, b) => (fnName[a] < fnName[b] ? -1 : fnName[a] > fnName[b] ? 1 : a - b))
    .forEach((f, rank) => (fnRank[f] = rank));
  // Each node's children, in name order: kidList[kidStart[n] .. kidStart[n + 1]].
  const kidStart = new Int32Array(nNodes + 1);
  const kidList = new Int32Array(Math.max(nNodes - 1, 0));
  {
    for (let n = 1; n < nNodes; n++) kidStart[fParent[n] + 1]++;
    for (let n = 0; n < nNodes; n++) kidStart[n + 1] += kidStart[n];
    const at = kidStart.slice(0, nNodes);
    for (let n = 1; n < nNodes; n++) kidList[at[fParent[n]]++] = n;
    const byName = (a, b) => fnRank[fFn[a]] - fnRank[fFn[b]];
    for (let n = 0; n < nNodes; n++) {
      if (kidStart[n + 1] - kidStart[n] > 1) kidList.subarray(kidStart[n], kidStart[n + 1]).sort(byName);
    }
  }
  const kids = (n) => kidList.subarray(kidStart[n], kidStart[n + 1]);
  // Each frame's (file, line), for the line tables and the source view.
  const lineOf = new Int32Array(frFn.length);
  const lineFile = [];
  const lineNo = [];
  {
    const index = new Map();
    for (let fr = 0; fr < frFn.length; fr++) {
      const key = fnFile[frFn[fr]] + ":" + frLine[fr];
      let id = index.get(key);
      if (id === undefined) {
        id = lineFile.length;
        lineFile.push(fnFile[frFn[fr]]);
        lineNo.push(frLine[fr]);
        index.set(key, id);
      }
      lineOf[fr] = id;
    }
  }
  timings.buildMs = performance.now() - buildStart;

  // ---- metrics ------------------------------------------------------------------------------

  const hasMemory = W.alloc !== null;
  const sum = (col) => col.reduce((a, b) => a + b, 0);
  const METRICS = [
    { id: "wall", label: "Wall time", unit: "ns", ok: true },
    { id: "cpu", label: "CPU time", unit: "ns", ok: sum(W.cpu) > 0 },
    { id: "gil", label: "Holding the GIL", unit: "ns", ok: sum(W.gil) > 0 },
    { id: "alloc", label: "Bytes allocated", unit: "B", ok: hasMemory, wholeRun: !TA },
    { id: "allocs", label: "Allocations", unit: "n", ok: hasMemory, wholeRun: !TA },
    { id: "peak", label: "Live at the peak", unit: "B", ok: hasMemory && sum(W.peak) > 0, wholeRun: true },
    { id: "leak", label: "Live at the end", unit: "B", ok: hasMemory && sum(W.leak) > 0, wholeRun: true },
    { id: "calls", label: "Exact calls", unit: "n", ok: !!D.exact, exact: true },
    { id: "tottime", label: "Exact tottime", unit: "ns", ok: !!D.exact, exact: true },
  ].filter((m) => m.ok);
  const metricById = Object.fromEntries(METRICS.map((m) => [m.id, m]));

  const state = {
    metric: metricById[D.metric] ? D.metric : METRICS.length ? METRICS[0].id : "wall",
    thread: -1,
    process: -1,
    idle: false,
    range: null, // [first bucket, end bucket)
    zoom: 0,
    icicle: false,
    leftHeavy: false,
    query: "",
    tab: "functions",
    sourceFile: -1,
    focusFunction: -1,
  };

  /** Per-weight sample counts inside the selected range. */
  function rangeCounts() {
    const [a, b] = state.range;
    const s = new Float64Array(nW);
    const act = new Float64Array(nW);
    const g = new Float64Array(nW);
    for (let c = TL.start[a]; c < TL.start[b]; c++) {
      const w = TL.weight[c];
      s[w] += TL.samples[c];
      act[w] += TL.active[c];
      g[w] += TL.gil[c];
    }
    const bytes = new Float64Array(nW);
    const count = new Float64Array(nW);
    if (TA) {
      for (let c = TA.start[a]; c < TA.start[b]; c++) {
        bytes[TA.weight[c]] += TA.bytes[c];
        count[TA.weight[c]] += TA.count[c];
      }
    }
    return { s, act, g, bytes, count };
  }

  /** The selected metric's value of each weight, for the selected thread and range. Inside a
   * range, a stack's time is its samples there times its mean time per sample. */
  function weightValues(metricId) {
    const out = new Float64Array(nW);
    const r = state.range && !metricById[metricId].wholeRun ? rangeCounts() : null;
    const ratio = (part, whole) => (whole > 0 ? part / whole : 0);
    for (let w = 0; w < nW; w++) {
      if (state.thread >= 0 && W.thread[w] !== state.thread) continue;
      if (state.process >= 0 && D.threads[W.thread[w]].process !== state.process) continue;
      let v = 0;
      switch (metricId) {
        case "wall":
          if (state.idle) v = r ? W.wall[w] * ratio(r.s[w], W.samples[w]) : W.wall[w];
          else v = r ? (W.wall[w] - W.idle[w]) * ratio(r.act[w], W.active[w]) : W.wall[w] - W.idle[w];
          break;
        case "cpu":
          v = r ? W.cpu[w] * ratio(r.act[w], W.active[w]) : W.cpu[w];
          break;
        case "gil":
          v = W.wall[w] * ratio(r ? r.g[w] : W.gil[w], W.samples[w]);
          break;
        case "alloc":
          v = r ? r.bytes[w] : W.alloc[w];
          break;
        case "allocs":
          v = r ? r.count[w] : W.allocs[w];
          break;
        case "peak":
          v = W.peak[w];
          break;
        case "leak":
          v = W.leak[w];
          break;
      }
      out[w] = v;
    }
    return out;
  }

  // ---- formatting ---------------------------------------------------------------------------

  function fmtNs(ns) {
    const a = Math.abs(ns);
    if (a >= 1e9) return (ns / 1e9).toFixed(a >= 1e11 ? 0 : 2) + " s";
    if (a >= 1e6) return (ns / 1e6).toFixed(a >= 1e8 ? 0 : 1) + " ms";
    if (a >= 1e3) return (ns / 1e3).toFixed(a >= 1e5 ? 0 : 1) + " µs";
    return Math.round(ns) + " ns";
  }
  function fmtBytes(b) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(b) >= 1024 && i < units.length - 1) {
      b /= 1024;
      i++;
    }
    return (i === 0 ? Math.round(b) : b.toFixed(1)) + " " + units[i];
  }
  const fmtCount = (n) => Math.round(n).toLocaleString("en-US");
  const fmtShare = (x) => (x * 100).toFixed(x < 0.001 && x > 0 ? 2 : 1) + " %";
  function fmtValue(v, unit) {
    return unit === "ns" ? fmtNs(v) : unit === "B" ? fmtBytes(v) : fmtCount(v);
  }
  const where = (f) => files[fnFile[f]].shown + ":" + fnLine[f];

  /** An element with text children only. */
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  // ---- header and controls ----------------------------------------------------------------

  function header() {
    const run = D.run;
    $("title").textContent = "fluoro · " + (run.target || "profile");
    const facts = [
      "Python " + (run.python || "?"),
      fmtNs(run.duration_ns) + " wall",
      fmtCount(run.samples) + " samples at " + run.rate_hz + " Hz",
      run.sampler + " sampler",
    ];
    if (run.start_unix_ns) facts.push(new Date(run.start_unix_ns / 1e6).toISOString().replace("T", " ").slice(0, 19) + " UTC");
    if (!run.complete) facts.push("cut short: the run was killed");
    if (run.exception) facts.push("ended by " + run.exception);
    if (run.failed_reads) facts.push(fmtCount(run.failed_reads) + " stacks dropped mid-read");
    for (const f of facts) $("facts").append(el("span", { text: f }));
  }

  function controls() {
    const metric = $("metric");
    for (const m of METRICS) metric.append(el("option", { value: m.id, text: m.label }));
    metric.value = state.metric;
    metric.addEventListener("change", () => setMetric(metric.value));
    const thread = $("thread");
    thread.append(el("option", { value: "-1", text: "All threads" }));
    const seen = new Set(W.thread);
    D.threads.forEach((t, i) => {
      if (seen.has(i)) thread.append(el("option", { value: String(i), text: t.name }));
    });
    thread.addEventListener("change", () => {
      state.thread = Number(thread.value);
      state.zoom = 0;
      recompute("thread");
    });
    // Several processes (`--subprocesses`): a process filter, which also narrows the threads.
    const processes = D.processes || [];
    if (processes.length > 1) {
      const process = $("process");
      process.append(el("option", { value: "-1", text: "All processes" }));
      processes.forEach((p, i) => {
        process.append(el("option", { value: String(i), text: p.pid + " " + p.target }));
      });
      process.parentElement.hidden = false;
      process.addEventListener("change", () => {
        state.process = Number(process.value);
        for (const option of thread.options) {
          const i = Number(option.value);
          option.hidden = i >= 0 && state.process >= 0 && D.threads[i].process !== state.process;
        }
        if (state.thread >= 0 && thread.options[thread.selectedIndex].hidden) {
          thread.value = "-1";
          state.thread = -1;
        }
        state.zoom = 0;
        recompute("process");
      });
    }
    $("idle").addEventListener("change", (e) => {
      state.idle = e.target.checked;
      recompute("idle");
    });
    const mode = (icicle) => {
      state.icicle = icicle;
      $("mode-flame").setAttribute("aria-pressed", String(!icicle));
      $("mode-icicle").setAttribute("aria-pressed", String(icicle));
      drawFlame("mode");
    };
    $("mode-flame").addEventListener("click", () => mode(false));
    $("mode-icicle").addEventListener("click", () => mode(true));
    $("left-heavy").addEventListener("change", (e) => {
      state.leftHeavy = e.target.checked;
      drawFlame("left-heavy");
    });
    $("search").addEventListener("input", (e) => search(e.target.value));
    $("range-clear").addEventListener("click", () => setRange(null));
  }

  function setMetric(id) {
    if (!metricById[id]) return;
    state.metric = id;
    $("metric").value = id;
    state.zoom = 0;
    if (metricById[id].exact) state.tab = "exact";
    recompute("metric");
  }

  // ---- computing what is shown ------------------------------------------------------------

  let values = new Float64Array(nW); // per weight
  const fSelf = new Float64Array(nNodes);
  const fTotal = new Float64Array(nNodes);

  function aggregate() {
    fSelf.fill(0);
    fTotal.fill(0);
    if (metricById[state.metric] && metricById[state.metric].exact) {
      values = new Float64Array(nW);
      return;
    }
    values = weightValues(state.metric);
    for (let w = 0; w < nW; w++) if (values[w] > 0) fSelf[flameOf[W.stack[w]]] += values[w];
    for (let n = nNodes - 1; n > 0; n--) {
      fTotal[n] += fSelf[n];
      fTotal[fParent[n]] += fTotal[n];
    }
    fTotal[0] += fSelf[0];
  }

  function recompute(kind) {
    const start = performance.now();
    aggregate();
    drawFlame(kind, start);
    drawTimeline();
    renderPanels();
  }

  // ---- flame graph ----------------------------------------------------------------------------

  const ROW = 18;
  const flame = $("flame");
  const flameCtx = flame.getContext("2d");
  let rows = []; // per depth: flat [x, width, node, ...]
  let matched = new Uint8Array(nFn);
  const lowerNames = fnName.map((n) => n.toLowerCase());
  const lowerFiles = files.map((f) => f.shown.toLowerCase());

  function colour(node, dim) {
    const f = fFn[node];
    let h = 0;
    const name = fnName[f];
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    const file = fnFile[f];
    const hue = 8 + ((file * 37) % 42);
    const light = 52 + (Math.abs(h) % 14);
    return dim ? `hsl(${hue}, 12%, 86%)` : `hsl(${hue}, 78%, ${light}%)`;
  }

  function drawFlame(kind, start = performance.now()) {
    const exact = metricById[state.metric] && metricById[state.metric].exact;
    const note = $("flame-note");
    const width = Math.max(200, $("flame-box").clientWidth - 2);
    const total = fTotal[state.zoom];
    rows = [];
    let maxDepth = 0;
    let rects = 0;
    if (!exact && total > 0) {
      const scale = width / total;
      const base = fDepth[state.zoom];
      const todo = [state.zoom, 0];
      while (todo.length) {
        const x = todo.pop();
        const node = todo.pop();
        const w = fTotal[node] * scale;
        const depth = fDepth[node] - base;
        if (depth > maxDepth) maxDepth = depth;
        (rows[depth] || (rows[depth] = [])).push(x, w, node);
        rects++;
        let children = kids(node);
        if (state.leftHeavy) children = children.slice().sort((a, b) => fTotal[b] - fTotal[a]);
        let cx = x;
        for (const k of children) {
          const kw = fTotal[k] * scale;
          if (kw >= 0.3) todo.push(k, cx);
          cx += kw;
        }
      }
    }
    note.hidden = !(exact || total <= 0);
    note.textContent = exact
      ? "Exact calls and tottime are counted per function, not per stack: see the Exact tab."
      : "Nothing recorded for this metric" + (state.range ? " in the selected range" : "") + (state.thread >= 0 ? " on this thread" : "") + (state.process >= 0 ? " in this process" : "") + ".";
    const dpr = window.devicePixelRatio || 1;
    const height = rows.length ? (maxDepth + 1) * ROW : 0;
    flame.width = Math.round(width * dpr);
    flame.height = Math.round(height * dpr);
    flame.style.height = height + "px";
    const ctx = flameCtx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px ui-monospace, 'DejaVu Sans Mono', monospace";
    ctx.textBaseline = "middle";
    const searching = state.query !== "";
    for (let d = 0; d < rows.length; d++) {
      const row = rows[d];
      if (!row) continue;
      const y = state.icicle ? d * ROW : (maxDepth - d) * ROW;
      for (let i = 0; i < row.length; i += 3) {
        const x = row[i];
        const w = row[i + 1];
        const node = row[i + 2];
        const isMatch = searching && node !== 0 && matched[fFn[node]];
        ctx.fillStyle = node === 0 ? "#c9ccd1" : isMatch ? "#d0219f" : colour(node, searching);
        ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
        if (w > 28) {
          const label = node === 0 ? "all" : fnName[fFn[node]];
          const fit = Math.floor((w - 6) / 7.2);
          ctx.fillStyle = isMatch ? "#fff" : "#1d1f21";
          ctx.fillText(label.length > fit ? label.slice(0, Math.max(fit - 1, 0)) + "…" : label, x + 3, y + ROW / 2);
        }
      }
    }
    flame.dataset.rects = String(rects);
    flame.dataset.zoom = String(state.zoom);
    flame.dataset.maxDepth = String(maxDepth);
    crumbs();
    const ms = performance.now() - start;
    timings.draws.push({ kind, ms, rects });
    timings.last = { kind, ms, rects };
  }

  function crumbs() {
    const box = $("crumbs");
    box.textContent = "";
    const path = [];
    for (let n = state.zoom; n >= 0; n = fParent[n]) path.unshift(n);
    path.forEach((n, i) => {
      const label = n === 0 ? "all" : fnName[fFn[n]];
      if (i) box.append(" › ");
      box.append(el("button", { type: "button", text: label, "data-node": String(n), onclick: () => zoomTo(n) }));
    });
    box.append(el("span", { class: "note", text: "  " + describeTotal(fTotal[state.zoom]) }));
  }

  function describeTotal(v) {
    const m = metricById[state.metric];
    if (!m || m.exact) return "";
    const all = fTotal[0];
    return fmtValue(v, m.unit) + (all > 0 && v !== all ? " (" + fmtShare(v / all) + " of all)" : "");
  }

  function zoomTo(node) {
    state.zoom = node;
    drawFlame("zoom");
  }

  function nodeAt(clientX, clientY) {
    const r = flame.getBoundingClientRect();
    const x = clientX - r.left;
    const y = clientY - r.top;
    const maxDepth = rows.length - 1;
    const d = state.icicle ? Math.floor(y / ROW) : maxDepth - Math.floor(y / ROW);
    const row = rows[d];
    if (!row) return -1;
    for (let i = 0; i < row.length; i += 3) if (x >= row[i] && x < row[i] + row[i + 1]) return row[i + 2];
    return -1;
  }

  function tooltip(node, clientX, clientY) {
    const tip = $("tooltip");
    if (node < 0) {
      tip.hidden = true;
      return;
    }
    const m = metricById[state.metric];
    const all = fTotal[0];
    const lines = [];
    if (node === 0) lines.push("all");
    else lines.push(fnName[fFn[node]], where(fFn[node]));
    lines.push(
      "self  " + fmtValue(fSelf[node], m.unit) + "  (" + fmtShare(all ? fSelf[node] / all : 0) + ")",
      "total " + fmtValue(fTotal[node], m.unit) + "  (" + fmtShare(all ? fTotal[node] / all : 0) + ")",
    );
    if (state.zoom !== 0 && fTotal[state.zoom] > 0)
      lines.push("of the zoomed frame: " + fmtShare(fTotal[node] / fTotal[state.zoom]));
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    tip.style.left = Math.min(clientX + 14, window.innerWidth - 340) + "px";
    tip.style.top = clientY + 16 + "px";
  }

  flame.addEventListener("mousemove", (e) => tooltip(nodeAt(e.clientX, e.clientY), e.clientX, e.clientY));
  flame.addEventListener("mouseleave", () => tooltip(-1));
  flame.addEventListener("click", (e) => {
    const node = nodeAt(e.clientX, e.clientY);
    if (node < 0) return;
    zoomTo(node);
    if (node > 0) openSource(fFn[node]);
  });

  function search(text) {
    const start = performance.now();
    state.query = text.trim().toLowerCase();
    matched = new Uint8Array(nFn);
    let count = 0;
    if (state.query) {
      const fileHit = lowerFiles.map((f) => f.includes(state.query));
      for (let f = 0; f < nFn; f++) {
        if (lowerNames[f].includes(state.query) || fileHit[fnFile[f]]) {
          matched[f] = 1;
          count++;
        }
      }
    }
    drawFlame("search", start);
    const info = $("search-info");
    if (!state.query) {
      info.textContent = "";
      delete flame.dataset.matchShare;
      return;
    }
    // What the matching frames add up to, each counted once under its outermost match: one
    // pass in node order (parents first), marking what lies under the zoomed frame or a match.
    let hit = 0;
    const under = new Uint8Array(nNodes); // 1: under the zoomed frame, 2: and under a match
    under[state.zoom] = 1;
    for (let n = state.zoom + 1; n < nNodes; n++) {
      const p = under[fParent[n]];
      if (!p) continue;
      if (p === 1 && matched[fFn[n]]) {
        hit += fTotal[n];
        under[n] = 2;
      } else {
        under[n] = p;
      }
    }
    if (state.zoom !== 0 && matched[fFn[state.zoom]]) hit = fTotal[state.zoom];
    const whole = fTotal[state.zoom];
    const share = whole > 0 ? hit / whole : 0;
    flame.dataset.matchShare = share.toFixed(4);
    info.textContent = count + (count === 1 ? " function matches: " : " functions match: ") + fmtShare(share) + " of " + (state.zoom ? "the zoomed frame" : "the shown total");
    timings.last.ms = performance.now() - start;
  }

  // ---- timeline -----------------------------------------------------------------------------

  const timeline = $("timeline");
  const GUTTER = 130;
  const LANE = 12;
  // Per thread and slice: samples, on-CPU and GIL-holding samples.
  const threadsShown = [...new Set(W.thread)].sort((a, b) => a - b);
  const lanes = threadsShown.map((t) => ({
    thread: t,
    samples: new Float64Array(TL.buckets),
    active: new Float64Array(TL.buckets),
    gil: new Float64Array(TL.buckets),
  }));
  {
    const laneOf = new Map(threadsShown.map((t, i) => [t, i]));
    for (let b = 0; b < TL.buckets; b++) {
      for (let c = TL.start[b]; c < TL.start[b + 1]; c++) {
        const lane = lanes[laneOf.get(W.thread[TL.weight[c]])];
        lane.samples[b] += TL.samples[c];
        lane.active[b] += TL.active[c];
        lane.gil[b] += TL.gil[c];
      }
    }
  }
  const memory = D.memory || null;
  // Bytes allocated per slice, for the allocation lane.
  const allocPerBucket = new Float64Array(TL.buckets);
  if (TA) for (let b = 0; b < TL.buckets; b++) for (let c = TA.start[b]; c < TA.start[b + 1]; c++) allocPerBucket[b] += TA.bytes[c];
  const allocMax = allocPerBucket.reduce((a, b) => Math.max(a, b), 0);
  const ALLOC_ROW = allocMax > 0 ? 26 : 0;
  const runNs = Math.max(D.run.duration_ns, TL.buckets * TL.bucketNs, 1);
  let drag = null;

  function drawTimeline() {
    const width = Math.max(300, timeline.parentElement.clientWidth - 32);
    const plot = width - GUTTER;
    const heapRows = memory && (memory.heap.length || memory.rss.length) ? 60 : 0;
    const gcRow = memory && memory.gc.events.length ? 14 : 0;
    const height = 16 + lanes.length * (2 * LANE + 4) + ALLOC_ROW + heapRows + gcRow + 4;
    const dpr = window.devicePixelRatio || 1;
    timeline.width = Math.round(width * dpr);
    timeline.height = Math.round(height * dpr);
    timeline.style.height = height + "px";
    const ctx = timeline.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const xOf = (ns) => GUTTER + (ns / runNs) * plot;
    // Axis.
    ctx.fillStyle = "#6a6f75";
    for (let i = 0; i <= 5; i++) {
      const ns = (runNs * i) / 5;
      ctx.fillText(fmtNs(ns), Math.min(xOf(ns), width - 40), 7);
    }
    let y = 16;
    const bw = (TL.bucketNs / runNs) * plot;
    for (const lane of lanes) {
      ctx.fillStyle = "#1d1f21";
      const name = D.threads[lane.thread].name;
      ctx.fillText(name.length > 18 ? name.slice(0, 17) + "…" : name, 2, y + LANE / 2);
      ctx.fillStyle = "#6a6f75";
      ctx.fillText("GIL", GUTTER - 24, y + LANE + 2 + LANE / 2);
      for (let b = 0; b < TL.buckets; b++) {
        const n = lane.samples[b];
        if (!n) continue;
        const x = GUTTER + b * bw;
        ctx.fillStyle = `rgba(179, 65, 27, ${0.12 + 0.88 * (lane.active[b] / n)})`;
        ctx.fillRect(x, y, Math.max(bw, 1), LANE);
        ctx.fillStyle = `rgba(76, 57, 160, ${0.08 + 0.92 * (lane.gil[b] / n)})`;
        ctx.fillRect(x, y + LANE + 2, Math.max(bw, 1), LANE);
      }
      y += 2 * LANE + 4;
    }
    if (ALLOC_ROW) {
      ctx.fillStyle = "#1d1f21";
      ctx.fillText("allocated", 2, y + 8);
      ctx.fillStyle = "#6a6f75";
      ctx.fillText("≤ " + fmtBytes(allocMax) + "/slice", 2, y + 20);
      ctx.fillStyle = "rgba(179, 65, 27, 0.75)";
      for (let b = 0; b < TL.buckets; b++) {
        const h = (allocPerBucket[b] / allocMax) * (ALLOC_ROW - 4);
        if (h > 0) ctx.fillRect(GUTTER + b * bw, y + ALLOC_ROW - 2 - h, Math.max(bw, 1), Math.max(h, 1));
      }
      y += ALLOC_ROW;
    }
    if (heapRows) {
      const series = [
        { points: memory.rss, colour: "#2a7d4f", label: "RSS" },
        { points: memory.heap, colour: "#b3411b", label: "Python heap" },
      ];
      const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
      ctx.fillStyle = "#1d1f21";
      ctx.fillText("memory ≤ " + fmtBytes(max), 2, y + 8);
      let ly = y + 22;
      for (const s of series) {
        if (!s.points.length) continue;
        ctx.fillStyle = s.colour;
        ctx.fillText(s.label, 2, ly);
        ly += 14;
        ctx.strokeStyle = s.colour;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        s.points.forEach((p, i) => {
          const px = xOf(p[0]);
          const py = y + heapRows - 4 - (p[1] / max) * (heapRows - 8);
          if (i) ctx.lineTo(px, py);
          else ctx.moveTo(px, py);
        });
        ctx.stroke();
      }
      y += heapRows;
    }
    if (gcRow) {
      ctx.fillStyle = "#1d1f21";
      ctx.fillText("GC pauses", 2, y + 7);
      for (const g of memory.gc.events) {
        ctx.fillStyle = ["#7a8a99", "#c07a1a", "#c0281a"][Math.min(g.generation, 2)];
        ctx.fillRect(xOf(g.start_ns), y + 2, Math.max(1, (g.duration_ns / runNs) * plot), 10);
      }
    }
    const sel = drag ? [drag.from, drag.to].sort((a, b) => a - b) : state.range ? [GUTTER + state.range[0] * bw, GUTTER + state.range[1] * bw] : null;
    if (sel) {
      ctx.fillStyle = "rgba(30, 100, 200, 0.18)";
      ctx.fillRect(sel[0], 14, sel[1] - sel[0], height - 14);
      ctx.strokeStyle = "rgba(30, 100, 200, 0.8)";
      ctx.strokeRect(sel[0], 14, sel[1] - sel[0], height - 14);
    }
    timeline.dataset.range = state.range ? state.range.join("-") : "";
    timeline.dataset.lanes = String(lanes.length);
    rangeInfo();
  }

  function rangeInfo() {
    const info = $("range-info");
    $("range-clear").hidden = !state.range;
    if (!TL.buckets) {
      info.textContent = "No samples over time.";
      return;
    }
    if (!state.range) {
      info.textContent = "Drag across the timeline to show one time range.";
      return;
    }
    const [a, b] = state.range;
    let n = 0;
    for (let c = TL.start[a]; c < TL.start[b]; c++) n += TL.samples[c];
    const memoryNote = metricById[state.metric] && metricById[state.metric].wholeRun ? " What is live at the peak or the end covers the whole run." : "";
    info.textContent = "Showing " + fmtNs(a * TL.bucketNs) + " – " + fmtNs(b * TL.bucketNs) + ": " + fmtCount(n) + " samples." + memoryNote;
  }

  function bucketAt(x) {
    const plot = timeline.clientWidth - GUTTER;
    const ns = ((x - GUTTER) / plot) * runNs;
    return Math.max(0, Math.min(TL.buckets, Math.round(ns / TL.bucketNs)));
  }

  timeline.addEventListener("mousedown", (e) => {
    const x = e.clientX - timeline.getBoundingClientRect().left;
    if (x < GUTTER || !TL.buckets) return;
    drag = { from: x, to: x };
    e.preventDefault();
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    drag.to = Math.max(GUTTER, e.clientX - timeline.getBoundingClientRect().left);
    drawTimeline();
  });
  window.addEventListener("mouseup", () => {
    if (!drag) return;
    const [x0, x1] = [drag.from, drag.to].sort((a, b) => a - b);
    drag = null;
    if (x1 - x0 < 3) {
      drawTimeline();
      return;
    }
    const a = bucketAt(x0);
    const b = Math.max(a + 1, bucketAt(x1));
    setRange([a, Math.min(b, TL.buckets)]);
  });

  function setRange(range) {
    state.range = range && !(range[0] <= 0 && range[1] >= TL.buckets) ? range : null;
    state.zoom = 0;
    recompute("range");
  }

  // ---- tables ---------------------------------------------------------------------------------

  const sortState = {};

  /** A table whose numeric columns sort on a click of their header. `cols`: title, get(row),
   * show(value), num. Shows the first `limit` rows. */
  function table(id, cols, data, limit = 200) {
    const sortCol = sortState[id] !== undefined ? sortState[id] : cols.findIndex((c) => c.sort);
    const sorted = sortCol >= 0 ? data.slice().sort((a, b) => {
      const va = cols[sortCol].get(a);
      const vb = cols[sortCol].get(b);
      return cols[sortCol].num ? vb - va : va < vb ? -1 : va > vb ? 1 : 0;
    }) : data;
    const head = el("tr");
    cols.forEach((c, i) => {
      head.append(el("th", {
        class: (c.num ? "num" : "") + (i === sortCol ? " sorted" : ""),
        text: c.title,
        onclick: () => {
          sortState[id] = i;
          renderPanels();
        },
      }));
    });
    const body = el("tbody");
    for (const row of sorted.slice(0, limit)) {
      const tr = el("tr");
      for (const c of cols) {
        const v = c.get(row);
        if (c.bar) {
          const cell = el("td", { class: "barcell" }, el("div"));
          cell.firstChild.style.width = Math.round(100 * c.bar(row)) + "%";
          tr.append(cell);
        } else {
          const cell = el("td", { class: c.cls || (c.num ? "num" : ""), text: c.show ? c.show(v, row) : String(v) });
          if (c.click) {
            cell.classList.add("link");
            cell.title = c.clickTitle || "";
            cell.addEventListener("click", () => c.click(row));
          }
          tr.append(cell);
        }
      }
      body.append(tr);
    }
    const t = el("table", { "data-table": id, "data-rows": String(sorted.length) }, el("thead", null, head), body);
    const wrap = el("div", null, t);
    if (sorted.length > limit) wrap.append(el("p", { class: "note", text: "The first " + limit + " of " + fmtCount(sorted.length) + " rows." }));
    return wrap;
  }

  /** Self and total per function and per line for the shown values (a function or line on a
   * stack twice counts once in its total). */
  function flatTables() {
    const stackValue = new Float64Array(nStacks);
    for (let w = 0; w < nW; w++) if (values[w] > 0) stackValue[W.stack[w]] += values[w];
    const fs = new Float64Array(nFn);
    const ft = new Float64Array(nFn);
    const ls = new Float64Array(lineFile.length);
    const lt = new Float64Array(lineFile.length);
    const fStamp = new Int32Array(nFn).fill(-1);
    const lStamp = new Int32Array(lineFile.length).fill(-1);
    for (let s = 1; s < nStacks; s++) {
      const v = stackValue[s];
      if (!v) continue;
      fs[frFn[stFrame[s]]] += v;
      ls[lineOf[stFrame[s]]] += v;
      for (let a = s; a > 0; a = stParent[a]) {
        const f = frFn[stFrame[a]];
        const l = lineOf[stFrame[a]];
        if (fStamp[f] !== s) {
          fStamp[f] = s;
          ft[f] += v;
        }
        if (lStamp[l] !== s) {
          lStamp[l] = s;
          lt[l] += v;
        }
      }
    }
    return { fs, ft, ls, lt, all: fTotal[0] };
  }

  const PANELS = [
    { id: "functions", label: "Functions", ok: true, render: functionsPanel },
    { id: "lines", label: "Lines", ok: true, render: linesPanel },
    { id: "threads", label: "Threads", ok: true, render: threadsPanel },
    { id: "tasks", label: "Tasks", ok: !!D.tasks || !!D.tasks_note, render: tasksPanel },
    { id: "source", label: "Source", ok: D.sources.length > 0, render: sourcePanel },
    { id: "memory", label: "Memory", ok: !!memory, render: memoryPanel },
    { id: "gc", label: "GC", ok: !!memory && memory.gc.collections > 0, render: gcPanel },
    { id: "exact", label: "Exact", ok: !!D.exact, render: exactPanel },
    { id: "patterns", label: "Patterns", ok: !!D.patterns && D.patterns.length > 0, render: patternsPanel },
    { id: "advice", label: "Advice", ok: !!D.advice, render: advicePanel },
    { id: "heap", label: "Heap", ok: !!D.heap, render: heapPanel },
  ].filter((p) => p.ok);

  function tabs() {
    const bar = $("tabs");
    for (const p of PANELS) {
      bar.append(el("button", {
        type: "button",
        id: "tab-" + p.id,
        text: p.label,
        "aria-pressed": String(p.id === state.tab),
        onclick: () => showTab(p.id),
      }));
      $("panels").append(el("div", { class: "panel", id: "panel-" + p.id, hidden: "" }));
    }
  }

  function showTab(id) {
    state.tab = id;
    renderPanels();
  }

  function renderPanels() {
    let flat = null;
    const flatOnce = () => flat || (flat = flatTables());
    for (const p of PANELS) {
      const panel = $("panel-" + p.id);
      const shown = p.id === state.tab;
      $("tab-" + p.id).setAttribute("aria-pressed", String(shown));
      panel.hidden = !shown;
      if (!shown) continue;
      panel.textContent = "";
      p.render(panel, flatOnce);
    }
  }

  function metricNote() {
    const m = metricById[state.metric];
    const parts = [m ? m.label : ""];
    if (state.process >= 0) parts.push("process " + D.processes[state.process].pid);
    if (state.thread >= 0) parts.push("thread " + D.threads[state.thread].name);
    if (state.range && m && !m.wholeRun) parts.push(fmtNs(state.range[0] * TL.bucketNs) + " – " + fmtNs(state.range[1] * TL.bucketNs));
    if (state.metric === "wall" && !state.idle) parts.push("waiting time left out");
    return el("p", { class: "note", text: parts.join(" · ") });
  }

  function exactOnly(panel) {
    panel.append(el("p", { class: "note", text: "Exact figures are per function: see the Exact tab." }));
  }

  function functionsPanel(panel, flatOnce) {
    if (metricById[state.metric].exact) return exactOnly(panel);
    const { fs, ft, all } = flatOnce();
    const unit = metricById[state.metric].unit;
    const rowsData = [];
    for (let f = 0; f < nFn; f++) if (ft[f] > 0) rowsData.push(f);
    // Heaviest total first, so that equal self times keep that order (the sort is stable).
    rowsData.sort((a, b) => ft[b] - ft[a]);
    panel.append(metricNote(), table("functions", [
      { title: "Function", get: (f) => fnName[f], cls: "name" },
      { title: "Where", get: (f) => where(f), cls: "where" },
      { title: "Self", get: (f) => fs[f], show: (v) => fmtValue(v, unit), num: true, sort: true },
      { title: "Self %", get: (f) => fs[f], show: (v) => fmtShare(all ? v / all : 0), num: true },
      { title: "Total", get: (f) => ft[f], show: (v) => fmtValue(v, unit), num: true },
      { title: "Total %", get: (f) => ft[f], show: (v) => fmtShare(all ? v / all : 0), num: true },
    ], rowsData));
  }

  function linesPanel(panel, flatOnce) {
    if (metricById[state.metric].exact) return exactOnly(panel);
    const { ls, lt, all } = flatOnce();
    const unit = metricById[state.metric].unit;
    const rowsData = [];
    for (let l = 0; l < lineFile.length; l++) if (lt[l] > 0) rowsData.push(l);
    rowsData.sort((a, b) => lt[b] - lt[a]);
    const text = (l) => {
      const src = sourceText(lineFile[l]);
      return src ? (src[lineNo[l] - 1] || "").trim() : "";
    };
    panel.append(metricNote(), table("lines", [
      { title: "Line", get: (l) => files[lineFile[l]].shown + ":" + lineNo[l], cls: "where" },
      { title: "Code", get: text, cls: "name" },
      { title: "Self", get: (l) => ls[l], show: (v) => fmtValue(v, unit), num: true, sort: true },
      { title: "Self %", get: (l) => ls[l], show: (v) => fmtShare(all ? v / all : 0), num: true },
      { title: "Total", get: (l) => lt[l], show: (v) => fmtValue(v, unit), num: true },
    ], rowsData));
  }

  function threadsPanel(panel) {
    const r = state.range ? rangeCounts() : null;
    const per = new Map();
    for (let w = 0; w < nW; w++) {
      const t = W.thread[w];
      const row = per.get(t) || { t, samples: 0, wall: 0, cpu: 0, active: 0, gil: 0 };
      const s = r ? r.s[w] : W.samples[w];
      const frac = W.samples[w] ? s / W.samples[w] : 0;
      const afrac = W.active[w] ? (r ? r.act[w] : W.active[w]) / W.active[w] : 0;
      row.samples += s;
      row.wall += W.wall[w] * frac;
      row.cpu += W.cpu[w] * afrac;
      row.active += r ? r.act[w] : W.active[w];
      row.gil += r ? r.g[w] : W.gil[w];
      per.set(t, row);
    }
    const rowsData = [...per.values()].filter((row) => row.samples > 0);
    panel.append(metricNote(), table("threads", [
      { title: "Thread", get: (row) => D.threads[row.t].name, cls: "name" },
      { title: "Samples", get: (row) => row.samples, show: fmtCount, num: true },
      { title: "Wall", get: (row) => row.wall, show: fmtNs, num: true, sort: true },
      { title: "CPU", get: (row) => row.cpu, show: fmtNs, num: true },
      { title: "On CPU", get: (row) => row.active / row.samples, show: fmtShare, num: true },
      { title: "Holding the GIL", get: (row) => row.gil / row.samples, show: fmtShare, num: true },
    ], rowsData));
  }

  /** asyncio tasks (--async): each task's time running its own code and waiting at an await,
   * whole run. A task's name finds its frames in the flame graph, where its stacks are rooted. */
  function tasksPanel(panel) {
    // With one process picked, its tasks: several processes' tasks are named by their pid.
    const suffix = state.process >= 0 && D.processes.length > 1 ? " [pid " + D.processes[state.process].pid + "]" : null;
    const tasks = (D.tasks || []).filter((t) => suffix === null || t.name.endsWith(suffix));
    if (D.tasks_note) panel.append(el("p", { class: "note", text: D.tasks_note }));
    if (!D.tasks) return;
    panel.append(el("p", {
      class: "note",
      text: fmtCount(tasks.length) + (tasks.length === 1 ? " asyncio task" : " asyncio tasks") +
        ", whole run: running is time on the event loop in the task's own code, awaiting is time parked at an await; shares are of the run's " +
        fmtNs(D.run.duration_ns) + ". A task's name shows its stacks in the flame graph.",
    }));
    const place = (p) => (p ? p.function + "  " + shortPath(p.file) + ":" + p.line : "");
    const cols = [
      {
        title: "Task", get: (t) => t.name, cls: "name",
        click: (t) => showTask(t.name), clickTitle: "Show this task in the flame graph",
      },
      { title: "Running", get: (t) => t.running_ns, show: fmtNs, num: true, sort: true },
      { title: "Running %", get: (t) => t.running_share, show: fmtShare, num: true },
      { title: "CPU", get: (t) => t.cpu_ns, show: fmtNs, num: true },
      { title: "Awaiting", get: (t) => t.awaiting_ns, show: fmtNs, num: true },
      { title: "Awaiting %", get: (t) => t.awaiting_share, show: fmtShare, num: true },
    ];
    if (tasks.some((t) => t.alloc_bytes !== undefined)) {
      cols.push({ title: "Allocated", get: (t) => t.alloc_bytes || 0, show: fmtBytes, num: true });
    }
    cols.push({ title: "Waiting longest at", get: (t) => place(t.awaiting_at), cls: "where" });
    panel.append(table("tasks", cols, tasks));
  }

  /** Highlights a task's frames in the flame graph (its root, `<task NAME>`). */
  function showTask(name) {
    const box = $("search");
    box.value = "<task " + name + ">";
    search(box.value);
    $("flame").scrollIntoView({ block: "start" });
  }

  // ---- source view ----------------------------------------------------------------------------

  const sourceByFile = new Map(D.sources.map((s) => [s.file, s.lines]));
  const sourceText = (file) => sourceByFile.get(file) || null;

  function openSource(fn) {
    const file = fnFile[fn];
    if (!sourceByFile.has(file)) return;
    state.sourceFile = file;
    state.focusFunction = fn;
    showTab("source");
    const row = document.querySelector("#panel-source tr.focus");
    if (row) row.scrollIntoView({ block: "center" });
  }

  function sourcePanel(panel, flatOnce) {
    if (state.sourceFile < 0 || !sourceByFile.has(state.sourceFile)) state.sourceFile = D.sources[0].file;
    const pick = el("select", { id: "source-file" });
    for (const s of D.sources) pick.append(el("option", { value: String(s.file), text: files[s.file].shown }));
    pick.value = String(state.sourceFile);
    pick.addEventListener("change", () => {
      state.sourceFile = Number(pick.value);
      state.focusFunction = -1;
      renderPanels();
    });
    panel.append(el("p", null, "File ", pick), metricNote());
    const exact = metricById[state.metric].exact;
    const flat = exact ? null : flatOnce();
    const unit = exact ? "n" : metricById[state.metric].unit;
    const file = state.sourceFile;
    const lines = sourceText(file);
    const self = new Float64Array(lines.length + 2);
    const total = new Float64Array(lines.length + 2);
    if (flat) {
      for (let l = 0; l < lineFile.length; l++) {
        if (lineFile[l] !== file || lineNo[l] > lines.length) continue;
        self[lineNo[l]] += flat.ls[l];
        total[lineNo[l]] += flat.lt[l];
      }
    }
    // Memory at each line (where it was the allocating frame), whole run.
    const mem = { alloc: null, peak: null, leak: null };
    if (hasMemory) {
      for (const k of Object.keys(mem)) mem[k] = new Float64Array(lines.length + 2);
      for (let w = 0; w < nW; w++) {
        const s = W.stack[w];
        if (!s || lineFile[lineOf[stFrame[s]]] !== file) continue;
        const ln = lineNo[lineOf[stFrame[s]]];
        if (ln > lines.length) continue;
        mem.alloc[ln] += W.alloc[w];
        mem.peak[ln] += W.peak[w];
        mem.leak[ln] += W.leak[w];
      }
    }
    const maxTotal = total.reduce((a, b) => Math.max(a, b), 1e-9);
    const all = flat ? flat.all : 0;
    let focusFrom = 0;
    let focusTo = -1;
    if (state.focusFunction >= 0) {
      focusFrom = fnLine[state.focusFunction];
      // The function's lines: up to the next function that starts after it in this file.
      focusTo = lines.length;
      for (let f = 0; f < nFn; f++) if (fnFile[f] === file && fnLine[f] > focusFrom && fnLine[f] <= focusTo) focusTo = fnLine[f] - 1;
    }
    const head = el("tr", null, el("th", { class: "num", text: "Line" }), el("th", { class: "num", text: "Self" }), el("th", { class: "num", text: "Total" }));
    if (hasMemory) for (const t of ["Allocated", "Live at peak", "Live at end"]) head.append(el("th", { class: "num", text: t }));
    head.append(el("th", { text: "Code" }));
    const body = el("tbody");
    lines.forEach((text, i) => {
      const ln = i + 1;
      const tr = el("tr", { "data-line": String(ln) });
      if (ln >= focusFrom && ln <= focusTo) tr.className = "focus";
      const heat = total[ln] / maxTotal;
      if (heat > 0) tr.style.background = `rgba(230, 90, 40, ${(0.08 + 0.6 * heat).toFixed(3)})`;
      tr.append(
        el("td", { class: "lineno", text: String(ln) }),
        el("td", { class: "num", text: self[ln] ? fmtValue(self[ln], unit) + " " + fmtShare(all ? self[ln] / all : 0) : "" }),
        el("td", { class: "num", text: total[ln] ? fmtValue(total[ln], unit) : "" }),
      );
      if (hasMemory) for (const k of ["alloc", "peak", "leak"]) tr.append(el("td", { class: "num", text: mem[k][ln] ? fmtBytes(mem[k][ln]) : "" }));
      tr.append(el("td", { class: "code", text }));
      body.append(tr);
    });
    panel.append(el("table", { class: "source", "data-table": "source" }, el("thead", null, head), body));
  }

  // ---- memory, GC, exact, patterns --------------------------------------------------------------

  function facts(pairs) {
    const dl = el("dl", { class: "facts" });
    for (const [k, v] of pairs) dl.append(el("dt", { text: k }), el("dd", { text: v }));
    return dl;
  }

  const shownPath = new Map(files.map((f) => [f.path, f.shown]));
  const shortPath = (path) => shownPath.get(path) || path;

  function memoryLines(id, rowsData) {
    return table(id, [
      { title: "Line", get: (r) => shortPath(r.file) + ":" + r.line, cls: "where" },
      { title: "Function", get: (r) => r.function, cls: "name" },
      { title: "Bytes", get: (r) => r.bytes, show: fmtBytes, num: true, sort: true },
      { title: "Allocations", get: (r) => r.count, show: fmtCount, num: true },
    ], rowsData, 50);
  }

  function memoryPanel(panel) {
    const m = memory;
    panel.append(facts([
      ["Recorded", m.mode === "all" ? "every allocation" : "a sample of allocations, one per " + fmtBytes(m.mean_bytes) + " on average (figures are estimates)"],
      ["Allocated", fmtBytes(m.allocated_bytes) + " in " + fmtCount(m.allocated_count) + " allocations"],
      ["Peak", fmtBytes(m.peak_bytes) + " at " + fmtNs(m.peak_time_ns)],
      ["Live at the end", fmtBytes(m.live_end_bytes)],
      ["Lost events", fmtCount(m.lost_events)],
    ]));
    panel.append(el("h2", { text: "Leak candidates: still live at the end" }), memoryLines("leak", m.leak_lines));
    panel.append(el("h2", { text: "Live at the peak" }), memoryLines("peak", m.peak_lines));
    panel.append(el("h2", { text: "Allocated" }), memoryLines("alloc", m.alloc_lines));
    const maxBytes = Math.max(1, ...m.size_classes.map((c) => c.bytes));
    panel.append(el("h2", { text: "Allocation sizes" }), table("sizes", [
      { title: "Size", get: (c) => c.upper, show: (u) => "≤ " + fmtBytes(u), num: true },
      { title: "Allocations", get: (c) => c.count, show: fmtCount, num: true },
      { title: "Bytes", get: (c) => c.bytes, show: fmtBytes, num: true },
      { title: "", get: () => 0, bar: (c) => c.bytes / maxBytes },
    ], m.size_classes));
    if (m.snapshots.length) {
      panel.append(el("h2", { text: "Snapshots" }), table("snapshots", [
        { title: "Label", get: (s) => s.label, cls: "name" },
        { title: "At", get: (s) => s.time_ns, show: fmtNs, num: true },
        { title: "Heap", get: (s) => s.heap_bytes, show: fmtBytes, num: true },
        { title: "RSS", get: (s) => s.rss_bytes, show: fmtBytes, num: true },
        {
          title: "Most objects (tracked by the collector)",
          get: (s) => Object.entries(s.types).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([t, n]) => t + " " + fmtCount(n)).join(", "),
        },
      ], m.snapshots));
    }
  }

  function gcPanel(panel) {
    const gc = memory.gc;
    panel.append(facts([
      ["Collections", fmtCount(gc.collections) + " (generation 0/1/2: " + gc.per_generation.join(" / ") + ")"],
      ["Paused", fmtNs(gc.total_ns) + " in all; median " + fmtNs(gc.p50_ns) + ", p99 " + fmtNs(gc.p99_ns) + ", longest " + fmtNs(gc.max_ns)],
      ["Collected", fmtCount(gc.collected) + " objects (" + fmtCount(gc.uncollectable) + " uncollectable)"],
    ]));
    // Pauses by duration, in powers of two from 1 µs.
    const classes = new Map();
    for (const e of gc.events) {
      const k = Math.max(0, Math.ceil(Math.log2(Math.max(e.duration_ns, 1) / 1000)));
      const c = classes.get(k) || { k, count: 0, ns: 0, gens: [0, 0, 0] };
      c.count++;
      c.ns += e.duration_ns;
      c.gens[Math.min(e.generation, 2)]++;
      classes.set(k, c);
    }
    const rowsData = [...classes.values()].sort((a, b) => a.k - b.k);
    const most = Math.max(1, ...rowsData.map((c) => c.count));
    panel.append(el("h2", { text: "Pauses by duration" }), table("gc-histogram", [
      { title: "Up to", get: (c) => c.k, show: (k) => fmtNs(1000 * 2 ** k), num: true },
      { title: "Collections", get: (c) => c.count, show: fmtCount, num: true },
      { title: "Generations 0/1/2", get: (c) => c.gens.join(" / ") },
      { title: "Paused", get: (c) => c.ns, show: fmtNs, num: true },
      { title: "", get: () => 0, bar: (c) => c.count / most },
    ], rowsData));
    if (D.gc_triggers) {
      panel.append(el("h2", { text: "What set collections off: the allocating line" }), table("gc-triggers", [
        { title: "Function", get: (t) => t.function, cls: "name" },
        { title: "Line", get: (t) => t.file + ":" + t.line, cls: "where" },
        { title: "Collections", get: (t) => t.collections, show: fmtCount, num: true },
        { title: "Generations 0/1/2", get: (t) => t.generations.join(" / ") },
        { title: "Paused", get: (t) => t.pause_ns, show: fmtNs, num: true, sort: true },
      ], D.gc_triggers));
    }
    panel.append(el("h2", { text: "Longest pauses" }), table("gc-longest", [
      { title: "At", get: (e) => e.start_ns, show: fmtNs, num: true },
      { title: "Pause", get: (e) => e.duration_ns, show: fmtNs, num: true, sort: true },
      { title: "Generation", get: (e) => e.generation, num: true },
      { title: "Collected", get: (e) => e.collected, show: fmtCount, num: true },
    ], gc.events, 20));
  }

  function exactPanel(panel) {
    const x = D.exact;
    panel.append(el("p", { class: "note", text: "Every call counted by the profile hook (--exact), whole run; hook overhead of " + x.overhead_ns_per_event.toFixed(0) + " ns per event subtracted." }));
    const sortBy = state.metric === "calls" ? 2 : 4;
    if (sortState.exact === undefined) sortState.exact = sortBy;
    panel.append(table("exact", [
      { title: "Function", get: (f) => f.name, cls: "name" },
      { title: "Where", get: (f) => shortPath(f.file) + ":" + f.line, cls: "where" },
      { title: "Calls", get: (f) => f.calls, show: fmtCount, num: true },
      { title: "Primitive calls", get: (f) => f.prim_calls, show: fmtCount, num: true },
      { title: "tottime", get: (f) => f.tottime_ns, show: fmtNs, num: true },
      { title: "cumtime", get: (f) => f.cumtime_ns, show: fmtNs, num: true },
      { title: "Per call", get: (f) => (f.calls ? f.tottime_ns / f.calls : 0), show: fmtNs, num: true },
    ], x.functions));
  }

  function patternsPanel(panel) {
    panel.append(table("patterns", [
      { title: "Kind", get: (p) => p.kind, cls: "name" },
      { title: "Name", get: (p) => p.name, cls: "name" },
      { title: "Site", get: (p) => p.site, cls: "where" },
      { title: "Figures", get: (p) => Object.entries(p.stats).map(([k, v]) => k + " " + (Number.isInteger(v) ? fmtCount(v) : v.toFixed(3))).join(", ") },
    ], D.patterns));
  }

  function advicePanel(panel) {
    const a = D.advice;
    const findings = a.findings || [];
    const count = (n, one, many) => fmtCount(n) + " " + (n === 1 ? one : many);
    const summary = a.summary || { files: 0, fixable: 0 };
    panel.append(el("p", {
      class: "note",
      text: count(findings.length, "finding", "findings") + " of fluoro advise in " + count(summary.files, "file", "files") +
        ", ranked by what this run measured on their lines (" + fmtCount(summary.fixable) + " fixable with fluoro advise --fix).",
    }));
    const cost = (f) => (f.cost ? Math.max(f.cost.share, f.cost.bytes_share) : 0);
    panel.append(table("advice", [
      { title: "Rule", get: (f) => f.code + " " + f.name, cls: "name" },
      { title: "Where", get: (f) => shortPath(f.path) + ":" + f.line, cls: "where" },
      { title: "Finding", get: (f) => f.message },
      { title: "Time", get: (f) => (f.cost ? f.cost.ns : 0), show: fmtNs, num: true },
      { title: "Share", get: cost, show: (v, f) => fmtShare(v) + (f.cost && f.cost.cold ? " (cold)" : ""), num: true, sort: true },
      { title: "Allocated", get: (f) => (f.cost ? f.cost.bytes : 0), show: fmtBytes, num: true },
    ], findings));
    for (const w of (a.warnings || []).concat(a.syntax_errors || [])) panel.append(el("p", { class: "note", text: String(w) }));
  }

  function heapPanel(panel) {
    const h = D.heap;
    const sm = h.summary;
    panel.append(el("p", { class: "note", text: "The heap snapshot taken as the run exited (--heap-at-exit): " + h.path }));
    panel.append(facts([
      ["Objects", fmtCount(sm.objects) + " (" + fmtBytes(sm.shallow_bytes) + "), " + fmtCount(sm.references) + " references, " + fmtCount(sm.roots) + " roots"],
      ["Unreachable", fmtCount(sm.unreachable_objects) + " objects (" + fmtBytes(sm.unreachable_bytes) + ") the cycle collector could free now"],
    ]));
    panel.append(el("h2", { text: "Census by type" }), table("heap-types", [
      { title: "Type", get: (t) => t.name, cls: "name" },
      { title: "Objects", get: (t) => t.count, show: fmtCount, num: true },
      { title: "Shallow", get: (t) => t.shallow_bytes, show: fmtBytes, num: true },
      { title: "Retained", get: (t) => t.retained_bytes, show: fmtBytes, num: true, sort: true },
    ], sm.types));
    panel.append(el("h2", { text: "Largest retainers (the interpreter's own structure left out)" }), table("heap-retainers", [
      { title: "Type", get: (r) => r.type, cls: "name" },
      { title: "Retained", get: (r) => r.retained_bytes, show: fmtBytes, num: true, sort: true },
      { title: "Objects", get: (r) => r.retained_objects, show: fmtCount, num: true },
      { title: "Path from a root", get: (r) => r.path || "", cls: "where" },
    ], h.dominators.retainers));
  }

  // ---- start --------------------------------------------------------------------------------

  header();
  controls();
  tabs();
  if (metricById[state.metric] && metricById[state.metric].exact) state.tab = "exact";
  aggregate();
  drawFlame("first");
  timings.firstDraw = performance.now();
  drawTimeline();
  renderPanels();
  timings.ready = performance.now();
  document.body.dataset.ready = "1";
  // Escape zooms back out to the whole graph (unless typing in the search box).
  window.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && e.target !== $("search") && state.zoom !== 0) zoomTo(0);
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      drawFlame("resize");
      drawTimeline();
    }, 100);
  });
  // For benchmarks and tests: the same actions the controls take.
  window.__fluoro = {
    zoomTo,
    search,
    setMetric,
    setRange,
    nodes: nNodes,
    stacks: nStacks - 1,
    weights: nW,
    cells: TL.weight.length,
    buckets: TL.buckets,
    heaviestChild(node) {
      let best = -1;
      for (const k of kids(node)) if (best < 0 || fTotal[k] > fTotal[best]) best = k;
      return best;
    },
  };
})();
