/* Wiring: tabs, the status and the control buttons, the inject form, the lag read-out; then connect. */
"use strict";
(function () {
  const TT = window.TT;
  const pill = document.getElementById("status");
  const buttons = Array.from(document.querySelectorAll("#controls button"));
  const injectTarget = document.getElementById("inj-target");
  const injectResult = document.getElementById("inj-result");

  TT.activeTab = "timeline";
  TT.selectTab = function (name) {
    TT.activeTab = name;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const s of document.querySelectorAll(".tab")) s.classList.toggle("active", s.id === "tab-" + name);
    const page = { network: TT.network, charts: TT.charts, insights: TT.insights, knowledge: TT.knowledge }[name];
    if (page) page.show();
    if (name === "agents" && !TT.inspector.current) TT.inspector.show();
  };
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => TT.selectTab(b.dataset.tab));

  const enabledIn = {
    play: ["paused"], pause: ["running"], step: ["paused", "running"], stop: ["running", "paused", "pausing"],
  };
  TT.refreshControls = function () {
    const s = TT.status;
    const controls = TT.info ? TT.info.controls : s.controls;
    document.getElementById("controls").classList.toggle("hidden", !controls);
    document.getElementById("readonly").classList.toggle("hidden", !!controls);
    for (const b of buttons) b.disabled = !controls || !enabledIn[b.dataset.action].includes(s.state);
    const paused = controls && s.state === "paused";
    for (const form of document.querySelectorAll("form.controlled")) {
      for (const el of form.querySelectorAll("button, input, textarea, select")) el.disabled = !paused;
      for (const hint of form.querySelectorAll(".hint")) hint.classList.toggle("hidden", paused);
    }
    let text = s.state + (s.step != null ? " · step " + s.step : "");
    if (s.hits && s.hits.length) text += " · " + s.hits.join("; ");
    if (s.error) text += " · " + s.error;
    pill.textContent = text;
    pill.dataset.state = s.state;
    if (!controls) document.getElementById("readonly").textContent = "read-only: " + (s.kind || "") + " "
      + (s.path || "") + " (" + s.state + ")";
  };
  TT.on("status", TT.refreshControls);

  for (const b of buttons) {
    b.addEventListener("click", async () => {
      try { await TT.control(b.dataset.action); }
      catch (err) { pill.textContent = err.message; }
    });
  }

  TT.on("agents", () => {
    const have = new Set(Array.from(injectTarget.options).map((o) => o.value));
    for (const name of TT.agents) if (!have.has(name)) injectTarget.appendChild(TT.h("option", { value: name }, name));
  });
  document.getElementById("inject").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = document.getElementById("inj-text").value;
    try {
      const r = await TT.control("inject", { text, kind: document.getElementById("inj-kind").value,
        target: injectTarget.value || null });
      injectResult.className = "muted";
      injectResult.textContent = "reached " + r.reached + " agent(s)";
      document.getElementById("inj-text").value = "";
    } catch (err) { injectResult.className = "error"; injectResult.textContent = err.message; }
  });

  const count = document.getElementById("count");
  const lag = document.getElementById("lag");
  TT.on("events", () => { count.textContent = TT.events.length.toLocaleString(); });
  setInterval(() => {
    const recent = TT.metrics.lags.slice(-200);
    const p95 = TT.percentile(recent, 95);
    lag.textContent = p95 === null ? "-" : p95 < 1000 ? Math.round(p95) + " ms" : (p95 / 1000).toFixed(1) + " s";
  }, 1000);

  TT.api("api/info").then((info) => { TT.info = info; TT.status = info.status; TT.refreshControls(); TT.connect(); })
    .catch((err) => { pill.textContent = "cannot reach the dashboard: " + err.message; });
})();
