/* The social network: who talks to whom, from the speech each agent heard (a conversation stimulus with a
   source). A small force layout of our own: springs along the edges, repulsion between every pair,
   gravity to the centre, cooling each frame; laid out again as talks arrive, only while the tab is open. */
"use strict";
(function () {
  const TT = window.TT;
  const svg = document.getElementById("net");
  const table = document.getElementById("net-table");
  const nodes = new Map();   // name -> {name, x, y, vx, vy, said, heard}
  const edges = new Map();   // "a\u0000b" -> {from, to, count}
  let heat = 0;
  let running = false;
  let dirty = false;

  function node(name) {
    if (!nodes.has(name)) {
      const angle = nodes.size * 2.399;  // golden angle: new nodes start spread out
      nodes.set(name, { name, x: Math.cos(angle) * 120, y: Math.sin(angle) * 120, vx: 0, vy: 0, said: 0, heard: 0 });
    }
    return nodes.get(name);
  }

  TT.on("events", (batch) => {
    for (const e of batch) {
      if (e.agent) node(e.agent);
      if (e.kind === "stimulus" && e.stimulus_type === "CONVERSATION" && e.source && e.agent && e.source !== e.agent) {
        const key = e.source + "\u0000" + e.agent;
        const edge = edges.get(key) || { from: e.source, to: e.agent, count: 0 };
        edge.count += 1;
        edges.set(key, edge);
        node(e.source).said += 1;
        node(e.agent).heard += 1;
        dirty = true;
      } else if (e.kind === "action" && e.action_type === "TALK" && e.agent) {
        dirty = true;
      }
    }
    if (dirty) { heat = Math.max(heat, 1); if (TT.activeTab === "network") start(); }
  });

  function step() {
    const list = Array.from(nodes.values());
    const k = 80;
    for (const a of list) {
      a.vx -= a.x * 0.01; a.vy -= a.y * 0.01;  // gravity
      for (const b of list) {
        if (a === b) continue;
        const dx = a.x - b.x, dy = a.y - b.y;
        const d2 = Math.max(dx * dx + dy * dy, 25);
        const f = (k * k) / d2;
        a.vx += (dx / Math.sqrt(d2)) * f * 0.05; a.vy += (dy / Math.sqrt(d2)) * f * 0.05;
      }
    }
    for (const edge of edges.values()) {
      const a = nodes.get(edge.from), b = nodes.get(edge.to);
      const dx = b.x - a.x, dy = b.y - a.y;
      const d = Math.max(Math.sqrt(dx * dx + dy * dy), 1);
      const f = (d - k) * 0.02 * Math.min(3, 1 + Math.log(edge.count));
      a.vx += (dx / d) * f; a.vy += (dy / d) * f; b.vx -= (dx / d) * f; b.vy -= (dy / d) * f;
    }
    for (const a of list) {
      a.vx *= 0.6; a.vy *= 0.6;
      const limit = 20 * heat;
      a.x += Math.max(-limit, Math.min(limit, a.vx)); a.y += Math.max(-limit, Math.min(limit, a.vy));
    }
    heat *= 0.97;
  }

  function draw() {
    const width = svg.clientWidth || 600, height = svg.clientHeight || 400;
    const list = Array.from(nodes.values());
    let minX = -1, maxX = 1, minY = -1, maxY = 1;
    for (const a of list) { minX = Math.min(minX, a.x); maxX = Math.max(maxX, a.x); minY = Math.min(minY, a.y); maxY = Math.max(maxY, a.y); }
    const scale = Math.min((width - 80) / (maxX - minX), (height - 60) / (maxY - minY), 2);
    const X = (x) => 40 + (x - minX) * scale + ((width - 80) - (maxX - minX) * scale) / 2;
    const Y = (y) => 30 + (y - minY) * scale + ((height - 60) - (maxY - minY) * scale) / 2;
    svg.replaceChildren();
    const defs = TT.svg("defs");
    const marker = TT.svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "16", refY: "5", markerWidth: "6",
      markerHeight: "6", orient: "auto-start-reverse" });
    marker.appendChild(TT.svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#9aa5b1" }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    for (const edge of edges.values()) {
      const a = nodes.get(edge.from), b = nodes.get(edge.to);
      const line = TT.svg("line", { x1: X(a.x), y1: Y(a.y), x2: X(b.x), y2: Y(b.y), stroke: "#9aa5b1",
        "stroke-width": Math.min(6, 0.8 + Math.log(1 + edge.count)), "marker-end": "url(#arrow)", opacity: "0.7" });
      line.appendChild(TT.svg("title")).textContent = edge.from + " → " + edge.to + ": " + edge.count;
      svg.appendChild(line);
    }
    for (const a of list) {
      const g = TT.svg("g", { "data-agent": a.name });
      const c = TT.svg("circle", { cx: X(a.x), cy: Y(a.y), r: 6 + Math.min(14, Math.sqrt(a.said + a.heard)),
        fill: TT.color(a.name) });
      c.addEventListener("click", () => TT.showAgent(a.name));
      g.appendChild(c);
      const label = TT.svg("text", { x: X(a.x) + 10, y: Y(a.y) - 10 });
      label.textContent = a.name;
      g.appendChild(label);
      svg.appendChild(g);
    }
  }

  function drawTable() {
    const rows = Array.from(nodes.values()).sort((a, b) => (b.said + b.heard) - (a.said + a.heard));
    table.replaceChildren(TT.h("tr", {}, TT.h("th", {}, "agent"), TT.h("th", {}, "said to others"),
      TT.h("th", {}, "heard from others"), TT.h("th", {}, "talks with")));
    for (const a of rows) {
      const partners = new Set();
      for (const e of edges.values()) { if (e.from === a.name) partners.add(e.to); if (e.to === a.name) partners.add(e.from); }
      table.appendChild(TT.h("tr", {}, TT.h("td", {}, a.name), TT.h("td", {}, a.said), TT.h("td", {}, a.heard),
        TT.h("td", {}, partners.size)));
    }
  }

  function frame() {
    for (let n = 0; n < 3; n++) step();
    draw();
    if (heat > 0.02 && TT.activeTab === "network") requestAnimationFrame(frame);
    else { running = false; drawTable(); }
  }

  function start() {
    dirty = false;
    if (running) return;
    running = true;
    requestAnimationFrame(frame);
  }

  TT.network = { show() { heat = Math.max(heat, 0.5); start(); drawTable(); }, nodes, edges };
})();
