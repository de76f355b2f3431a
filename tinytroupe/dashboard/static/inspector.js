/* The agent inspector: persona, cognitive and emotional state, memory, tools, last and next prompt, and
   (while the run is paused) edits of the agent's state through the debugger. */
"use strict";
(function () {
  const TT = window.TT;
  const list = document.getElementById("agent-list");
  const panel = document.getElementById("agent-panel");
  let current = null;

  function refreshList() {
    const names = new Set(TT.agents.concat(TT.knownAgents || []));
    const have = new Set(Array.from(list.children).map((li) => li.dataset.agent));
    for (const name of names) {
      if (have.has(name)) continue;
      const li = TT.h("li", { "data-agent": name, onclick: () => TT.showAgent(name) }, name);
      li.style.borderLeft = "4px solid " + TT.color(name);
      list.appendChild(li);
    }
  }

  function block(title, value) {
    const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    return [TT.h("h3", {}, title), TT.h("pre", {}, text)];
  }

  function table(obj) {
    const t = TT.h("table", { class: "grid" });
    for (const [k, v] of Object.entries(obj || {})) {
      t.appendChild(TT.h("tr", {}, TT.h("th", {}, k), TT.h("td", {}, typeof v === "string" ? v : JSON.stringify(v))));
    }
    return t;
  }

  function prompt(messages) {
    return (messages || []).map((m) => "── " + m.role + " ──\n" + m.content).join("\n\n");
  }

  function editForm(name) {
    const path = TT.h("input", { type: "text", id: "edit-path", placeholder: "persona.age, cognitive_state.goals …" });
    const value = TT.h("input", { type: "text", id: "edit-value", placeholder: "value (JSON, or plain text)" });
    const del = TT.h("input", { type: "checkbox", id: "edit-delete" });
    const result = TT.h("div", { id: "edit-result", class: "muted" });
    const next = TT.h("pre", { id: "next-prompt", class: "hidden" });
    const form = TT.h("form", { id: "edit-form", class: "controlled" },
      TT.h("h3", {}, "Edit (while paused)"), TT.h("div", { class: "row" }, path, value,
        TT.h("label", {}, del, " delete"), TT.h("button", { type: "submit", id: "edit-apply" }, "Apply"),
        TT.h("button", { type: "button", id: "next-show", onclick: async () => {
          try { next.textContent = prompt(await TT.control("next_prompt", { agent: name })); }
          catch (err) { next.textContent = err.message; }
          next.classList.remove("hidden");
        } }, "Next prompt")), TT.h("div", { class: "hint muted" }, "pause the run to edit"), result, next);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let parsed = value.value;
      try { parsed = JSON.parse(value.value); } catch (e) { /* plain text stays text */ }
      try {
        const edit = await TT.control("edit", { agent: name, path: path.value, value: parsed, delete: del.checked });
        result.className = "";
        result.textContent = "edited " + edit.path + ": " + JSON.stringify(edit.before) + " → " + JSON.stringify(edit.after);
        TT.showAgent(name);
      } catch (err) { result.className = "error"; result.textContent = err.message; }
    });
    return form;
  }

  let form = null;         // the edit form of the agent shown: kept across refreshes (its result stays)
  let formOf = null;

  TT.showAgent = async function (name) {
    current = name;
    TT.selectTab("agents");
    for (const li of list.children) li.classList.toggle("sel", li.dataset.agent === name);
    if (formOf !== name) { form = TT.info && TT.info.controls ? editForm(name) : null; formOf = name; }
    const body = TT.h("div", { id: "agent-body" });
    const head = TT.h("h2", {}, name);
    panel.classList.remove("muted");
    let data;
    try { data = await TT.api("api/agents/" + encodeURIComponent(name)); }
    catch (err) {
      if (current !== name) return;
      panel.replaceChildren(head, form || "", body);
      body.appendChild(TT.h("p", { class: "muted" }, err.message));
      TT.refreshControls();
      return;
    }
    if (current !== name) return;
    const v = data.view;
    head.appendChild(TT.h("span", { class: "muted" }, "  " + (v.world || "") + " · " + v.turns + " turns · " + data.source));
    body.replaceChildren(
      TT.h("h3", {}, "Persona"), table(v.persona),
      ...block("Cognitive state", v.cognitive_state),
      ...(data.emotions ? block("Emotional state", data.emotions) : []),
      TT.h("h3", {}, "Memory"), TT.h("p", {}, v.episodic_items + " episodic items · " + v.semantic_facts + " semantic facts"),
      TT.h("pre", {}, v.recent.map((m) => "[" + (m.step != null ? "step " + m.step : "") + "] " + (m.kind || "") + " "
        + (m.type || "") + ": " + (m.content || JSON.stringify(m))).join("\n")),
      TT.h("h3", {}, "Tools and faculties"),
      TT.h("p", {}, (data.tools.map((t) => t.name + " — " + t.description).concat(data.faculties)).join("\n") || "none"),
      ...(Object.keys(v.other).length ? block("Other state", v.other) : []),
      ...block("Last prompt", data.last_prompt ? prompt(data.last_prompt) : "no turn recorded yet"),
      ...(data.last_answer ? block("Last answer", data.last_answer) : []));
    panel.replaceChildren(head, form || "", body);
    TT.refreshControls();
  };

  TT.on("agents", refreshList);
  TT.inspector = {
    async show() {
      try { TT.knownAgents = await TT.api("api/agents"); } catch (e) { TT.knownAgents = []; }
      refreshList();
      if (!current && list.firstChild) TT.showAgent(list.firstChild.dataset.agent);
    },
    get current() { return current; },
  };
})();
