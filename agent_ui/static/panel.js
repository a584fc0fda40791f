/* The agent panel's core: log in, agent states, the live connection, and the registry
 * the panel's parts plug into. Each part has a file of its own and registers here:
 *   pop.js      the screen-pop (AVG: greeting-level until verified), transfer, search
 *   contact.js  contactmoment registration
 *   softphone.js the JsSIP softphone (started from here)
 * A part calls KCCPanel.on(type, fn) for hub messages, KCCPanel.onStart(fn) /
 * KCCPanel.onStop(fn) for sign-in and sign-out; it never edits this file's handlers.
 * All data is rendered as text through KCC.el / textContent (see common.js). */
"use strict";

const KCCPanel = (() => {
  const { el, setText, api, seconds, stateLabel } = KCC;
  const $ = (id) => document.getElementById(id);

  const ui = {
    me: null,
    config: null,
    state: { state: "logged_out" },
    hub: null,
    softphone: null,
    pop: null, // {linkedid, queue, call, pop, receivedAt}
    wrapupTimer: null,
  };
  window.kccPanel = ui; // for tests and debugging in the browser console

  // ------------------------------------------------------------------ the registry
  const handlers = new Map(); // message type -> [fn]
  const startHooks = [];
  const stopHooks = [];

  function on(type, fn) {
    if (!handlers.has(type)) handlers.set(type, []);
    handlers.get(type).push(fn);
  }

  // ------------------------------------------------------------------ login
  function showLogin(message) {
    $("panel-view").hidden = true;
    $("topbar-status").hidden = true;
    $("login-view").hidden = false;
    setText("login-error", message || "");
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setText("login-error", "");
    $("login-submit").disabled = true;
    try {
      await KCC.login($("login-user").value.trim(), $("login-pass").value);
      $("login-pass").value = "";
      await start();
    } catch (err) {
      setText("login-error", err.status === 401 ? "Onbekende gebruiker of verkeerd wachtwoord."
        : `Inloggen mislukt: ${err.message}`);
    } finally {
      $("login-submit").disabled = false;
    }
  });

  async function start() {
    try {
      ui.config = await api("GET", "/panel/config");
      ui.me = await api("GET", "/api/me");
    } catch (err) {
      KCC.saveSession(null);
      showLogin(err.status === 401 ? "Uw sessie is verlopen; log opnieuw in." : err.message);
      return;
    }
    $("login-view").hidden = true;
    $("panel-view").hidden = false;
    $("topbar-status").hidden = false;
    setText("who", `${ui.config.name} (${ui.config.login})`);
    const select = $("pause-reason");
    select.replaceChildren(...ui.config.pause_reasons.map((r) => el("option", { value: r }, r)));
    applyState(ui.me);
    for (const fn of startHooks) fn(ui);
    ui.hub = KCC.connectHub({
      message: onMessage,
      status: (s) => {
        const badge = $("hub-status");
        badge.dataset.state = s;
        badge.textContent = s === "open" ? "Verbinding: live" : "Verbinding: opnieuw verbinden…";
      },
      unauthorised: () => signOut("Uw sessie is verlopen; log opnieuw in."),
    });
    ui.softphone = KccSoftphone.start(ui.config, {
      statusNode: $("sp-status"),
      textNode: $("sp-text"),
      callNode: $("sp-call"),
      callerNode: $("sp-caller"),
      callStateNode: $("sp-call-state"),
      answerButton: $("sp-answer"),
      hangupButton: $("sp-hangup"),
      autoAnswer: $("sp-autoanswer"),
      audio: $("sp-audio"),
    });
  }

  async function signOut(message) {
    if (ui.hub) ui.hub.close();
    if (ui.softphone) ui.softphone.stop();
    ui.hub = null;
    ui.softphone = null;
    await KCC.logout();
    for (const fn of stopHooks) fn(ui);
    showLogin(message);
  }

  // ------------------------------------------------------------------ live messages
  function onMessage(msg) {
    if (msg.type === "hello") applyState(msg.state);
    else if (msg.type === "agent.state") {
      if (ui.config && msg.login === ui.config.login) applyState(msg);
    } else if (msg.type === "ack" && msg.state) applyState(msg.state);
    else if (msg.type === "error") setText("state-error", msg.message || msg.code);
    for (const fn of handlers.get(msg.type) || []) fn(msg, ui);
  }

  ui.receive = onMessage; // tests feed rendering edge cases (incomplete pops) through here

  // ------------------------------------------------------------------ agent state
  function applyState(state) {
    if (!state) return;
    ui.state = state;
    const name = state.state || "logged_out";
    const badge = $("state-badge");
    badge.dataset.state = name;
    badge.textContent = stateLabel(name);
    setText("state-label", stateLabel(name));
    let detail = "";
    if (name === "paused" && state.reason) detail = `(${state.reason})`;
    setText("state-detail", detail);
    clearInterval(ui.wrapupTimer);
    if (name === "wrap_up" && state.wrapup_until) {
      const tick = () => {
        const left = state.wrapup_until - Date.now() / 1000;
        setText("state-detail", left > 0 ? `(nog ${seconds(left)})` : "");
      };
      tick();
      ui.wrapupTimer = setInterval(tick, 1000);
    }
    $("btn-available").disabled = name === "available" || name === "on_call" || name === "ringing";
    $("btn-pause").disabled = name === "logged_out";
    $("btn-end-wrapup").disabled = name !== "wrap_up";
    $("btn-logout-queues").disabled = name === "logged_out";
  }

  async function action(path, body) {
    setText("state-error", "");
    try {
      applyState(await api("POST", path, body));
    } catch (err) {
      setText("state-error", err.status === 409 ? `Niet mogelijk nu: ${err.message}` : err.message);
    }
  }

  $("btn-available").addEventListener("click", () =>
    action(ui.state.state === "logged_out" ? "/api/me/login" : "/api/me/resume"));
  $("btn-pause").addEventListener("click", () =>
    action("/api/me/pause", { reason: $("pause-reason").value }));
  $("btn-end-wrapup").addEventListener("click", () => action("/api/me/end-wrapup"));
  $("btn-logout-queues").addEventListener("click", () => action("/api/me/logout"));
  $("btn-signout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/me/logout");
    } catch (_e) {
      /* already logged out of the queues */
    }
    await signOut("U bent uitgelogd.");
  });

  // ------------------------------------------------------------------ boot
  // After every part's script has run (they are loaded after this one) and registered.
  document.addEventListener("DOMContentLoaded", () => {
    if (KCC.session()) start();
    else showLogin("");
  });

  return {
    ui, $, on, action, applyState,
    onStart: (fn) => startHooks.push(fn),
    onStop: (fn) => stopHooks.push(fn),
  };
})();
