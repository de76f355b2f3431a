/* Memory and cost charts: small SVG line and bar charts of our own, drawn from the events the page holds
   (memory snapshots; llm_call tokens, calls per step and, where the server knew the price, dollars). */
"use strict";
(function () {
  const TT = window.TT;
  const memory = new Map();  // agent -> [[x, episodic size]]
  const tokens = { prompt: [], completion: [] };
  const cost = [];
  const callsPerStep = new Map();
  let totals = { prompt: 0, completion: 0, cost: 0 };
  let lastStep = 0;
  let dirty = false;

  TT.on("events", (batch) => {
    for (const e of batch) {
      if (e.step != null) lastStep = e.step;
      if (e.kind === "memory" && e.operation === "snapshot" && e.agent) {
        if (!memory.has(e.agent)) memory.set(e.agent, []);
        memory.get(e.agent).push([e._i, e.episodic_size]);
        dirty = true;
      } else if (e.kind === "llm_call") {
        totals.prompt += e.prompt_tokens || 0;
        totals.completion += e.completion_tokens || 0;
        tokens.prompt.push([e._i, totals.prompt]);
        tokens.completion.push([e._i, totals.completion]);
        if (e._cost != null) { totals.cost += e._cost; cost.push([e._i, totals.cost]); }
        const s = e.step != null ? e.step : lastStep;
        callsPerStep.set(s, (callsPerStep.get(s) || 0) + 1);
        dirty = true;
      }
    }
  });

  function thin(points, n) {  // at most n points: a chart of 10,000 calls draws 400
    if (points.length <= n) return points;
    const every = points.length / n;
    const out = [];
    for (let k = 0; k < n; k++) out.push(points[Math.floor(k * every)]);
    out.push(points[points.length - 1]);
    return out;
  }

  function frame(svg, xs, ys) {
    const width = svg.clientWidth || 400, height = svg.clientHeight || 220;
    const pad = { l: 48, r: 10, t: 10, b: 22 };
    const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
    const y1 = Math.max(...ys, 1);
    const X = (x) => pad.l + (x - x0) / (x1 - x0) * (width - pad.l - pad.r);
    const Y = (y) => height - pad.b - y / y1 * (height - pad.t - pad.b);
    svg.replaceChildren();
    svg.appendChild(TT.svg("line", { x1: pad.l, y1: Y(0), x2: width - pad.r, y2: Y(0), stroke: "#ccd" }));
    svg.appendChild(TT.svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: Y(0), stroke: "#ccd" }));
    const top = TT.svg("text", { x: 4, y: pad.t + 8 });
    top.textContent = y1 >= 100 ? Math.round(y1).toLocaleString() : y1.toPrecision(3);
    svg.appendChild(top);
    return { X, Y, width, height, pad, x0, x1 };
  }

  function lines(svg, series, xLabel) {
    const all = series.flatMap((s) => s.points);
    if (!all.length) { svg.replaceChildren(); const t = TT.svg("text", { x: 10, y: 20 }); t.textContent = "no data yet"; svg.appendChild(t); return; }
    const f = frame(svg, all.map((p) => p[0]), all.map((p) => p[1]));
    series.forEach((s, n) => {
      const pts = thin(s.points, 400).map((p) => f.X(p[0]).toFixed(1) + "," + f.Y(p[1]).toFixed(1)).join(" ");
      svg.appendChild(TT.svg("polyline", { points: pts, fill: "none", stroke: s.color, "stroke-width": 1.6 }));
      const label = TT.svg("text", { x: f.pad.l + 8, y: f.pad.t + 12 + n * 12 });
      label.style.fill = s.color;  // over the stylesheet's muted text colour
      label.textContent = s.name;
      svg.appendChild(label);
    });
    const xl = TT.svg("text", { x: f.width - f.pad.r - 60, y: f.height - 6 });
    xl.textContent = xLabel;
    svg.appendChild(xl);
  }

  function bars(svg, pairs, xLabel) {
    if (!pairs.length) { lines(svg, [], xLabel); return; }
    const f = frame(svg, pairs.map((p) => p[0]).concat([pairs[pairs.length - 1][0] + 1]), pairs.map((p) => p[1]));
    const w = Math.max(2, (f.width - f.pad.l - f.pad.r) / (f.x1 - f.x0) - 2);
    for (const [x, y] of pairs) {
      const r = TT.svg("rect", { x: f.X(x) + 1, y: f.Y(y), width: w, height: f.Y(0) - f.Y(y), fill: "#2f6fb3" });
      r.appendChild(TT.svg("title")).textContent = "step " + x + ": " + y + " calls";
      svg.appendChild(r);
    }
    const xl = TT.svg("text", { x: f.width - f.pad.r - 40, y: f.height - 6 });
    xl.textContent = xLabel;
    svg.appendChild(xl);
  }

  function draw() {
    lines(document.getElementById("chart-memory"),
      Array.from(memory.entries()).map(([name, points]) => ({ name, points, color: TT.color(name) })), "event #");
    lines(document.getElementById("chart-tokens"), [
      { name: "prompt " + totals.prompt.toLocaleString(), points: tokens.prompt, color: "#2f6fb3" },
      { name: "completion " + totals.completion.toLocaleString(), points: tokens.completion, color: "#c0392b" }],
      "event #");
    bars(document.getElementById("chart-calls"), Array.from(callsPerStep.entries()).sort((a, b) => a[0] - b[0]), "step");
    lines(document.getElementById("chart-cost"), cost.length
      ? [{ name: "$" + totals.cost.toFixed(4), points: cost, color: "#27ae60" }] : [], "event #");
    dirty = false;
  }

  setInterval(() => { if (dirty && TT.activeTab === "charts") draw(); }, 1000);
  TT.charts = { show: draw };
})();
