/* The conversation timeline: a virtual list (only the rows in sight exist in the DOM, so 10,000 events
   cost what 40 do), filtered by agent, kind and text, following the newest events unless scrolled up. */
"use strict";
(function () {
  const TT = window.TT;
  const ROW = 22;
  const scroller = document.getElementById("tl-scroll");
  const spacer = document.getElementById("tl-spacer");
  const fAgent = document.getElementById("f-agent");
  const fKind = document.getElementById("f-kind");
  const fSearch = document.getElementById("f-search");
  const fFollow = document.getElementById("f-follow");
  const shown = document.getElementById("tl-shown");
  const detail = document.getElementById("tl-detail");

  let view = [];          // positions in TT.events of the events that pass the filters
  let filter = { agent: "", kind: "", text: "" };
  let selected = null;    // _i of the selected event
  let pending = false;
  const pool = [];        // row elements, reused
  const kinds = new Set();

  function matches(e) {
    if (filter.agent && e.agent !== filter.agent && e.target !== filter.agent && e.source !== filter.agent) return false;
    if (filter.kind && e.kind !== filter.kind) return false;
    if (filter.text && !e._search.includes(filter.text)) return false;
    return true;
  }

  function refilter() {
    view = [];
    const events = TT.events;
    for (let k = 0; k < events.length; k++) if (matches(events[k])) view.push(k);
    schedule();
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(render);
  }

  function row(k) {
    let el = pool[k];
    if (!el) {
      el = TT.h("div", { class: "ev" }, TT.h("span", { class: "i" }), TT.h("span", { class: "k" }),
        TT.h("span", { class: "a" }), TT.h("span", { class: "t" }));
      el.addEventListener("click", () => select(Number(el.dataset.i)));
      pool[k] = el;
      spacer.appendChild(el);
    }
    return el;
  }

  function render() {
    pending = false;
    spacer.style.height = view.length * ROW + "px";
    if (fFollow.checked) scroller.scrollTop = scroller.scrollHeight;
    const top = scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW) - 5);
    const count = Math.ceil(scroller.clientHeight / ROW) + 10;
    let used = 0;
    for (let v = first; v < Math.min(view.length, first + count); v++, used++) {
      const e = TT.events[view[v]];
      const el = row(used);
      el.style.top = v * ROW + "px";
      el.className = "ev kind-" + e.kind + (e._i === selected ? " sel" : "");
      el.dataset.i = e._i;
      el.hidden = false;
      const [i, k, a, t] = el.children;
      i.textContent = "#" + e._i + (e.step != null ? " s" + e.step : "");
      k.textContent = e.kind;
      a.textContent = e.agent || e.world || "";
      a.style.color = e.agent ? TT.color(e.agent) : "";
      t.textContent = e._line;
    }
    for (let k = used; k < pool.length; k++) pool[k].hidden = true;
    shown.textContent = view.length === TT.events.length ? TT.events.length + " events"
      : view.length + " of " + TT.events.length + " events";
    TT.timeline.rows = used;
    requestAnimationFrame(() => {  // painted: what the render-time figure reads
      if (TT.metrics.rendered.length < 10000) TT.metrics.rendered.push([TT.events.length, view.length, performance.now()]);
    });
  }

  function select(i) {
    selected = i;
    const e = TT.events[i - TT.first];
    const clean = Object.fromEntries(Object.entries(e || {}).filter(([k]) => !["_line", "_search"].includes(k)));
    detail.textContent = JSON.stringify(clean, null, 2);
    detail.classList.remove("muted");
    schedule();
  }

  function refreshSelects() {
    const have = new Set(Array.from(fAgent.options).map((o) => o.value));
    for (const name of TT.agents) if (!have.has(name)) fAgent.appendChild(TT.h("option", { value: name }, name));
  }

  TT.on("events", (batch) => {
    for (const e of batch) {
      if (!kinds.has(e.kind)) { kinds.add(e.kind); fKind.appendChild(TT.h("option", { value: e.kind }, e.kind)); }
    }
    const base = TT.events.length - batch.length;
    for (let k = 0; k < batch.length; k++) if (matches(batch[k])) view.push(base + k);
    schedule();
  });
  TT.on("agents", refreshSelects);

  fAgent.addEventListener("change", () => { filter.agent = fAgent.value; refilter(); });
  fKind.addEventListener("change", () => { filter.kind = fKind.value; refilter(); });
  let typing = null;
  fSearch.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { filter.text = fSearch.value.trim().toLowerCase(); refilter(); }, 120);
  });
  scroller.addEventListener("scroll", () => {
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW;
    if (!atBottom && fFollow.checked && !pending) fFollow.checked = false;
    schedule();
  }, { passive: true });
  fFollow.addEventListener("change", schedule);

  TT.timeline = {
    rows: 0,
    get shown() { return view.length; },
    /* Show event _i: clear the filters, stop following, scroll to it and select it. */
    reveal(i) {
      filter = { agent: "", kind: "", text: "" };
      fAgent.value = fKind.value = fSearch.value = "";
      fFollow.checked = false;
      refilter();
      scroller.scrollTop = Math.max(0, (i - TT.first) * ROW - scroller.clientHeight / 2);
      select(i);
    },
  };
})();
