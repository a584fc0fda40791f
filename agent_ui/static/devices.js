/* The agent's audio devices, the ringtone and the desktop notification.
 *
 * Microphone, speaker (the call's audio) and ringer (the ringtone) are chosen from the
 * browser's devices and kept in localStorage (device ids are per site, not secrets).
 * The softphone asks audioConstraint() when it answers; speaker and ringer use
 * setSinkId. The ringtone is made with WebAudio (no sound file to fetch) and plays while
 * an incoming call rings and is not answered automatically. When the tab is hidden an
 * incoming call also shows a desktop notification (after the agent allowed them).
 * A part of the panel (panel.js): onStart / onStop; follows the softphone's
 * "kcc-softphone" event. */
"use strict";

(() => {
  const { el } = KCC;
  const { onStart, onStop, on } = KCCPanel;
  const STORE = "kcc.devices";
  const state = { ringing: false, notified: 0, rings: 0, ctx: null, tone: null };
  window.kccDevices = state;

  function saved() {
    try {
      return JSON.parse(localStorage.getItem(STORE) || "{}");
    } catch (_e) {
      return {};
    }
  }

  function save(kind, id) {
    localStorage.setItem(STORE, JSON.stringify({ ...saved(), [kind]: id }));
  }

  state.audioConstraint = () => {
    const mic = saved().mic;
    return mic ? { deviceId: { exact: mic } } : true;
  };

  async function applySinks() {
    const prefs = saved();
    const audio = document.getElementById("sp-audio");
    if (audio && audio.setSinkId && prefs.speaker) {
      try {
        await audio.setSinkId(prefs.speaker);
      } catch (_e) {
        /* the device went away: the default plays */
      }
    }
  }

  async function fill() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const prefs = saved();
    const options = (kind, pref) => [el("option", { value: "" }, "Standaard"),
      ...devices.filter((d) => d.kind === kind && d.deviceId !== "default")
        .map((d, i) => el("option", { value: d.deviceId, selected: d.deviceId === pref },
          d.label || `${kind} ${i + 1}`))];
    document.getElementById("dev-mic").replaceChildren(...options("audioinput", prefs.mic));
    document.getElementById("dev-speaker").replaceChildren(
      ...options("audiooutput", prefs.speaker));
    document.getElementById("dev-ringer").replaceChildren(
      ...options("audiooutput", prefs.ringer));
    await applySinks();
  }

  function build() {
    if (document.getElementById("devices-box")) return;
    const select = (id, kind, label) => {
      const node = el("select", { id });
      node.addEventListener("change", () => { save(kind, node.value); applySinks(); });
      return el("label", {}, label, node);
    };
    const notify = el("button", { type: "button", className: "secondary", id: "dev-notify",
      onclick: async () => {
        if (!("Notification" in window)) return;
        await Notification.requestPermission();
        notify.textContent = Notification.permission === "granted" ? "Meldingen staan aan"
          : "Meldingen niet toegestaan";
      } }, "Meldingen bij verborgen tabblad aanzetten");
    document.getElementById("softphone").appendChild(
      el("details", { id: "devices-box" }, el("summary", {}, "Geluid en meldingen"),
        select("dev-mic", "mic", "Microfoon "), select("dev-speaker", "speaker", "Luidspreker "),
        select("dev-ringer", "ringer", "Beltoon via "), notify));
    fill();
  }

  // ------------------------------------------------------------------ ringtone
  async function ringStart() {
    if (state.ringing) return;
    state.ringing = true;
    state.rings += 1;
    try {
      state.ctx = state.ctx || new AudioContext();
      const ringer = saved().ringer;
      if (ringer && state.ctx.setSinkId) await state.ctx.setSinkId(ringer).catch(() => {});
      const osc = state.ctx.createOscillator();
      const gain = state.ctx.createGain();
      osc.frequency.value = 440;
      gain.gain.value = 0;
      // 1 s on, 2 s off, like a Dutch ring cadence.
      const t0 = state.ctx.currentTime;
      for (let i = 0; i < 20; i += 1) {
        gain.gain.setValueAtTime(0.2, t0 + i * 3);
        gain.gain.setValueAtTime(0, t0 + i * 3 + 1);
      }
      osc.connect(gain).connect(state.ctx.destination);
      osc.start();
      state.tone = osc;
    } catch (_e) {
      /* no audio output: the screen still says the phone rings */
    }
  }

  function ringStop() {
    state.ringing = false;
    if (state.tone) {
      try {
        state.tone.stop();
      } catch (_e) { /* already stopped */ }
      state.tone = null;
    }
  }

  function onSoftphone() {
    const sp = window.kccSoftphone;
    const s = sp && sp.session;
    const ringingIn = !!(s && s.direction === "incoming" && s.isInProgress());
    const auto = document.getElementById("sp-autoanswer");
    if (ringingIn && !(auto && auto.checked)) ringStart();
    else ringStop();
    if (ringingIn && document.hidden && "Notification" in window
        && Notification.permission === "granted") {
      const who = document.getElementById("sp-caller");
      new Notification("KCC: inkomend gesprek", { body: who ? who.textContent : "",
        tag: "kcc-call" });
      state.notified += 1;
    }
  }

  document.addEventListener("kcc-softphone", onSoftphone);
  on("call.offered", () => {
    if (document.hidden && "Notification" in window && Notification.permission === "granted") {
      new Notification("KCC: gesprek aangeboden", { tag: "kcc-offer" });
      state.notified += 1;
    }
  });
  onStart(build);
  onStop(ringStop);
})();
