// surge report: hover values and legend toggling for the inline SVG charts; on #selftest, checks
// the page (series drawn, hover, legend, errors) and writes the outcome into <pre id="selftest">.
(function () {
  "use strict";
  var errors = window.__surgeErrors || [];

  function trim(s) {
    return s.indexOf(".") >= 0 ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
  }
  function fmt(v, unit, dp) {
    if (v === null || v === undefined) return "–";
    var s;
    if (dp >= 0) s = v.toFixed(dp);
    else {
      var a = Math.abs(v);
      s = trim(v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3));
    }
    return unit === "/s" ? s + " /s" : unit ? s + " " + unit : s;
  }
  function timeName(t) {
    if (t < 120) return t + " s";
    var m = Math.floor(t / 60), s = t % 60;
    return m + " min " + (s < 10 ? "0" : "") + s + " s";
  }
  function pctName(x) {
    var q = 100 * (1 - Math.pow(10, -x / 1000));
    var d = q >= 99.99 ? 4 : q >= 99.9 ? 3 : q >= 99 ? 2 : 1;
    return "p" + trim(q.toFixed(d));
  }

  // Stacked step areas, recomputed when a stacked series is hidden or shown.
  function restack(fig) {
    var d = fig._d, n = d.xd / 2, lower = new Array(n).fill(0);
    d.series.forEach(function (s, i) {
      if (!s.stack || fig._off[i]) return;
      var top = lower.map(function (l, k) { return l + (s.v[k] || 0); });
      var y = function (v) { return d.yd - Math.round(Math.min(v, d.ymax) / d.ymax * d.yd); };
      var p = "";
      for (var k = 0; k < n; k++) p += (k ? "V" : "M0 ") + y(top[k]) + "H" + (2 * k + 2);
      for (k = n - 1; k >= 0; k--) p += "V" + y(lower[k]) + "H" + 2 * k;
      fig.querySelector('svg.data g.s[data-i="' + i + '"] path').setAttribute("d", p + "Z");
      lower = top;
    });
  }

  function toggle(fig, i) {
    fig._off[i] = !fig._off[i];
    fig.querySelector('.key[data-i="' + i + '"]').setAttribute("aria-pressed", String(!fig._off[i]));
    fig.querySelector('svg.data g.s[data-i="' + i + '"]').classList.toggle("off", fig._off[i]);
    if (fig._d.series[i].stack) restack(fig);
  }

  function indexAt(d, f) {
    // Points of a time chart stand at the end of their second ("xe"), steps span it.
    if (d.x === "time") return Math.max(0, Math.min(d.xd / 2 - 1, d.xe ? Math.round(f * d.xd / 2) - 1 : Math.floor(f * d.xd / 2)));
    var target = f * d.xd, best = 0;
    for (var k = 1; k < d.xs.length; k++) if (Math.abs(d.xs[k] - target) < Math.abs(d.xs[best] - target)) best = k;
    return best;
  }

  function hover(fig, ev) {
    var d = fig._d, hit = fig._hit, r = hit.getBoundingClientRect();
    if (r.width <= 0) return;
    var f = (ev.clientX - r.left) / r.width;
    if (f < 0 || f > 1) return hide(fig);
    var i = indexAt(d, f);
    var xu = d.x === "time" ? 2 * i + (d.xe ? 2 : 1) : d.xs[i];
    var gx = hit.x.baseVal.value + xu / d.xd * hit.width.baseVal.value;
    fig._guide.setAttribute("x1", gx);
    fig._guide.setAttribute("x2", gx);
    fig._guide.setAttribute("visibility", "visible");
    var html = "<b>" + (d.x === "time" ? timeName(i) : pctName(d.xs[i])) + "</b>";
    d.series.forEach(function (s, k) {
      if (fig._off[k]) return;
      var c = fig.querySelector('.key[data-i="' + k + '"] i').style.getPropertyValue("--c");
      html += '<div><i style="--c:' + c + '"></i>' + fig._names[k] + "<span>" + fmt(s.v[i], s.unit, s.dp) + "</span></div>";
    });
    var tip = fig._tip;
    tip.innerHTML = html;
    tip.hidden = false;
    var pr = fig.querySelector(".plot").getBoundingClientRect();
    var x = ev.clientX - pr.left;
    tip.style.left = (x > pr.width / 2 ? x - tip.offsetWidth - 14 : x + 14) + "px";
  }

  function hide(fig) {
    fig._tip.hidden = true;
    fig._guide.setAttribute("visibility", "hidden");
  }

  var figs = Array.prototype.slice.call(document.querySelectorAll("figure.chart:not([data-empty])"));
  figs.forEach(function (fig) {
    try {
      fig._d = JSON.parse(fig.querySelector("script.cd").textContent);
    } catch (e) {
      errors.push("chart data of " + fig.id + ": " + e);
      return;
    }
    fig._off = fig._d.series.map(function () { return false; });
    fig._names = Array.prototype.map.call(fig.querySelectorAll(".key"), function (b) {
      return b.innerHTML.replace(/^<i[^>]*><\/i>/, "").replace(/<em[^>]*>.*<\/em>$/, "");
    });
    fig._hit = fig.querySelector("rect.hit");
    fig._guide = fig.querySelector("line.guide");
    fig._tip = fig.querySelector(".tip");
    fig._hit.addEventListener("mousemove", function (ev) { hover(fig, ev); });
    fig._hit.addEventListener("mouseleave", function () { hide(fig); });
    fig.querySelectorAll(".key").forEach(function (b) {
      b.addEventListener("click", function () { toggle(fig, Number(b.getAttribute("data-i"))); });
    });
  });

  function selftest() {
    var out = { errors: errors.slice(), charts: [], empty: [] };
    document.querySelectorAll("figure.chart[data-empty]").forEach(function (f) { out.empty.push(f.id); });
    figs.forEach(function (fig) {
      var c = { id: fig.id, series: fig._d ? fig._d.series.length : 0, drawn: 0, hover: false, legend: false };
      out.charts.push(c);
      if (!fig._d) return;
      fig.querySelectorAll("svg.data g.s").forEach(function (g) {
        var p = g.querySelector("path"), b = p && p.getAttribute("d") ? p.getBBox() : null;
        if (b && b.width + b.height > 0) c.drawn++;
      });
      var r = fig._hit.getBoundingClientRect();
      fig._hit.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + r.width * 0.6, clientY: r.top + r.height / 2, bubbles: true }));
      c.hover = !fig._tip.hidden && fig._tip.querySelectorAll("div").length === fig._d.series.length;
      hide(fig);
      var g0 = fig.querySelector('svg.data g.s[data-i="0"]'), p0 = g0.querySelector("path"), d0 = p0.getAttribute("d");
      var key = fig.querySelector('.key[data-i="0"]');
      key.click();
      var hidden = getComputedStyle(g0).display === "none" && key.getAttribute("aria-pressed") === "false";
      key.click();
      c.legend = hidden && getComputedStyle(g0).display !== "none" && key.getAttribute("aria-pressed") === "true";
      if (fig._d.series[0].stack) c.restack = p0.getAttribute("d").length > 0 && d0.length > 0;
    });
    var el = document.getElementById("selftest");
    el.textContent = JSON.stringify(out);
    el.setAttribute("data-done", "1");
  }

  // After load and a moment more, so late errors and CSP violations are in.
  if (location.hash === "#selftest") {
    var go = function () { setTimeout(selftest, 250); };
    if (document.readyState === "complete") go();
    else addEventListener("load", go);
  }
})();
