"use strict";
// The live page: rows of the run's timeline arrive from /events (one message per tick) and
// are drawn as the report draws them. Every figure is the recorder's own; nothing is estimated.
(function () {
  var rows = [], state = {};
  var C = { ok: "#2e8540", thr: "#e07b00", err: "#c62828", p50: "#5b8def", p95: "#1d4ed8", p99: "#0b1f5c", users: "#6a3fb5" };
  function $(id) { return document.getElementById(id); }
  function n(o, k) { return (o && o[k]) || 0; }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function fmt(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
  function legend(id, series) {
    $(id).innerHTML = series.map(function (s) { return '<span><i style="background:' + s.color + '"></i>' + esc(s.name) + "</span>"; }).join("");
  }
  // Every second from the first row to the last full one: a second with no answer has no row
  // of its own (as in result.json's timeline, it counts zero).
  function dense() {
    if (!rows.length) return [];
    var last = Math.max(rows[rows.length - 1].t, Math.floor(state.elapsed_s || 0) - 1);
    var byT = {}, out = [];
    rows.forEach(function (r) { byT[r.t] = r; });
    for (var t = rows[0].t; t <= last; t++) out.push(byT[t] || { t: t, completed: 0, active_users: 0, by_outcome: {}, latency: {} });
    return out;
  }
  function chart(id, series) {
    var svg = $(id), W = 600, H = 220, L = 40, B = 18, T = 6, pts = dense();
    var max = 0, tmax = 1;
    pts.forEach(function (r) { tmax = Math.max(tmax, r.t + 1); series.forEach(function (s) { max = Math.max(max, s.get(r) || 0); }); });
    if (max <= 0) max = 1;
    var t0 = pts.length ? pts[0].t : 0, span = Math.max(1, tmax - t0);
    function x(t) { return L + (W - L - 4) * (t - t0) / span; }
    function y(v) { return T + (H - T - B) * (1 - v / max); }
    var out = '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + W + '" y2="' + (H - B) + '" stroke="#bbb"/>';
    [0, 0.5, 1].forEach(function (f) {
      out += '<text class="axis" x="2" y="' + (y(max * f) + 3) + '">' + fmt(max * f) + "</text>";
    });
    out += '<text class="axis" x="' + L + '" y="' + (H - 4) + '">' + t0 + ' s</text><text class="axis" x="' + (W - 40) + '" y="' + (H - 4) + '">' + tmax + " s</text>";
    series.forEach(function (s) {
      // A second without a value (no 2xx: no 2xx latency) breaks the line; a lone point is a dot.
      var runs = [[]];
      pts.forEach(function (r) {
        var v = s.get(r);
        if (v === null) { if (runs[runs.length - 1].length) runs.push([]); return; }
        runs[runs.length - 1].push([x(r.t + 0.5), y(v)]);
      });
      runs.forEach(function (run) {
        if (run.length === 1) out += '<circle r="3" fill="' + s.color + '" cx="' + run[0][0].toFixed(1) + '" cy="' + run[0][1].toFixed(1) + '"/>';
        if (run.length > 1) out += '<polyline fill="none" stroke-width="2" stroke="' + s.color + '" points="' + run.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" ") + '"/>';
      });
    });
    svg.innerHTML = out;
  }
  var RATE = [
    { name: "2xx/s", color: C.ok, get: function (r) { return n(r.by_outcome, "success"); } },
    { name: "429/s", color: C.thr, get: function (r) { return n(r.by_outcome, "throttled"); } },
    { name: "other/s", color: C.err, get: function (r) { return r.completed - n(r.by_outcome, "success") - n(r.by_outcome, "throttled"); } }
  ];
  function q(k) { return function (r) { return r.latency && r.latency.success ? r.latency.success[k] / 1000 : null; }; }
  var LAT = [
    { name: "p50", color: C.p50, get: q("p50") },
    { name: "p95", color: C.p95, get: q("p95") },
    { name: "p99", color: C.p99, get: q("p99") }
  ];
  var USERS = [{ name: "active users", color: C.users, get: function (r) { return r.active_users; } }];
  legend("leg-rate", RATE); legend("leg-lat", LAT); legend("leg-users", USERS);
  function diagnosis() {
    var first = null, thr = 0, all = 0, ra = {}, limits = {}, rl = null, okBefore = 0;
    rows.forEach(function (r) {
      var t = n(r.by_outcome, "throttled");
      all += r.completed; thr += t;
      if (t > 0 && first === null) first = r;
      if (first === null) okBefore += n(r.by_outcome, "success");
      Object.keys(r.retry_after || {}).forEach(function (k) { ra[k] = (ra[k] || 0) + r.retry_after[k]; });
      Object.keys(r.throttled_by_limit || {}).forEach(function (k) { limits[k] = (limits[k] || 0) + r.throttled_by_limit[k]; });
      if (r.rate_limit && r.rate_limit.responses) rl = r.rate_limit;
    });
    var d = $("diagnosis");
    if (!first) { d.className = "none"; d.textContent = "No 429 so far."; return; }
    var items = [];
    items.push("First 429 in second " + first.t + ", when " + first.completed + " requests/s completed (" + n(first.by_outcome, "success") + " of them 2xx); " + okBefore + " 2xx before it.");
    items.push("429s so far: " + thr + " of " + all + " (" + (100 * thr / Math.max(1, all)).toFixed(1) + " %).");
    var ks = Object.keys(ra);
    items.push(ks.length ? "Retry-After: " + ks.map(function (k) { return k + " s ×" + ra[k]; }).join(", ") + "." : "No 429 carried a Retry-After.");
    var ls = Object.keys(limits);
    if (ls.length) items.push("Limits named by the 429 bodies: " + ls.map(function (k) { return k + " ×" + limits[k]; }).join(", ") + ".");
    if (rl) items.push("Rate-limit headers: allowed " + rl.allowed + ", count up to " + rl.count_max + ", reset in " + rl.reset_min + " s.");
    d.className = "";
    d.innerHTML = "<ul>" + items.map(function (i) { return "<li>" + esc(i) + "</li>"; }).join("") + "</ul>";
    document.body.dataset.diagnosis = "shown";
  }
  function kpi() {
    var d = dense(), last = d.length ? d[d.length - 1] : null;
    var tot = { ok: 0, thr: 0, all: 0 };
    rows.forEach(function (r) { tot.ok += n(r.by_outcome, "success"); tot.thr += n(r.by_outcome, "throttled"); tot.all += r.completed; });
    var k = [
      ["active users", state.active_users || 0],
      ["2xx/s", last ? n(last.by_outcome, "success") : 0],
      ["429/s", last ? n(last.by_outcome, "throttled") : 0],
      ["p95 2xx", last && last.latency && last.latency.success ? fmt(last.latency.success.p95 / 1000) + " ms" : "–"],
      ["2xx so far", tot.ok], ["429 so far", tot.thr], ["requests so far", tot.all]
    ];
    $("kpi").innerHTML = k.map(function (p) { return "<div><b>" + esc(p[1]) + "</b>" + esc(p[0]) + "</div>"; }).join("");
  }
  function draw() {
    chart("c-rate", RATE); chart("c-lat", LAT); chart("c-users", USERS);
    kpi(); diagnosis();
    document.body.dataset.rows = String(rows.length);
  }
  var es = null;
  function apply(m) {
    state = m;
    m.rows.forEach(function (r) {
      if (rows.length && rows[rows.length - 1].t >= r.t) rows = rows.filter(function (x) { return x.t < r.t; });
      rows.push(r);
    });
    $("name").textContent = m.scenario + (m.segment ? " · segment " + m.segment : "") + (m.run_id ? " · " + m.run_id : "");
    $("elapsed").textContent = m.elapsed_s.toFixed(0) + " s";
    $("state").textContent = m.finished ? "finished" : m.closed ? "stopped" : "running";
    if (m.report) $("report").innerHTML = '<p>The run has ended: <a href="/report.html">report.html</a></p>';
    document.body.dataset.finished = String(m.finished);
    draw();
    return (m.finished && m.report) || m.closed;
  }
  // The run so far came with the page; the feed brings the rows after it.
  var done = apply(JSON.parse($("initial").textContent));
  if (!done) {
    es = new EventSource("/events" + (rows.length ? "?from=" + (rows[rows.length - 1].t + 1) : ""));
    es.onmessage = function (e) { if (apply(JSON.parse(e.data))) es.close(); };
    es.onerror = function () { if (!state.finished) $("state").textContent = "disconnected"; };
  }
})();
