/* The Knowledge page: the chosen agent's beliefs and each world's shared graph, as the server draws them
   (SVG), with their sizes; read again when a step ends while the page is open. */
"use strict";
(function () {
  const TT = window.TT;
  const select = document.getElementById("kg-agent");
  const note = document.getElementById("kg-note");
  const agentFigure = document.getElementById("kg-agent-fig");
  const worlds = document.getElementById("kg-worlds");
  let loading = false;
  let again = false;

  /* The server's picture as an SVG element of this page; anything but a plain drawing is dropped. */
  async function picture(path) {
    const response = await fetch(path, { headers: { "X-TinyTroupe-Token": TT.token } });
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try { detail = JSON.parse(text).detail; } catch (e) { /* not JSON: the text says it */ }
      throw new Error(detail || response.statusText);
    }
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (root.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length) throw new Error("not a picture");
    for (const el of Array.from(root.querySelectorAll("script, foreignObject"))) el.remove();
    for (const el of [root, ...root.querySelectorAll("*")]) {
      for (const a of Array.from(el.attributes)) if (a.name.startsWith("on")) el.removeAttribute(a.name);
    }
    root.removeAttribute("width");
    root.removeAttribute("height");
    return document.importNode(root, true);
  }

  const count = (n, one, many) => n + " " + (n === 1 ? one : many);

  function caption(g) {
    const shown = count(g.entities, "entity", "entities") + " · " + count(g.relations, "relation", "relations");
    return (g.kind === "agent" ? g.owner + "'s beliefs" : "World graph of " + g.owner) + " · " + shown
      + (g.pending ? " · " + count(g.pending, "extraction", "extractions") + " merged at the next step" : "");
  }

  async function draw(figure, g, path) {
    const cap = TT.h("figcaption", { class: "kg-counts", "data-entities": g.entities, "data-relations": g.relations },
      caption(g));
    let body;
    try { body = await picture(path); } catch (err) { body = TT.h("p", { class: "error" }, err.message); }
    figure.replaceChildren(cap, TT.h("div", { class: "kg-svg" }, body));
  }

  function chooseAgent(agents) {
    const names = agents.map((g) => g.owner);
    const want = select.value || (names.includes(TT.inspector.current) ? TT.inspector.current : names[0]) || "";
    select.replaceChildren(...names.map((n) => TT.h("option", { value: n }, n)));
    if (!names.length) select.appendChild(TT.h("option", { value: "" }, "no agent has beliefs yet"));
    select.value = names.includes(want) ? want : names[0] || "";
    return agents.find((g) => g.owner === select.value) || null;
  }

  async function load() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      const data = await TT.api("api/knowledge");
      note.textContent = data.message || "";
      const agent = chooseAgent(data.graphs.filter((g) => g.kind === "agent"));
      const shown = [];
      if (agent) shown.push(draw(agentFigure, agent, "api/knowledge/agents/" + encodeURIComponent(agent.owner) + "/svg"));
      else agentFigure.replaceChildren();
      const figures = data.graphs.filter((g) => g.kind === "world").map((g) => {
        const figure = TT.h("figure", { class: "kg-world", "data-world": g.owner });
        shown.push(draw(figure, g, "api/knowledge/world/svg?world=" + encodeURIComponent(g.owner)));
        return figure;
      });
      await Promise.all(shown);
      worlds.replaceChildren(...figures);
      TT.knowledge.loads += 1;
    } catch (err) {
      note.textContent = err.message;
    } finally {
      loading = false;
      if (again) { again = false; load(); }
    }
  }

  select.addEventListener("change", load);
  document.getElementById("kg-refresh").addEventListener("click", load);
  TT.on("events", (batch) => {
    if (TT.activeTab === "knowledge" && batch.some((e) => e.kind === "step" && e.phase === "end")) load();
  });
  TT.knowledge = { show: load, loads: 0 };
})();
