/* The call-back card: who is called back, why, what was promised and by when.
 *
 * The service sends callback.offered to the reserved agent before it rings them, and has
 * Asterisk dial the citizen only after the agent answered, so the card is on screen
 * before the citizen's phone rings. The zaken pop that comes with it is shown by pop.js
 * (it is fed through as a call.offered for the call-back's own call), so verification,
 * choosing a klant and search work as for an incoming call. callback.result says how
 * the attempt ended (reached, no answer, busy, voicemail, refused).
 * A part of the panel (panel.js): registers for callback.offered / callback.result. */
"use strict";

(() => {
  const { el, dateTime } = KCC;
  const { ui, on, onStop } = KCCPanel;
  const OUTCOMES = {
    reached: "Burger bereikt",
    no_answer: "Niet opgenomen",
    busy: "In gesprek",
    voicemail: "Voicemail (niet bereikt)",
    refused: "Burger weigerde",
    failed: "Mislukt",
  };
  const STATUS = { done: "afgehandeld", waiting: "nieuwe poging volgt", task: "terugbeltaak voor het team" };

  function section() {
    let node = document.getElementById("callback");
    if (node) return node;
    node = el("section", { className: "card", id: "callback", "aria-live": "assertive",
      "aria-labelledby": "callback-title", hidden: true });
    const pop = document.getElementById("pop");
    pop.parentNode.insertBefore(node, pop);
    return node;
  }

  function fact(label, value, id) {
    if (value === undefined || value === null || value === "") return null;
    return [el("dt", {}, label), el("dd", { id }, value)];
  }

  function show(msg) {
    const promise = msg.promise || {};
    const why = msg.why || { subject: msg.subject };
    const greeting = ((msg.pop || {}).candidates || [])[0];
    const overdue = promise.deadline && new Date(promise.deadline).getTime() < Date.now();
    ui.callback = { id: msg.callback_id, linkedid: msg.linkedid, receivedAt: Date.now() };
    const node = section();
    node.replaceChildren(
      el("h2", { id: "callback-title" }, "Terugbellen"),
      el("p", { className: "hint" },
        "Uw telefoon gaat zo over; na opnemen belt de centrale de burger."),
      el("dl", { className: "facts" },
        fact("Wie", greeting && greeting.name ? `${greeting.name} (${msg.number})` : msg.number,
          "callback-who"),
        fact("Waarom", why.subject, "callback-why"),
        fact("Zaaknummer", why.zaaknummer, "callback-zaak"),
        fact("Wat de beller zei", why.transcript, "callback-transcript"),
        fact("Beloofd", promise.text, "callback-promise"),
        fact("Tijdvak vanaf", promise.window_start ? dateTime(promise.window_start) : "",
          "callback-window"),
        fact("Uiterlijk", promise.deadline
          ? `${dateTime(promise.deadline)}${overdue ? " (termijn verstreken)" : ""}` : "",
          "callback-deadline"),
        fact("Wachtrij", msg.queue, "callback-queue"),
        fact("Poging", String(msg.attempt || 1), "callback-attempt")),
      el("p", { id: "callback-result", role: "status" }),
    );
    node.dataset.callbackId = String(msg.callback_id);
    node.dataset.overdue = overdue ? "yes" : "no";
    node.hidden = false;
    // The zaken pop of the citizen, by the pop's own renderer.
    ui.receive({
      type: "call.offered", linkedid: msg.linkedid, queue: msg.queue,
      call: { caller_number: msg.number, subject: why.subject, queue: msg.queue,
        zaaknummer: why.zaaknummer, transcript: why.transcript },
      pop: msg.pop || { incomplete: true },
    });
    // When the card was on screen (tests compare it with the citizen's ring).
    requestAnimationFrame(() => {
      node.dataset.paintedAt = String(performance.timeOrigin + performance.now());
    });
  }

  function result(msg) {
    const node = document.getElementById("callback");
    if (!node || node.dataset.callbackId !== String(msg.callback_id)) return;
    const outcome = OUTCOMES[msg.outcome] || msg.outcome || "";
    const status = STATUS[msg.status] || msg.status || "";
    const out = node.querySelector("#callback-result");
    out.textContent = `Resultaat: ${outcome}${status ? ` – ${status}` : ""}`;
    node.dataset.outcome = msg.outcome || "";
  }

  function clear() {
    const node = document.getElementById("callback");
    if (node) {
      node.replaceChildren();
      node.hidden = true;
    }
    ui.callback = null;
  }

  on("callback.offered", show);
  on("callback.result", result);
  // A new (queue) call replaces the finished call-back's card.
  on("call.offered", (msg) => {
    if (ui.callback && msg.linkedid !== ui.callback.linkedid) clear();
  });
  onStop(clear);
})();
