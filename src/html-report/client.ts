/**
 * The report's own script, run in the browser after d3 and Observable Plot (both inlined): it
 * reads the figures from the page's JSON and draws each with Plot. It loads nothing.
 *
 * Metric figures: one measurement against CPU count, a line per strategy (mean over seeds) with a
 * min–max band; with a single CPU count, bars (or dots on a log scale) per strategy with a
 * min–max rule. Curve figures: a step line per strategy (time series, histograms).
 */
export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ptlab-data').textContent);
  var uniq = function (xs) { var s = []; xs.forEach(function (x) { if (s.indexOf(x) < 0) s.push(x); }); return s; };
  var fmt = function (v) { return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2); };
  var color = { legend: true, domain: data.strategies, range: data.palette };
  var style = { fontSize: '12px', fontFamily: 'system-ui, sans-serif', overflow: 'visible' };
  function facets(rows) {
    var fx = uniq(rows.map(function (r) { return r.fx; }));
    var fy = uniq(rows.map(function (r) { return r.fy; }));
    return { fx: fx.length > 1 ? fx : null, fy: fy.length > 1 || (fy[0] || '') !== '' ? fy : null };
  }
  function metric(f) {
    var rows = f.rows;
    var fc = facets(rows);
    var ch = {};
    if (fc.fx) ch.fx = 'fx';
    if (fc.fy) ch.fy = 'fy';
    var cpus = uniq(rows.map(function (r) { return r.cpus; })).sort(function (a, b) { return a - b; });
    var seeds = rows.some(function (r) { return r.n > 1; });
    var marks = [];
    var opts = { width: Math.max(640, Math.min(1100, 300 * (fc.fx ? fc.fx.length : 2))), height: (fc.fy ? 240 * fc.fy.length : 260) + 60, marginLeft: 60, marginRight: fc.fy ? 150 : 20, marginBottom: 45, marginTop: fc.fx ? 48 : 30, style: style, color: color, fx: { label: null, domain: fc.fx || undefined }, fy: { label: null, domain: fc.fy || undefined } };
    var y = { label: f.y, grid: true, type: f.log ? 'log' : 'linear', nice: true };
    // Log axes: a tick (and grid line) per decade, not per digit.
    if (f.log) y.ticks = 4;
    if (!f.log) y.zero = true;
    opts.y = y;
    if (cpus.length > 1) {
      opts.x = { label: 'CPUs', type: 'log', ticks: cpus, tickFormat: function (d) { return String(d); }, domain: [cpus[0] / 1.25, cpus[cpus.length - 1] * 1.25] };
      if (seeds) marks.push(Plot.areaY(rows, Object.assign({ x: 'cpus', y1: 'min', y2: 'max', fill: 'strategy', z: 'strategy', fillOpacity: 0.15 }, ch)));
      marks.push(Plot.lineY(rows, Object.assign({ x: 'cpus', y: 'mean', stroke: 'strategy', z: 'strategy', strokeWidth: 2 }, ch)));
      marks.push(Plot.dot(rows, Object.assign({ x: 'cpus', y: 'mean', fill: 'strategy', r: 3, title: function (r) { return r.strategy + ', ' + r.cpus + ' CPUs: ' + fmt(r.mean) + (r.n > 1 ? ' (min ' + fmt(r.min) + ', max ' + fmt(r.max) + ', ' + r.n + ' seeds)' : ''); } }, ch)));
    } else {
      opts.x = { label: null, domain: data.strategies.filter(function (s) { return rows.some(function (r) { return r.strategy === s; }); }), tickRotate: -20 };
      opts.marginBottom = 70;
      opts.insetTop = 18;
      if (!f.log) marks.push(Plot.barY(rows, Object.assign({ x: 'strategy', y: 'mean', fill: 'strategy', fillOpacity: 0.85 }, ch)));
      if (seeds) marks.push(Plot.ruleX(rows, Object.assign({ x: 'strategy', y1: 'min', y2: 'max', stroke: '#222', strokeWidth: 1.5 }, ch)));
      if (f.log) marks.push(Plot.dot(rows, Object.assign({ x: 'strategy', y: 'mean', fill: 'strategy', r: 4 }, ch)));
      marks.push(Plot.text(rows, Object.assign({ x: 'strategy', y: f.log ? 'mean' : 'max', text: function (r) { return fmt(r.mean); }, dy: -8, fill: '#222' }, ch)));
    }
    if (!f.log) marks.push(Plot.ruleY([0]));
    opts.marks = marks;
    return Plot.plot(opts);
  }
  // Symlog axis ticks: 0 and the powers of ten up to the largest count.
  function decades(rows) {
    var top = Math.max.apply(null, rows.map(function (r) { return r.y; }).concat([1]));
    var t = [0];
    for (var p = 1; p <= top; p *= 10) t.push(p);
    return t;
  }
  function curve(f) {
    var rows = f.rows;
    var fy = uniq(rows.map(function (r) { return r.fy; }));
    var ch = fy.length > 1 || (fy[0] || '') !== '' ? { fy: 'fy' } : {};
    return Plot.plot({
      width: 900, height: 220 * Math.max(1, fy.length) + 60, marginLeft: 60, marginTop: 30, marginRight: ch.fy ? 150 : 20, style: style, color: color,
      fy: { label: null, domain: ch.fy ? fy : undefined },
      x: { label: f.x, grid: true, tickFormat: f.xInteger ? 'd' : undefined },
      y: f.log ? { label: f.y, grid: true, type: 'symlog', ticks: decades(rows), tickFormat: 'd' } : { label: f.y, grid: true },
      marks: [
        Plot.lineY(rows, Object.assign({ x: 'x', y: 'y', stroke: 'strategy', z: 'strategy', curve: f.step ? 'step-after' : 'linear', strokeWidth: 1.5 }, ch)),
        Plot.ruleY([0])
      ]
    });
  }
  data.figures.forEach(function (f) {
    var host = document.getElementById('fig-' + f.id);
    try {
      host.appendChild(f.type === 'metric' ? metric(f) : curve(f));
      host.setAttribute('data-drawn', 'true');
    } catch (e) {
      host.textContent = 'this plot could not be drawn: ' + e;
      console.error(e);
    }
  });
  document.body.setAttribute('data-ready', 'true');
})();
`;
