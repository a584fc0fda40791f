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
    card.appendChild(dialForm());
    watchPop();
    refresh();
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

  document.addEventListener("kcc-softphone", refresh);
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
