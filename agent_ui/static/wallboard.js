/* Supervisor wallboard: queue stats pushed every 2 s (queue.stats) and agent states
 * (agent.state) over the WebSocket; the first picture from GET /api/queues and
 * GET /api/acd/agents. Supervisors and admins only. Text only, never innerHTML. */
"use strict";

(() => {
  const { el, setText, api, seconds, dateTime, stateLabel } = KCC;
  const $ = (id) => document.getElementById(id);
  const board = { hub: null, agents: new Map(), queues: [], updated: null };
  window.kccWallboard = board;

  function showLogin(message) {
    $("board").hidden = true;
    $("topbar-status").hidden = true;
    $("login-view").hidden = false;
    setText("login-error", message || "");
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-submit").disabled = true;
    try {
      const who = await KCC.login($("login-user").value.trim(), $("login-pass").value);
      $("login-pass").value = "";
      if (who.role !== "supervisor" && who.role !== "admin") {
        await KCC.logout();
        showLogin("Het wallboard is alleen voor teamleiders en beheerders.");
        return;
      }
      await start();
    } catch (err) {
      showLogin(err.status === 401 ? "Onbekende gebruiker of verkeerd wachtwoord."
        : `Inloggen mislukt: ${err.message}`);
    } finally {
      $("login-submit").disabled = false;
    }
  });

  $("btn-signout").addEventListener("click", async () => {
    if (board.hub) board.hub.close();
    await KCC.logout();
    showLogin("U bent uitgelogd.");
  });

  async function start() {
    let queues;
    let agents;
    try {
      [queues, agents] = await Promise.all([api("GET", "/api/queues"),
        api("GET", "/api/acd/agents")]);
    } catch (err) {
      if (err.status === 401 || err.status === 403) KCC.saveSession(null);
      showLogin(err.status === 403 ? "Het wallboard is alleen voor teamleiders en beheerders."
        : err.status === 401 ? "Log opnieuw in." : err.message);
      return;
    }
    $("login-view").hidden = true;
    $("board").hidden = false;
    $("topbar-status").hidden = false;
    const s = KCC.session();
    setText("who", s ? s.login : "");
    for (const a of agents.agents) board.agents.set(a.login, a);
    renderQueues(queues.queues);
    renderAgents();
    board.hub = KCC.connectHub({
      message: (msg) => {
        if (msg.type === "queue.stats") renderQueues(msg.queues);
        else if (msg.type === "agent.state") {
          board.agents.set(msg.login, { ...(board.agents.get(msg.login) || {}), ...msg });
          renderAgents();
        }
      },
      status: (state) => {
        const badge = $("hub-status");
        badge.dataset.state = state;
        badge.textContent = state === "open" ? "Verbinding: live" : "Verbinding: opnieuw verbinden…";
      },
      unauthorised: () => { KCC.saveSession(null); showLogin("Log opnieuw in."); },
    });
  }

  function pct(value) {
    return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
  }

  function renderQueues(queues) {
    board.queues = queues;
    board.updated = Date.now();
    setText("updated", `bijgewerkt ${new Date().toLocaleTimeString("nl-NL")}`);
    const rows = queues.map((q) => {
      const slText = q.service_level === null || q.service_level === undefined ? "–"
        : `${pct(q.service_level)} (doel ${pct(q.service_level_target)} binnen ${q.service_level_seconds} s)`;
      return el("tr", { "data-queue": q.queue, className: q.service_level_met === false ? "alert" : "" },
        el("td", {}, q.queue),
        el("td", { className: "num waiting" }, q.waiting),
        el("td", { className: "num longest" }, q.waiting ? seconds(q.longest_wait) : "–"),
        el("td", { className: "num sl" }, slText),
        el("td", { className: "num asa" }, seconds(q.asa)),
        el("td", { className: "num ewt" }, seconds(q.ewt)),
        el("td", { className: "num" }, q.answered),
        el("td", { className: "num" }, q.abandoned),
        el("td", { className: "num" }, q.callbacks_waiting || 0));
    });
    $("queues").tBodies[0].replaceChildren(...rows);
  }

  function renderAgents() {
    const list = [...board.agents.values()].filter((a) => a.role !== "admin"
      && a.role !== "privacy_officer").sort((a, b) => String(a.login).localeCompare(b.login));
    const rows = list.map((a) => el("tr", { "data-agent": a.login, "data-state": a.state || "" },
      el("td", {}, a.name ? `${a.name} (${a.login})` : a.login),
      el("td", {}, el("span", { className: "badge", "data-state": a.state || "" }, stateLabel(a.state))),
      el("td", {}, a.reason || ""),
      el("td", {}, a.since ? dateTime(a.since) : ""),
      el("td", {}, Object.keys(a.queues || {}).join(", "))));
    $("agents").tBodies[0].replaceChildren(...rows);
  }

  if (KCC.session()) start();
  else showLogin("");
})();
