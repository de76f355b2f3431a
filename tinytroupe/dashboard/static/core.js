/* tinytroupe dashboard: the event store, the server-sent-event stream, API calls and small DOM helpers.
   Everything hangs off window.TT; no library, no module loader (each script's URL carries the token). */
"use strict";
(function () {
  const token = document.querySelector('meta[name="tt-token"]').content;
  const TT = (window.TT = {
    token,
    events: [],           // every event received, in feed order (index = _i - first)
    first: null,          // _i of events[0]
    status: { state: "idle" },
    info: null,
    listeners: { events: [], status: [], agents: [] },
    metrics: { lags: [], lagByIndex: {}, rendered: [], connectedAt: null, received: 0 },
  });

  TT.on = function (what, fn) { TT.listeners[what].push(fn); };
  function emit(what, payload) { for (const fn of TT.listeners[what]) fn(payload); }

  TT.api = async function (path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers["X-TinyTroupe-Token"] = token;
    if (opts.body !== undefined) {
      opts.method = opts.method || "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.body);
    }
    const response = await fetch(path, opts);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
    if (!response.ok) {
      const err = new Error((data && data.detail) || response.statusText);
      err.status = response.status;
      throw err;
    }
    return data;
  };
  TT.control = (action, body) => TT.api("api/control/" + action, { method: "POST", body: body || {} });

  TT.now = () => performance.timeOrigin + performance.now();

  function receive(batch) {
    const arrived = TT.now();
    if (TT.first === null && batch.length) TT.first = batch[0]._i;
    for (const e of batch) {
      const lag = arrived - e._t;
      TT.metrics.lagByIndex[e._i] = lag;
      if (TT.metrics.lags.length < 100000) TT.metrics.lags.push(lag);
      e._line = TT.describe(e);
      e._search = ((e.agent || "") + " " + e.kind + " " + e._line).toLowerCase();
      TT.events.push(e);
    }
    TT.metrics.received += batch.length;
    TT.metrics.lastLag = batch.length ? arrived - batch[batch.length - 1]._t : TT.metrics.lastLag;
    emit("events", batch);
  }

  TT.connect = function () {
    const after = TT.first === null ? 0 : TT.first + TT.events.length;
    const source = new EventSource("api/stream?token=" + encodeURIComponent(token) + "&after=" + after);
    source.addEventListener("events", (m) => receive(JSON.parse(m.data)));
    source.addEventListener("status", (m) => {
      TT.status = JSON.parse(m.data);
      if (TT.metrics.connectedAt === null) TT.metrics.connectedAt = performance.now();
      emit("status", TT.status);
    });
    source.addEventListener("gap", (m) => console.warn("dashboard: events dropped by the server's bound", m.data));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(TT.connect, 1000);
    };
    TT.source = source;
  };

  function short(value, n) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text && text.length > n ? text.slice(0, n) + "…" : text;
  }

  /* One line of text per event, for the timeline and the search. */
  TT.describe = function (e) {
    switch (e.kind) {
      case "action":
        return e.action_type + (e.target ? " → " + e.target : "") + (e.content ? ": " + e.content : "");
      case "stimulus":
        return e.stimulus_type + (e.source ? " from " + e.source : "") + ": " + e.content;
      case "llm_call":
        return e.model + " · " + e.purpose + " · " + e.prompt_tokens + "+" + e.completion_tokens + " tokens · "
          + (e.latency_s || 0).toFixed(2) + " s" + (e.cache_hit ? " · cached" : "") + (e.error ? " · " + e.error : "");
      case "step":
        return "step " + e.step + " " + e.phase + (e.wall_s != null ? " (" + e.wall_s.toFixed(2) + " s)" : "");
      case "memory":
        return e.operation + " · episodic " + e.episodic_size + " · semantic " + e.semantic_size;
      case "state_edit":
        return e.operation + " " + e.path + ": " + short(e.before, 60) + " → " + short(e.after, 60);
      case "warning":
        return e.code + ": " + e.message;
      case "agent_error":
        return e.error_type + ": " + e.message;
      case "tool_call":
        return e.tool + "." + e.action + (e.ok ? "" : " failed: " + (e.error || ""));
      default:
        return short(Object.fromEntries(Object.entries(e).filter(([k]) => !k.startsWith("_")
          && !["kind", "seq", "wall_time", "simulation_id", "world", "agent", "step"].includes(k))), 300);
    }
  };

  /* A DOM element: h("div", {class: "x"}, "text", child, ...). Text is always text, never markup. */
  TT.h = function (tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  };
  TT.svg = function (tag, attrs) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  };

  const palette = ["#2f6fb3", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b7950b",
    "#1abc9c", "#e84393", "#0984e3", "#6c5ce7"];
  const colors = {};
  TT.color = function (name) {
    if (!(name in colors)) colors[name] = palette[Object.keys(colors).length % palette.length];
    return colors[name];
  };

  /* Agents in order of first appearance, for the selects and lists. */
  TT.agents = [];
  const seen = new Set();
  TT.on("events", (batch) => {
    let added = false;
    for (const e of batch) {
      if (e.agent && !seen.has(e.agent)) { seen.add(e.agent); TT.agents.push(e.agent); added = true; }
    }
    if (added) emit("agents", TT.agents);
  });

  TT.percentile = function (values, p) {
    if (!values.length) return null;
    const sorted = values.slice().sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
  };
})();
