/* Softphone call controls beyond answer and hang up: hold/resume, mute, DTMF keypad.
 *
 * softphone.js owns the JsSIP user agent and the current session (window.kccSoftphone)
 * and fires "kcc-softphone" on document whenever the session changes; this part only
 * acts on that session, so the controls work on whatever call the softphone carries.
 * Hold is a SIP re-INVITE (sendonly): Asterisk reports Hold/Unhold, plays music on hold
 * to the citizen, and the service keeps the hold time in the call record.
 * Mute disables the microphone track (no re-INVITE: the citizen must not hear music).
 * DTMF goes as RFC 4733 events in the RTP stream (the agent endpoints' dtmf_mode),
 * not SIP INFO, so a citizen's IVR or a colleague's menu reads it like a desk phone's.
 */
"use strict";

(() => {
  const { el } = KCC;
  const { ui } = KCCPanel;
  const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  const DTMF_OPTIONS = { transportType: "RFC2833", duration: 120, interToneGap: 70 };
  const nodes = {};
  let watched = null; // the session whose hold/mute events we listen to

  /* The established, live call, or null. */
  function current() {
    const sp = window.kccSoftphone;
    const s = sp && sp.session;
    return s && !s.isEnded() && s.isEstablished() ? s : null;
  }

  function refresh() {
    const s = current();
    const held = !!(s && s.isOnHold().local);
    const muted = !!(s && s.isMuted().audio);
    nodes.hold.disabled = !s;
    nodes.hold.textContent = held ? "Hervatten" : "Wachtstand";
    nodes.hold.setAttribute("aria-pressed", String(held));
    nodes.mute.disabled = !s;
    nodes.mute.textContent = muted ? "Microfoon aan" : "Microfoon uit";
    nodes.mute.setAttribute("aria-pressed", String(muted));
    for (const b of nodes.keys) b.disabled = !s;
    nodes.status.textContent = !s ? "" : held ? "Burger in de wacht (hoort wachtmuziek)"
      : muted ? "Microfoon uit" : "";
    if (s && s !== watched) {
      watched = s;
      for (const name of ["hold", "unhold", "muted", "unmuted", "ended", "failed"]) {
        s.on(name, refresh);
      }
    }
  }

  function toggleHold() {
    const s = current();
    if (!s) return;
    if (s.isOnHold().local) s.unhold();
    else s.hold();
  }

  function toggleMute() {
    const s = current();
    if (!s) return;
    if (s.isMuted().audio) s.unmute({ audio: true });
    else s.mute({ audio: true });
  }

  function sendDigit(key) {
    const s = current();
    if (!s || !KEYS.includes(key)) return;
    s.sendDTMF(key, DTMF_OPTIONS);
    nodes.sent.textContent = (nodes.sent.textContent + key).slice(-32);
  }

  function build() {
    const card = document.getElementById("softphone");
    if (!card || nodes.hold) return;
    nodes.hold = el("button", { type: "button", id: "sp-hold", onclick: toggleHold }, "Wachtstand");
    nodes.mute = el("button", { type: "button", id: "sp-mute", onclick: toggleMute },
      "Microfoon uit");
    nodes.keys = KEYS.map((key) => el("button", {
      type: "button", className: "key", "data-key": key, "aria-label": `Toets ${key}`,
      onclick: () => sendDigit(key),
    }, key));
    nodes.sent = el("output", { id: "sp-dtmf-sent", "aria-label": "Verzonden toetsen" });
    nodes.status = el("p", { id: "sp-control-state", role: "status", className: "muted" });
    const keypad = el("div", { className: "keypad", id: "sp-keypad", role: "group",
      "aria-label": "Toetsenblok (DTMF)" }, nodes.keys);
    // Digits typed while the keypad has focus go out as tones too.
    keypad.addEventListener("keydown", (event) => {
      if (KEYS.includes(event.key) && !event.ctrlKey && !event.altKey && !event.metaKey) {
        event.preventDefault();
        sendDigit(event.key);
      }
    });
    card.appendChild(el("div", { className: "buttons", id: "sp-controls" },
      nodes.hold, nodes.mute));
    card.appendChild(el("details", { id: "sp-keypad-box" },
      el("summary", {}, "Toetsenblok"), keypad, el("p", {}, "Verzonden: ", nodes.sent)));
    card.appendChild(nodes.status);
    card.appendChild(consultBox());
    card.appendChild(dialForm());
    watchPop();
    refresh();
  }

  // ------------------------------------------------------------ attended transfer
  /* Ruggespraak: ask the service (limit, note), hold the citizen, call the colleague;
   * then Overdragen (REFER with Replaces: Asterisk bridges citizen and colleague) or
   * Terug naar burger (hang the consult up, resume). The dialplan checks the limit on
   * the consult call too, so a refused consult simply fails here. */
  let consult = null;

  function consultState(text) {
    nodes.consultState.textContent = text;
    const live = !!(consult && consult.isEstablished() && !consult.isEnded());
    nodes.consultStart.disabled = !current() || !!consult;
    nodes.consultComplete.disabled = !live;
    nodes.consultReturn.disabled = !consult;
  }

  async function consultStart() {
    const citizen = current();
    if (!citizen || consult) return;
    const linkedid = ui.pop && ui.pop.linkedid;
    let res;
    try {
      if (!linkedid) throw new Error("geen gesprek in het klantbeeld");
      res = await KCC.api("POST", `/api/calls/${encodeURIComponent(linkedid)}/consult`,
        { to: nodes.consultTo.value, note: nodes.consultNote.value });
    } catch (err) {
      consultState(`Ruggespraak niet mogelijk: ${err.message}`);
      return;
    }
    if (!citizen.isOnHold().local) citizen.hold();
    const host = String(ui.config.softphone.uri).split("@")[1];
    const sp = window.kccSoftphone;
    consult = sp.ua.call(`sip:${res.dial}@${host}`, {
      mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] },
    });
    window.kccPhone.consult = consult;
    let gather = null;
    consult.on("icecandidate", (e) => { if (!gather) gather = setTimeout(e.ready, 500); });
    consult.on("peerconnection", (e) => {
      e.peerconnection.addEventListener("track", (ev) => {
        if (ev.streams && ev.streams[0]) nodes.consultAudio.srcObject = ev.streams[0];
      });
    });
    consult.on("confirmed", () => consultState("In ruggespraak met uw collega; de burger wacht."));
    const over = (text) => () => {
      consult = null;
      consultState(text);
      const s = current();
      if (s && s.isOnHold().local) s.unhold();
    };
    consult.on("failed", (e) => over(`Ruggespraak mislukt (${e.cause}): u hebt de burger weer.`)());
    consult.on("ended", over("Ruggespraak beëindigd."));
    consultState("Collega wordt gebeld…");
  }

  function consultComplete() {
    const citizen = current();
    if (!citizen || !consult) return;
    const target = consult;
    citizen.refer(target.remote_identity.uri, {
      replaces: target,
      eventHandlers: {
        accepted: () => consultState("Overgedragen: de burger is bij uw collega."),
        failed: () => consultState("Overdragen mislukt: u hebt de burger nog."),
      },
    });
  }

  function consultReturn() {
    if (consult) consult.terminate();
  }

  function consultBox() {
    const targets = ((ui.config && ui.config.transfer_targets) || [])
      .filter((t) => String(t.to).startsWith("agent-"));
    nodes.consultTo = el("select", { id: "consult-to" },
      targets.map((t) => el("option", { value: t.to }, t.label)));
    nodes.consultNote = el("textarea", { id: "consult-note", rows: "2", maxlength: "2000" });
    nodes.consultStart = el("button", { type: "button", id: "consult-start",
      onclick: consultStart }, "Ruggespraak");
    nodes.consultComplete = el("button", { type: "button", id: "consult-complete",
      onclick: consultComplete, disabled: true }, "Overdragen");
    nodes.consultReturn = el("button", { type: "button", id: "consult-return",
      className: "secondary", onclick: consultReturn, disabled: true }, "Terug naar burger");
    nodes.consultState = el("p", { id: "consult-state", role: "status" });
    nodes.consultAudio = el("audio", { autoplay: true });
    return el("details", { id: "consult-box" }, el("summary", {}, "Ruggespraak en overdragen"),
      el("label", {}, "Collega ", nodes.consultTo),
      el("label", {}, "Overdrachtsnotitie", nodes.consultNote),
      el("div", { className: "buttons" }, nodes.consultStart, nodes.consultComplete,
        nodes.consultReturn),
      nodes.consultState, nodes.consultAudio);
  }

  /* The colleague who receives the citizen: the handover note above the pop. */
  function showHandover(msg) {
    let box = document.getElementById("handover");
    if (!msg.handover) {
      if (box) box.hidden = true;
      return;
    }
    if (!box) {
      box = el("section", { className: "card", id: "handover", "aria-live": "polite",
        "aria-label": "Overdracht" });
      const pop = document.getElementById("pop");
      pop.parentNode.insertBefore(box, pop);
    }
    box.replaceChildren(el("h2", {}, `Overgedragen door ${msg.handover.from}`),
      el("blockquote", { id: "handover-note" }, msg.handover.note || "(geen notitie)"));
    box.dataset.linkedid = msg.linkedid;
    box.hidden = false;
  }

  // ------------------------------------------------------------ click-to-dial
  /* Through the service (POST /api/calls/dial): the number rules apply there, your phone
   * rings first, the citizen sees the municipality's 14 number. */
  async function dialOut(number) {
    const out = nodes.dialResult;
    out.textContent = "";
    delete out.dataset.linkedid;
    const pop = ui.pop || {};
    const municipality = (pop.call || {}).municipality || ((pop.pop || {}).call || {}).municipality;
    try {
      const res = await KCC.api("POST", "/api/calls/dial",
        municipality ? { number, municipality } : { number });
      out.dataset.linkedid = res.linkedid;
      out.textContent = `Uw telefoon gaat over; daarna wordt ${res.number} gebeld `
        + `(de burger ziet ${res.caller_id}).`;
    } catch (err) {
      out.textContent = `Bellen niet mogelijk: ${err.message}`;
    }
  }

  function dialForm() {
    nodes.dialNumber = el("input", { id: "sp-dial-number", inputmode: "tel", maxlength: "32",
      autocomplete: "off" });
    nodes.dialResult = el("p", { id: "sp-dial-result", role: "status" });
    const form = el("form", { id: "sp-dial-form", "aria-label": "Uitbellen" },
      el("label", { className: "inline" }, "Nummer ", nodes.dialNumber),
      el("button", { type: "submit", id: "sp-dial" }, "Bellen"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const number = nodes.dialNumber.value.trim();
      if (number) dialOut(number);
    });
    return el("div", {}, form, nodes.dialResult);
  }

  /* A "Bellen" button beside the caller's number in the pop (pop.js re-renders the card,
   * so it is put back whenever the number is drawn again). */
  function watchPop() {
    const card = document.getElementById("pop-card");
    if (!card) return;
    const add = () => {
      const dd = document.getElementById("pop-caller-number");
      if (!dd || document.getElementById("pop-dial") || !/\d/.test(dd.textContent)) return;
      const number = dd.textContent;
      dd.parentNode.after(el("p", {}, el("button", { type: "button", className: "secondary",
        id: "pop-dial", onclick: () => { nodes.dialNumber.value = number; dialOut(number); } },
      `Bel ${number}`)));
    };
    new MutationObserver(add).observe(card, { childList: true, subtree: true });
  }

  document.addEventListener("kcc-softphone", () => {
    refresh();
    if (nodes.consultStart) consultState(nodes.consultState.textContent);
  });
  KCCPanel.on("call.offered", showHandover);
  KCCPanel.onStart(() => {
    build();
    nodes.sent.textContent = "";
    refresh();
  });
  KCCPanel.onStop(() => {
    watched = null;
    if (nodes.hold) refresh();
  });

  window.kccPhone = { toggleHold, toggleMute, sendDigit, dial: dialOut }; // shortcuts, notes
})();
