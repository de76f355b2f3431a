/* The insights page: cards from the server's insight provider, each citing the events it rests on
   (a click shows the event in the timeline) and marked when its evidence did not hold. */
"use strict";
(function () {
  const TT = window.TT;
  const cards = document.getElementById("ins-cards");
  const note = document.getElementById("ins-note");

  async function load() {
    note.textContent = "loading…";
    let data;
    try { data = await TT.api("api/insights"); }
    catch (err) { note.textContent = err.message; return; }
    note.textContent = data.error ? "the insight provider failed: " + data.error
      : data.available ? data.cards.length + " insights" : data.message;
    note.className = data.error ? "error" : "muted";
    cards.replaceChildren(...data.cards.map((c) => TT.h("div", { class: "card" + (c.valid === false ? " invalid" : "") },
      TT.h("div", { class: "cat" }, c.category + (c.valid === true ? " · evidence checked" : c.valid === false
        ? " · evidence does not hold" : "")),
      TT.h("h3", {}, c.title), TT.h("p", {}, c.text), c.note ? TT.h("p", { class: "muted" }, c.note) : null,
      TT.h("div", {}, c.evidence.length ? "evidence: " : "", ...c.evidence.slice(0, 30).map((i) =>
        TT.h("a", { onclick: () => { TT.selectTab("timeline"); TT.timeline.reveal(i); } }, "#" + i))))));
  }

  document.getElementById("ins-refresh").addEventListener("click", load);
  TT.insights = { show: load };
})();
