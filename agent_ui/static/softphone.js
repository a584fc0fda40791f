/* The agent's softphone: JsSIP over WSS to Asterisk's PJSIP endpoint agent-<login>.
 *
 * The panel works without it (pop, states): when JsSIP did not load or the PBX cannot be
 * reached the status says so and the rest of the page carries on.
 * PJSIP closes a WSS connection that carries nothing for ~32 s: the account registers
 * every 60 s (Asterisk's qualify OPTIONS every 25 s keep the socket busy in between) and
 * JsSIP reconnects and re-registers by itself when the socket drops anyway.
 */
"use strict";

const KccSoftphone = (() => {
  const LABELS = {
    off: "Softphone: uit",
    unavailable: "Softphone: niet beschikbaar",
    connecting: "Softphone: verbinden…",
    connected: "Softphone: verbonden, registreren…",
    registered: "Softphone: geregistreerd",
    failed: "Softphone: registratie mislukt",
    disconnected: "Softphone: verbinding verbroken",
  };

  const ICE_GATHER_MS = 500;

  function start(config, nodes) {
    const state = { status: "off", ua: null, session: null, calls: 0, answered: 0, error: "" };
    window.kccSoftphone = state; // tests read status, session and getStats() from here

    function setStatus(status, detail) {
      state.status = status;
      state.error = detail || "";
      nodes.statusNode.dataset.state = status;
      nodes.statusNode.textContent = LABELS[status] || status;
      nodes.textNode.textContent = detail ? `${LABELS[status]} – ${detail}` : LABELS[status];
    }

    function setCall(caller, text) {
      nodes.callNode.hidden = !caller;
      nodes.callerNode.textContent = caller || "";
      nodes.callStateNode.textContent = text || "";
    }

    const sp = config.softphone;
    if (!sp) {
      setStatus("unavailable", config.softphone_problem || "geen softphone voor deze rol");
      return { stop() {} };
    }
    if (typeof window.JsSIP === "undefined") {
      setStatus("unavailable", "JsSIP is niet geladen (scripts/bootstrap installeert het)");
      return { stop() {} };
    }
    let ua;
    try {
      const socket = new JsSIP.WebSocketInterface(sp.wss_url);
      ua = new JsSIP.UA({
        sockets: [socket],
        uri: sp.uri,
        authorization_user: sp.username,
        password: sp.password,
        display_name: sp.display_name,
        register: true,
        register_expires: sp.register_expires || 60,
        session_timers: false,
        connection_recovery_min_interval: 2,
        connection_recovery_max_interval: 30,
        user_agent: "kcc-agentpaneel",
      });
    } catch (err) {
      setStatus("unavailable", String(err && err.message ? err.message : err));
      return { stop() {} };
    }
    state.ua = ua;
    setStatus("connecting");
    ua.on("connecting", () => setStatus("connecting"));
    ua.on("connected", () => setStatus("connected"));
    ua.on("disconnected", () => setStatus("disconnected", "PBX niet bereikbaar; opnieuw proberen…"));
    ua.on("registered", () => setStatus("registered"));
    ua.on("unregistered", () => { if (state.status === "registered") setStatus("connected"); });
    ua.on("registrationFailed", (e) => setStatus("failed", e && e.cause ? String(e.cause) : ""));

    function answer() {
      const session = state.session;
      if (!session || !session.isInProgress()) return;
      session.answer({
        // The microphone the agent chose (devices.js), else the default one.
        mediaConstraints: { audio: window.kccDevices ? window.kccDevices.audioConstraint() : true,
          video: false },
        pcConfig: { iceServers: [] },
      });
    }

    function hangup() {
      if (state.session && !state.session.isEnded()) state.session.terminate();
    }

    function refreshButtons() {
      const s = state.session;
      nodes.answerButton.disabled = !(s && s.direction === "incoming" && s.isInProgress());
      nodes.hangupButton.disabled = !(s && !s.isEnded());
      // The call controls (phone.js) follow the session through this event.
      document.dispatchEvent(new CustomEvent("kcc-softphone"));
    }

    nodes.answerButton.addEventListener("click", answer);
    nodes.hangupButton.addEventListener("click", hangup);

    ua.on("newRTCSession", (data) => {
      const session = data.session;
      if (data.originator !== "remote") return;
      if (state.session && !state.session.isEnded()) {
        session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
        return;
      }
      state.session = session;
      state.calls += 1;
      const remote = session.remote_identity;
      const caller = remote ? (remote.display_name || (remote.uri && remote.uri.user) || "") : "";
      setCall(caller || "onbekend", "gaat over");
      // JsSIP sends the answer only when ICE gathering completes, with no time limit: a
      // host with an interface that never finishes gathering (IPv6 without a route, a
      // VPN) leaves the citizen ringing. Host candidates come within milliseconds; send
      // what there is ICE_GATHER_MS after the first one.
      let gatherTimer = null;
      session.on("icecandidate", (e) => {
        if (!gatherTimer) gatherTimer = setTimeout(e.ready, ICE_GATHER_MS);
      });
      session.on("peerconnection", (e) => {
        e.peerconnection.addEventListener("track", (ev) => {
          if (ev.streams && ev.streams[0]) nodes.audio.srcObject = ev.streams[0];
        });
      });
      session.on("accepted", () => setCall(caller || "onbekend", "aangenomen"));
      session.on("confirmed", () => {
        state.answered += 1;
        setCall(caller || "onbekend", "in gesprek");
        refreshButtons();
      });
      const ended = (e) => {
        setCall("", "");
        nodes.callNode.hidden = true;
        state.lastEnd = e && e.cause ? String(e.cause) : "";
        refreshButtons();
      };
      session.on("ended", ended);
      session.on("failed", ended);
      refreshButtons();
      if (nodes.autoAnswer.checked) setTimeout(answer, 300);
    });

    ua.start();
    return {
      stop() {
        try {
          hangup();
          ua.stop();
        } catch (_e) {
          /* stopping a UA that never connected */
        }
        setStatus("off");
      },
    };
  }

  return { start };
})();
