// Draws lamina's dashboard from snapshots (the live page and the offline report).
// Every text from the data goes through textContent: labels never become markup.
var lamina = (function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var STATES = ["waiting", "queued", "ahead", "running", "memory", "released", "erred"];
  var WINDOW = 30, LIVE_RECORDS = 10000;
  var STATE_COLORS = {waiting: "#d0d0d0", queued: "#9ecae1", ahead: "#c6dbef", running: "#3182bd",
                      memory: "#31a354", released: "#a1d99b", erred: "#de2d26"};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) { node.setAttribute(k, attrs[k]); }
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) { node.setAttribute(k, attrs[k]); }
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }
  function section(root, id, title) {
    var s = el("section", {id: id});
    s.appendChild(el("h2", {}, title));
    root.appendChild(s);
    return s;
  }
  var colors = {};
  function color(label) {     // called per bar per redraw: remember each label's colour
    var known = colors[label];
    if (known) { return known; }
    var h = 0;
    for (var i = 0; i < label.length; i++) { h = (h * 31 + label.charCodeAt(i)) | 0; }
    return (colors[label] = "hsl(" + (Math.abs(h) % 360) + ",60%,55%)");
  }
  function bytes(n) {
    if (n === undefined || n === null) { return "–"; }
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }
  function setText(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = String(value); }
  }
  function canvasFor(holder, height) {
    var c = holder.querySelector("canvas");
    if (!c) { c = el("canvas", {height: height}); holder.appendChild(c); }
    var w = Math.max(300, holder.clientWidth - 4);
    if (c.width !== w) { c.width = w; }
    return c;
  }

  // progress per layer ------------------------------------------------------------
  function drawProgress(holder, runs) {
    var table = el("table", {id: "progress-table"});
    var head = el("tr");
    ["run", "layer", "progress", "done", "total"].concat(STATES).forEach(function (h, i) {
      head.appendChild(el("th", {"class": i < 2 ? "label" : ""}, h));
    });
    table.appendChild(head);
    runs.forEach(function (run) {
      if (run.error) {
        var err = el("tr", {"class": "error", "data-run": run.id});
        err.appendChild(el("td", {"class": "label"}, run.id + " (" + run.outcome + ")"));
        var what = el("td", {"class": "label", colspan: 4 + STATES.length});
        what.appendChild(el("span", {"class": "error-type"}, run.error.type));
        what.appendChild(document.createTextNode(": "));
        what.appendChild(el("span", {"class": "error-message"}, run.error.message));
        if (run.error.where) {
          what.appendChild(el("span", {"class": "error-where muted"}, " in " + run.error.where));
        }
        err.appendChild(what);
        table.appendChild(err);
      }
      run.layers.forEach(function (layer, li) {
        var tr = el("tr", {"class": "layer", "data-run": run.id, "data-layer": li,
                           "data-outcome": run.outcome});
        tr.appendChild(el("td", {"class": "label outcome-" + run.outcome},
                          run.id + " (" + run.outcome + ")"));
        tr.appendChild(el("td", {"class": "label", title: layer.label}, layer.label));
        var bar = el("span", {"class": "bar"});
        ["memory", "released", "running", "ahead", "queued", "erred"].forEach(function (s) {
          var part = el("span");
          part.style.width = (layer.total ? 160 * layer[s] / layer.total : 0) + "px";
          part.style.background = STATE_COLORS[s];
          bar.appendChild(part);
        });
        var cell = el("td");
        cell.appendChild(bar);
        tr.appendChild(cell);
        tr.appendChild(el("td", {"class": "done"}, layer.done));
        tr.appendChild(el("td", {"class": "total"}, layer.total));
        STATES.forEach(function (s) { tr.appendChild(el("td", {"class": s}, layer[s])); });
        table.appendChild(tr);
      });
    });
    holder.replaceChildren(holder.firstChild, table);
    if (!runs.length) { holder.appendChild(el("p", {"class": "muted"}, "no computation yet")); }
  }

  // workers -------------------------------------------------------------------------
  function drawWorkers(holder, workers) {
    var table = el("table", {id: "workers-table"});
    var cols = [["address", "address"], ["threads", "nthreads"], ["in flight", "in_flight"],
                ["memory", "memory", bytes], ["CPU %", "cpu"], ["blocks held", "keys"],
                ["received", "bytes_received", bytes], ["sent", "bytes_sent", bytes],
                ["spilled", "spilled_bytes", bytes]];
    var head = el("tr");
    cols.forEach(function (c, i) { head.appendChild(el("th", {"class": i ? "" : "label"}, c[0])); });
    table.appendChild(head);
    workers.forEach(function (w) {
      var tr = el("tr", {"class": "worker", "data-worker": w.id});
      cols.forEach(function (c, i) {
        var v = w[c[1]];
        var shown = v === undefined ? "–" : (c[2] ? c[2](v) : (typeof v === "number"
                                                   ? Math.round(v * 10) / 10 : v));
        var attrs = {"class": (i ? "" : "label ") + c[1]};
        if (typeof v === "number") { attrs["data-value"] = v; }    // exact, for readers
        tr.appendChild(el("td", attrs, shown));
      });
      table.appendChild(tr);
    });
    var chart = holder.querySelector(".memory") || el("div", {"class": "memory"});
    holder.replaceChildren(holder.firstChild, table, el("h2", {}, "memory over time"), chart);
    drawMemory(chart, workers);
  }
  function drawMemory(holder, workers) {
    var c = canvasFor(holder, 140), g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    var t0 = Infinity, t1 = -Infinity, top = 1;
    workers.forEach(function (w) {
      (w.history || []).forEach(function (p) {
        t0 = Math.min(t0, p[0]); t1 = Math.max(t1, p[0]); top = Math.max(top, p[1]);
      });
    });
    if (!(t1 > t0)) { return; }
    workers.forEach(function (w) {
      g.strokeStyle = color(String(w.address));
      g.beginPath();
      (w.history || []).forEach(function (p, i) {
        var x = (p[0] - t0) / (t1 - t0) * (c.width - 60) + 55;
        var y = c.height - 5 - p[1] / top * (c.height - 20);
        if (i) { g.lineTo(x, y); } else { g.moveTo(x, y); }
      });
      g.stroke();
    });
    g.fillStyle = "#555";
    g.fillText(bytes(top), 2, 12);
    g.fillText((t1 - t0).toFixed(1) + " s", c.width - 40, c.height - 2);
  }

  // task stream ---------------------------------------------------------------------
  function TaskStream(holder, live) {
    this.holder = holder;
    this.live = live;
    this.records = [];
    this.skipped = 0;
    this.received = 0;
    this.labels = {};
    this.legend = el("div", {"class": "legend"});
    this.count = el("p", {"class": "muted", id: "task-count"});
    holder.appendChild(this.count);
  }
  // a record field: a list, or base64 of little-endian float64 (the live page's looks)
  function column(values) {
    if (typeof values !== "string") { return values; }
    var bin = atob(values), view = new DataView(new ArrayBuffer(bin.length));
    for (var i = 0; i < bin.length; i++) { view.setUint8(i, bin.charCodeAt(i)); }
    var out = new Array(bin.length / 8);
    for (var k = 0; k < out.length; k++) { out[k] = view.getFloat64(8 * k, true); }
    return out;
  }
  TaskStream.prototype.add = function (raw, labels) {
    var tasks = {dropped: raw.dropped, base: raw.base};
    ["run", "task", "layer", "worker", "thread", "start", "stop"].forEach(function (f) {
      tasks[f] = column(raw[f]);
    });
    this.skipped += tasks.dropped || 0;
    this.received += tasks.task.length;
    for (var rid in labels) { if (labels[rid].length) { this.labels[rid] = labels[rid]; } }
    // times arrive as whole microseconds after tasks.base (seconds)
    for (var i = 0; i < tasks.task.length; i++) {
      this.records.push([tasks.run[i], tasks.layer[i], tasks.worker[i], tasks.thread[i],
                         tasks.base + tasks.start[i] * 1e-6, tasks.base + tasks.stop[i] * 1e-6]);
    }
    // live: the last WINDOW seconds, at most LIVE_RECORDS bars (cheap to redraw each second)
    var cap = this.live ? LIVE_RECORDS : 200000;
    if (this.records.length > cap) { this.records = this.records.slice(-cap); }
    if (this.live && this.records.length) {
      var newest = this.records[this.records.length - 1][5], k = 0;
      while (k < this.records.length && this.records[k][5] < newest - WINDOW) { k++; }
      if (k) { this.records = this.records.slice(k); }
    }
  };
  TaskStream.prototype.label = function (r) {
    var names = this.labels[r[0]];
    return names && names[r[1]] !== undefined ? names[r[1]] : "layer " + r[1];
  };
  TaskStream.prototype.draw = function (now) {
    var recs = this.records;
    var t1 = this.live ? now : -Infinity, t0 = Infinity;
    recs.forEach(function (r) { t0 = Math.min(t0, r[4]); t1 = Math.max(t1, r[5]); });
    if (this.live) { t0 = Math.max(t0, t1 - WINDOW); }
    var lanes = {};
    recs.forEach(function (r) { lanes[r[2] + ":" + r[3]] = [r[2], r[3]]; });
    var keys = Object.keys(lanes).sort(function (a, b) {
      return lanes[a][0] - lanes[b][0] || lanes[a][1] - lanes[b][1];
    });
    var row = {};
    keys.forEach(function (k, i) { row[k] = i; });
    var c = canvasFor(this.holder, Math.max(40, 16 * keys.length + 16));
    c.height = Math.max(40, 16 * keys.length + 16);
    c.setAttribute("data-lanes", keys.join(" "));     // worker:thread, one lane each
    var g = c.getContext("2d"), span = Math.max(t1 - t0, 1e-6), left = 70, self = this;
    var seen = {};
    g.clearRect(0, 0, c.width, c.height);
    g.fillStyle = "#555";
    keys.forEach(function (k) { g.fillText("w" + lanes[k][0] + " t" + lanes[k][1], 2, 16 * row[k] + 12); });
    recs.forEach(function (r) {
      if (r[5] < t0) { return; }
      var label = self.label(r);
      g.fillStyle = seen[label] = color(label);
      var x = left + (Math.max(r[4], t0) - t0) / span * (c.width - left);
      var w = Math.max(1, (r[5] - Math.max(r[4], t0)) / span * (c.width - left));
      g.fillRect(x, 16 * row[r[2] + ":" + r[3]] + 2, w, 12);
    });
    g.fillStyle = "#555";
    g.fillText(span.toFixed(2) + " s", c.width - 50, c.height - 2);
    this.count.textContent = this.received + " task records" +
      (this.skipped ? " (" + this.skipped + " more not shown)" : "");
    this.legend.replaceChildren();
    Object.keys(seen).forEach(function (label) {
      var item = el("span");
      var sw = el("span", {"class": "swatch"});
      sw.style.background = seen[label];
      item.appendChild(sw);
      item.appendChild(document.createTextNode(label));
      self.legend.appendChild(item);
    });
    if (!this.legend.parentNode) { this.holder.appendChild(this.legend); }
  };

  // per-layer timings (from the records) ----------------------------------------------
  function drawTimings(holder, stream) {
    var by = {};
    stream.records.forEach(function (r) {
      var label = stream.label(r), d = r[5] - r[4];
      var s = by[label] || (by[label] = {n: 0, total: 0, max: 0});
      s.n += 1; s.total += d; s.max = Math.max(s.max, d);
    });
    var table = el("table", {id: "timings-table"});
    var head = el("tr");
    ["layer", "tasks", "total s", "mean ms", "max ms"].forEach(function (h, i) {
      head.appendChild(el("th", {"class": i ? "" : "label"}, h));
    });
    table.appendChild(head);
    Object.keys(by).sort(function (a, b) { return by[b].total - by[a].total; }).forEach(function (k) {
      var s = by[k], tr = el("tr", {"class": "timing"});
      [k, s.n, s.total.toFixed(3), (1e3 * s.total / s.n).toFixed(3), (1e3 * s.max).toFixed(3)]
        .forEach(function (v, i) { tr.appendChild(el("td", {"class": i ? "" : "label"}, v)); });
      table.appendChild(tr);
    });
    holder.replaceChildren(holder.firstChild, table);
  }

  // plans, as layered graphs ----------------------------------------------------------
  function drawPlans(holder, runs) {
    var shown = holder.getAttribute("data-runs") || "";
    var ids = runs.filter(function (r) { return r.plan; }).slice(0, 5)
                  .map(function (r) { return r.id; }).join(",");
    if (ids === shown) { return; }
    holder.setAttribute("data-runs", ids);
    holder.replaceChildren(holder.firstChild);
    runs.filter(function (r) { return r.plan; }).slice(0, 5).forEach(function (run) {
      holder.appendChild(el("h2", {}, "run " + run.id + ": " + run.n_tasks + " tasks"));
      holder.appendChild(planSvg(run.plan, "plan-" + run.id));
    });
  }
  function planSvg(plan, id) {
    var nodes = plan.nodes, depth = nodes.map(function () { return 0; });
    plan.edges.forEach(function (e) { depth[e[1]] = Math.max(depth[e[1]], depth[e[0]] + 1); });
    var rows = {}, W = 250, LINE = 14;
    nodes.forEach(function (n, i) { (rows[depth[i]] = rows[depth[i]] || []).push(i); });
    var boxH = nodes.map(function (n) { return 40 + LINE * (n.rules || []).length; });
    var pos = {}, width = 0, height = 0, y = 10;
    Object.keys(rows).sort(function (a, b) { return a - b; }).forEach(function (d) {
      var tallest = 0;
      rows[d].forEach(function (i, k) {
        pos[i] = [10 + k * (W + 20), y];
        tallest = Math.max(tallest, boxH[i]);
        width = Math.max(width, pos[i][0] + W + 10);
      });
      y += tallest + 30;
      height = y - 20;
    });
    var root = svg("svg", {id: id, width: width, height: height, "class": "plan"});
    plan.edges.forEach(function (e) {
      var a = pos[e[0]], b = pos[e[1]];
      root.appendChild(svg("line", {x1: a[0] + W / 2, y1: a[1] + boxH[e[0]], x2: b[0] + W / 2,
                                    y2: b[1], stroke: "#888"}));
    });
    nodes.forEach(function (n, i) {
      var g = svg("g", {"class": "node", transform: "translate(" + pos[i][0] + "," + pos[i][1] + ")"});
      g.appendChild(svg("rect", {width: W, height: boxH[i], rx: 4,
                                 fill: n.root ? "#e6f2ff" : "#f4f4f4", stroke: color(n.label)}));
      var title = svg("title", {}, n.label);
      g.appendChild(title);
      g.appendChild(svg("text", {x: 6, y: 16, "class": "label"},
                        n.label.length > 36 ? n.label.slice(0, 35) + "…" : n.label));
      g.appendChild(svg("text", {x: 6, y: 32, fill: "#666"},
                        "(" + n.shape.join(", ") + ") " + n.dtype + ", " + n.blocks + " blocks"));
      // the optimizer rules that made this layer (lamina.explain's), one a line
      var rules = svg("text", {x: 6, y: 32, "class": "rules"});
      (n.rules || []).forEach(function (r) {
        rules.appendChild(svg("tspan", {x: 6, dy: LINE, "class": "rule"}, r));
      });
      g.appendChild(rules);
      root.appendChild(g);
    });
    return root;
  }

  // the view: sections for a page, updated from each snapshot --------------------------
  function view(root, page, opts) {
    var all = page === "all" || page === "report";
    var parts = {};
    if (all || page === "status") { parts.progress = section(root, "progress", "progress per layer"); }
    if (all || page === "tasks") {
      parts.tasks = section(root, "tasks", "task stream");
      parts.stream = new TaskStream(parts.tasks, opts.live);
    }
    if (page === "report") { parts.timings = section(root, "timings", "time per layer"); }
    if (all || page === "workers") { parts.workers = section(root, "workers", "workers"); }
    if (all || page === "plan") { parts.plans = section(root, "plans", "plans"); }
    var updates = 0;
    return {
      parts: parts,
      update: function (snap) {
        updates += 1;
        setText("worker-count", snap.workers.length);
        setText("tasks-done", snap.tasks_done);
        setText("updates", updates);
        if (parts.progress) { drawProgress(parts.progress, snap.runs); }
        if (parts.stream) {
          parts.stream.add(snap.tasks, snap.labels || {});
          parts.stream.draw(snap.time);
        }
        if (parts.timings) { drawTimings(parts.timings, parts.stream); }
        if (parts.workers) { drawWorkers(parts.workers, snap.workers); }
        if (parts.plans) { drawPlans(parts.plans, snap.runs); }
      }
    };
  }
  function drawPlan(holder, plan, id) { holder.appendChild(planSvg(plan, id)); }
  return {view: view, drawPlan: drawPlan};
})();
