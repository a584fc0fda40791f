/* Contact history of the caller, below the pop: earlier calls, call-backs and
 * terugbelnotities from the same number. Loaded once the agent has verified the caller
 * (the service refuses it before: AVG) and logged there; rendered as text.
 * A part of the panel (panel.js): watches the pop card (pop.js) for verification. */
"use strict";

(() => {
  const { el, api, dateTime, seconds } = KCC;
  const { on, onStop } = KCCPanel;
  let loadedFor = "";

  function section() {
    let node = document.getElementById("history");
    if (node) return node;
    node = el("section", { className: "card", id: "history", "aria-labelledby": "history-title",
      hidden: true });
    const pop = document.getElementById("pop");
    pop.parentNode.insertBefore(node, pop.nextSibling);
    return node;
  }

  function list(id, title, rows, line) {
    return [el("h3", {}, title), el("ul", { className: "list", id },
      rows.length ? rows.map((r) => el("li", {}, line(r)))
        : [el("li", { className: "muted" }, "Geen.")])];
  }

  function callLine(c) {
    const how = c.abandoned ? "opgehangen in de wachtrij"
      : c.answered_by ? `met ${c.answered_by}, ${seconds(c.talk_seconds)}` : "niet beantwoord";
    return `${dateTime(c.started_at)} · ${c.subject || c.queue || "–"} · ${how}`
      + (c.transfer_count ? ` · ${c.transfer_count}x doorverbonden` : "");
  }

  async function load(linkedid) {
    const node = section();
    loadedFor = linkedid;
    try {
      const h = await api("GET", `/api/zaken/calls/${encodeURIComponent(linkedid)}/history`);
      if (loadedFor !== linkedid) return;
      node.replaceChildren(el("h2", { id: "history-title" }, "Contacthistorie"),
        ...list("history-calls", "Eerdere gesprekken", h.calls, callLine),
        ...list("history-callbacks", "Terugbelverzoeken", h.callbacks, (c) =>
          `${dateTime(c.queued_at)} · ${c.subject || "–"} · ${c.status}`
          + (c.outcome ? ` (${c.outcome})` : "")),
        ...list("history-notes", "Terugbelnotities", h.notes, (n) =>
          `${dateTime(n.created_at)} · ${n.onderwerp} · ${n.status}`
          + (n.resultaat ? `: ${n.resultaat}` : "")));
      node.dataset.linkedid = linkedid;
      node.hidden = false;
    } catch (err) {
      node.replaceChildren(el("h2", { id: "history-title" }, "Contacthistorie"),
        el("p", { className: "error" }, `Niet geladen: ${err.message}`));
      node.hidden = false;
    }
  }

  function clear() {
    loadedFor = "";
    const node = document.getElementById("history");
    if (node) {
      node.replaceChildren();
      node.hidden = true;
    }
  }

  function watch() {
    const card = document.getElementById("pop-card");
    if (!card) return;
    new MutationObserver(() => {
      const id = card.dataset.linkedid;
      if (card.dataset.verified === "yes" && id && id !== loadedFor) load(id);
    }).observe(card, { attributes: true, attributeFilter: ["data-verified", "data-linkedid"] });
  }

  on("call.offered", (msg) => { if (msg.linkedid !== loadedFor) clear(); });
  onStop(clear);
  document.addEventListener("DOMContentLoaded", watch);
})();
