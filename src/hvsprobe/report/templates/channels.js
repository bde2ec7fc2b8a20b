(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("layer-data").textContent);
  var CELLS = JSON.parse(document.getElementById("layer-cells").textContent);
  var byChannel = {};
  D.channels.forEach(function (ch, i) { byChannel[ch.c] = i; });
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function colour(t) {
    t = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
    var k = Math.min(VIRIDIS.length - 2, Math.floor(t)), u = t - k;
    var a = VIRIDIS[k], b = VIRIDIS[k + 1];
    return "rgb(" + [0, 1, 2].map(function (j) { return Math.round(a[j] + u * (b[j] - a[j])); }).join(",") + ")";
  }
  function fmt(v) { return v === null ? "—" : Number(v).toPrecision(3); }
  function finite(a) { return a.filter(function (v) { return v !== null && isFinite(v); }); }

  function drawMap(cv, map) {
    var g = cv.getContext("2d"), W = cv.width, H = cv.height, L = 60, B = 40, R = 70, T = 10;
    g.clearRect(0, 0, W, H);
    var vals = finite([].concat.apply([], map));
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    var nf = map.length, no = map[0].length, cw = (W - L - R) / no, chh = (H - T - B) / nf;
    for (var f = 0; f < nf; f++) {
      for (var o = 0; o < no; o++) {
        var v = map[f][o];
        g.fillStyle = v === null ? "#ccc" : colour(hi > lo ? (v - lo) / (hi - lo) : 0.5);
        g.fillRect(L + o * cw, T + (nf - 1 - f) * chh, Math.ceil(cw), Math.ceil(chh));
      }
    }
    g.fillStyle = "#1d232b"; g.font = "10px sans-serif"; g.textAlign = "right";
    var step = Math.max(1, Math.ceil(nf / 8));
    for (f = 0; f < nf; f += step) { g.fillText(fmt(D.freqs[f]), L - 4, T + (nf - 0.5 - f) * chh + 3); }
    g.textAlign = "center";
    var ostep = Math.max(1, Math.ceil(no / 6));
    for (o = 0; o < no; o += ostep) { g.fillText(String(D.orients[o]), L + (o + 0.5) * cw, H - B + 14); }
    g.fillText("orientation (degrees)", L + (W - L - R) / 2, H - 6);
    g.save(); g.translate(12, T + (H - T - B) / 2); g.rotate(-Math.PI / 2); g.fillText("frequency (cpd)", 0, 0); g.restore();
    for (var k = 0; k < 50; k++) { g.fillStyle = colour(k / 49); g.fillRect(W - R + 14, T + (H - T - B) * (1 - (k + 1) / 50), 12, (H - T - B) / 50 + 1); }
    g.fillStyle = "#1d232b"; g.textAlign = "left";
    g.fillText(fmt(hi), W - R + 30, T + 8); g.fillText(fmt(lo), W - R + 30, H - B);
  }

  function drawCurves(cv, xs, series, logx, xlabel) {
    var g = cv.getContext("2d"), W = cv.width, H = cv.height, L = 62, B = 40, R = 10, T = 26;
    g.clearRect(0, 0, W, H);
    var ys = [];
    series.forEach(function (s) { ys = ys.concat(finite(s.y)); });
    if (!ys.length) { return; }
    var lo = Math.min(0, Math.min.apply(null, ys)), hi = Math.max.apply(null, ys);
    if (hi <= lo) { hi = lo + 1; }
    var tx = function (x) { return logx ? Math.log(x) : x; };
    var x0 = tx(xs[0]), x1 = tx(xs[xs.length - 1]);
    if (x1 <= x0) { x1 = x0 + 1; }
    var px = function (x) { return L + (tx(x) - x0) / (x1 - x0) * (W - L - R); };
    var py = function (y) { return T + (1 - (y - lo) / (hi - lo)) * (H - T - B); };
    g.strokeStyle = "#999"; g.lineWidth = 1; g.strokeRect(L, T, W - L - R, H - T - B);
    g.fillStyle = "#1d232b"; g.font = "10px sans-serif"; g.textAlign = "right";
    for (var k = 0; k <= 4; k++) { var yv = lo + k * (hi - lo) / 4; g.fillText(fmt(yv), L - 4, py(yv) + 3); }
    g.textAlign = "center";
    var step = Math.max(1, Math.ceil(xs.length / 7));
    for (k = 0; k < xs.length; k += step) { g.fillText(fmt(xs[k]), px(xs[k]), H - B + 14); }
    g.fillText(xlabel, L + (W - L - R) / 2, H - 6);
    var lx = L + 6;
    series.forEach(function (s) {
      g.strokeStyle = s.color; g.lineWidth = s.width || 1.5; g.setLineDash(s.dash || []);
      g.beginPath();
      var started = false;
      s.y.forEach(function (y, i) {
        if (y === null) { started = false; return; }
        if (started) { g.lineTo(px(xs[i]), py(y)); } else { g.moveTo(px(xs[i]), py(y)); started = true; }
      });
      g.stroke(); g.setLineDash([]);
      g.fillStyle = s.color; g.textAlign = "left"; g.fillText(s.label, lx, 14); lx += g.measureText(s.label).width + 14;
    });
  }

  // integers packed as little-endian int16 in base64; -32768 marks a missing value
  function unpack(b64) {
    var s = atob(b64), out = new Array(s.length >> 1);
    for (var i = 0; i < out.length; i++) {
      var v = s.charCodeAt(2 * i) | (s.charCodeAt(2 * i + 1) << 8);
      if (v >= 32768) { v -= 65536; }
      out[i] = v === -32768 ? null : v;
    }
    return out;
  }

  // a channel's responses: integers q in the page, q * s / levels in the plots
  function decode(ch) {
    if (ch.map) { return; }
    var k = ch.s / D.levels, no = D.orients.length;
    var dec = function (b64) {
      return unpack(b64).map(function (v) { return v === null ? null : v * k; });
    };
    var flat = dec(ch.m);
    ch.map = [];
    for (var f = 0; f < D.freqs.length; f++) { ch.map.push(flat.slice(f * no, (f + 1) * no)); }
    ch.fcv = dec(ch.fc);
    ch.ocv = dec(ch.oc);
  }

  function show() {
    var m = /^#c(\d+)$/.exec(window.location.hash);
    var i = m && byChannel[m[1]] !== undefined ? byChannel[m[1]] : D.first;
    var ch = D.channels[i];
    if (!ch) { return; }
    decode(ch);
    document.querySelectorAll("tr.current").forEach(function (tr) { tr.classList.remove("current"); });
    var row = document.getElementById("c" + ch.c);
    if (row) {
      row.classList.add("current");
      document.getElementById("detail-flags").textContent = "flags: " + (row.querySelector("td.flags").textContent ? Array.prototype.map.call(row.querySelectorAll(".flag"), function (e) { return e.textContent; }).join(", ") : "none") + "; rank: " + row.children[1].textContent;
    }
    document.getElementById("detail-title").textContent = D.name + ", channel " + ch.c;
    var cells = document.querySelectorAll("#detail-scores td");
    CELLS[i].forEach(function (v, k) { if (cells[k]) { cells[k].textContent = v; } });
    drawMap(document.getElementById("map"), ch.map);
    var best = null;
    ch.map.forEach(function (row, f) {
      row.forEach(function (v, o) {
        if (v !== null && (best === null || Math.abs(v) > Math.abs(best.v))) { best = {v: v, f: f, o: o}; }
      });
    });
    document.getElementById("detail-peak").textContent = best === null ? "no finite response in the map" :
      "largest |response| in the map: " + fmt(best.v) + " at " + D.freqs[best.f] + " cpd, " + D.orients[best.o] + "°";
    var median = "#8f98a3", channel = "#1f5fa8";
    drawCurves(document.getElementById("freq"), D.freqs, [
      {y: D.layer.freq.median, color: median, label: "layer median"},
      {y: D.layer.freq.p90, color: median, dash: [5, 4], label: "layer 90th pct"},
      {y: ch.fcv, color: channel, width: 2, label: "channel " + ch.c}
    ], true, "spatial frequency (cycles/degree)");
    drawCurves(document.getElementById("orient"), D.orients, [
      {y: D.layer.orient.median, color: median, label: "layer median"},
      {y: D.layer.orient.p90, color: median, dash: [5, 4], label: "layer 90th pct"},
      {y: ch.ocv, color: channel, width: 2, label: "channel " + ch.c}
    ], false, "orientation (degrees)");
  }
  window.addEventListener("hashchange", show);
  show();
}());
