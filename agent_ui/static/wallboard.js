/* Supervisor wallboard: the shared live board (GET /api/supervisor/board, then every new
 * board pushed on the WebSocket as {type: "board"} the moment the leader recomputes it),
 * tiles coloured by the KCC's norms, agents with time in state, and steering (pause,
 * log out, skills, calamity message per municipality, moving call-backs) — every
 * steering action is audited by the server. Supervisors and admins only. Text only,
 * never innerHTML. Big-screen mode (button or ?tv=1) hides the steering. */
"use strict";

(() => {
  const { el, setText, api, seconds, stateLabel } = KCC;
  const $ = (id) => document.getElementById(id);
  const board = { hub: null, latest: null, skew: 0, reasons: [], municipalities: [],
    received: 0, lastReceivedAt: null };
  window.kccWallboard = board;
  const NORM_TEXT = { ok: "norm gehaald", warn: "bijna buiten de norm", breach: "buiten de norm" };

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

  function setTv(on) {
    document.body.classList.toggle("tv", on);
    $("btn-tv").setAttribute("aria-pressed", on ? "true" : "false");
    $("btn-tv").textContent = on ? "Normaal scherm" : "Groot scherm";
  }
  $("btn-tv").addEventListener("click", () => setTv(!document.body.classList.contains("tv")));
  if (new URLSearchParams(window.location.search).get("tv") === "1") setTv(true);

  async function start() {
    let first;
    let config;
    try {
      [first, config] = await Promise.all([api("GET", "/api/supervisor/board"),
        api("GET", "/panel/config")]);
    } catch (err) {
      if (err.status === 401 || err.status === 403) KCC.saveSession(null);
      showLogin(err.status === 403 ? "Het wallboard is alleen voor teamleiders en beheerders."
        : err.status === 401 ? "Log opnieuw in." : err.message);
      return;
    }
    board.reasons = config.pause_reasons || [];
    $("login-view").hidden = true;
    $("board").hidden = false;
    $("topbar-status").hidden = false;
    const s = KCC.session();
    setText("who", s ? s.login : "");
    render(first);
    fillQueueSelects(first);
    await refreshCalamity();
    await refreshActions();
    board.hub = KCC.connectHub({
      message: (msg) => {
        if (msg.type === "board") render(msg);
        else if (msg.type === "agent.state" && board.latest) {
          const agent = board.latest.agents.find((a) => a.login === msg.login);
          if (agent) {
            Object.assign(agent, { state: msg.state, reason: msg.reason, since: msg.since });
            renderAgents(board.latest);
          }
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

  const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
  const num = (v) => (v === null || v === undefined ? "–" : String(v));

  function metric(label, value, norm, field) {
    const dd = el("dd", { "data-field": field, "data-norm": norm || undefined }, value);
    if (norm) dd.appendChild(el("span", { className: "norm-text sr-only" }, ` ${NORM_TEXT[norm]}`));
    return [el("dt", {}, label), dd];
  }

  function worst(norms) {
    const order = ["breach", "warn", "ok"];
    for (const level of order) if (Object.values(norms).includes(level)) return level;
    return undefined;
  }

  function tile(t, isTotal) {
    const today = t.today;
    const rolling = t.rolling;
    const n = t.norm || {};
    const title = isTotal ? "Totaal" : t.name;
    const id = `tile-${t.queue}`;
    const slLabel = t.service_level_seconds
      ? `SL vandaag (≤ ${t.service_level_seconds} s, doel ${pct(t.service_level_target)})`
      : `SL vandaag (doel ${pct(t.service_level_target)})`;
    const rows = [
      metric(slLabel, pct(today.service_level), n.service_level, "sl_today"),
      metric(`SL laatste ${Math.round(board.latest.rolling_window_seconds / 60)} min`,
        pct(rolling.service_level), n.service_level_rolling, "sl_rolling"),
      metric("Gem. antwoordtijd (ASA)", seconds(today.asa), undefined, "asa"),
      metric("Gem. afhandeltijd (AHT)", seconds(today.aht), undefined, "aht"),
      metric("Opgehangen", `${pct(today.abandon_rate)} (${today.abandoned})`, n.abandon_rate,
        "abandon"),
      metric("Kort opgehangen (apart)", num(today.short_abandoned), undefined, "short"),
      metric("Aangeboden / beantwoord", `${t.offered_today} / ${today.answered}`, undefined,
        "offered"),
      metric("Doorverbonden / geweigerd", `${today.transfers} / ${today.refused_transfers}`,
        undefined, "transfers"),
      metric("Terugbellen wachtend / nu / te laat",
        `${t.callbacks.waiting} / ${t.callbacks.due} / ${t.callbacks.overdue}`, n.callbacks,
        "callbacks"),
      metric("Registratie compleet", pct(today.registration), n.registration, "registration"),
    ];
    if (isTotal) {
      rows.push(metric("Terugbelnotities te laat", num(t.notes_overdue), n.notes_overdue,
        "notes_overdue"));
    }
    return el("section", { className: "tile", id, "data-queue": t.queue,
      "data-norm": worst({ sl: n.service_level, ab: n.abandon_rate }), "aria-labelledby": `${id}-h` },
    el("h3", { id: `${id}-h` }, title),
    el("div", { className: "big" },
      el("span", {}, el("strong", { "data-field": "waiting" }, t.waiting), " wachtend"),
      el("span", {}, "langste ", el("strong", { "data-field": "longest", className: "longest" },
        t.waiting ? seconds(longest(t)) : "–"))),
    el("dl", {}, rows.flat()));
  }

  function longest(t) {
    if (!t.oldest_queued_at) return 0;
    return Date.now() / 1000 - board.skew - t.oldest_queued_at;
  }

  function render(b) {
    board.latest = b;
    board.received += 1;
    board.lastReceivedAt = Date.now();
    board.skew = Date.now() / 1000 - b.at;
    setText("updated", `bijgewerkt ${new Date(b.at * 1000).toLocaleTimeString("nl-NL")}`);
    setText("board-day", b.day);
    $("tiles").replaceChildren(tile(b.total, true), ...b.queues.map((q) => tile(q, false)));
    const states = b.agent_states || {};
    const items = [["available", states.available], ["ringing", states.ringing],
      ["on_call", states.on_call], ["wrap_up", states.wrap_up],
      ["unavailable", states.unavailable]].map(([key, count]) => el("li",
      { "data-state": key }, el("strong", {}, count || 0), stateLabel(key)));
    for (const [reason, count] of Object.entries(states.paused || {})) {
      items.push(el("li", { "data-state": "paused", "data-reason": reason },
        el("strong", {}, count), `Pauze: ${reason}`));
    }
    $("agent-states").replaceChildren(...items);
    renderAgents(b);
  }

  function inState(a) {
    return a.since ? seconds(Date.now() / 1000 - board.skew - a.since) : "–";
  }

  function renderAgents(b) {
    const rows = b.agents.filter((a) => a.role !== "admin" && a.role !== "privacy_officer")
      .sort((x, y) => String(x.login).localeCompare(y.login)).map((a) => {
        const loggedIn = a.state && a.state !== "logged_out";
        const reason = el("select", { "aria-label": `Pauzereden voor ${a.login}`,
          className: "pause-reason" }, ...board.reasons.map((r) => el("option", { value: r }, r)));
        const steer = el("td", { className: "steer" },
          loggedIn ? reason : null,
          loggedIn ? el("button", { type: "button", className: "btn-pause",
            onclick: () => steerAgent(a.login, "pause", { reason: reason.value }) }, "Pauze") : null,
          loggedIn && (a.state === "paused" || a.state === "wrap_up") ? el("button", {
            type: "button", className: "btn-resume secondary",
            onclick: () => steerAgent(a.login, "resume") }, "Hervat") : null,
          loggedIn ? el("button", { type: "button", className: "btn-logout secondary",
            onclick: () => steerAgent(a.login, "logout") }, "Afmelden") : null,
          el("button", { type: "button", className: "btn-skills secondary",
            onclick: () => editSkills(a) }, "Vaardigheden"));
        return el("tr", { "data-agent": a.login, "data-state": a.state || "" },
          el("th", { scope: "row" }, a.name ? `${a.name} (${a.login})` : a.login),
          el("td", {}, el("span", { className: "badge", "data-state": a.state || "" },
            stateLabel(a.state))),
          el("td", {}, a.reason || ""),
          el("td", { className: "num in-state" }, loggedIn ? inState(a) : "–"),
          el("td", {}, (a.queues || []).join(", ")),
          steer);
      });
    $("agents").tBodies[0].replaceChildren(...rows);
  }

  // Waits and time in state move every second without a new board.
  setInterval(() => {
    const b = board.latest;
    if (!b || $("board").hidden) return;
    for (const t of [b.total, ...b.queues]) {
      const node = document.querySelector(`#tile-${CSS.escape(t.queue)} .longest`);
      if (node) node.textContent = t.waiting ? seconds(longest(t)) : "–";
    }
    for (const a of b.agents) {
      const cell = document.querySelector(`tr[data-agent="${CSS.escape(a.login)}"] .in-state`);
      if (cell && a.state !== "logged_out") cell.textContent = inState(a);
    }
  }, 1000);

  // -- steering ------------------------------------------------------------------------
  function said(message, isError) {
    const node = setText("steer-result", message);
    node.className = `steer ${isError ? "error" : "ok"}`;
  }

  async function steerAgent(login, action, body) {
    try {
      await api("POST", `/api/acd/agents/${encodeURIComponent(login)}/${action}`, body || {});
      said(`${login}: ${action === "pause" ? "gepauzeerd" : action === "resume" ? "hervat" : "afgemeld"}.`);
    } catch (err) {
      said(`${login}: ${err.message}`, true);
    }
    await refreshActions();
  }

  function editSkills(agent) {
    const form = $("skills-form");
    form.hidden = false;
    form.dataset.login = agent.login;
    setText("skills-login", agent.login);
    const fields = board.latest.queues.map((q) => el("label", { className: "inline" }, q.name,
      el("input", { type: "number", min: "1", max: "10", name: q.queue,
        value: agent.skills && agent.skills[q.queue] ? agent.skills[q.queue] : "" })));
    $("skills-fields").replaceChildren(...fields);
  }
  $("skills-cancel").addEventListener("click", () => { $("skills-form").hidden = true; });
  $("skills-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const login = $("skills-form").dataset.login;
    const skills = {};
    for (const input of $("skills-fields").querySelectorAll("input")) {
      if (input.value !== "") skills[input.name] = Number(input.value);
    }
    try {
      await api("PUT", `/api/acd/agents/${encodeURIComponent(login)}/skills`, { skills });
      said(`${login}: vaardigheden opgeslagen.`);
      $("skills-form").hidden = true;
    } catch (err) {
      said(`${login}: ${err.message}`, true);
    }
    await refreshActions();
  });

  function calamityPath() {
    const m = $("calamity-municipality").value;
    return m ? `/api/ivr/calamity/${encodeURIComponent(m)}` : "/api/ivr/calamity";
  }

  async function refreshCalamity() {
    const now = await api("GET", "/api/ivr/calamity");
    const municipalities = Object.keys(now.municipalities || {});
    if (!board.municipalities.length) {
      board.municipalities = municipalities;
      $("calamity-municipality").replaceChildren(el("option", { value: "" }, "alle gemeenten"),
        ...municipalities.map((m) => el("option", { value: m }, m)));
    }
    const items = [];
    if (now.active && now.message) items.push(el("li", { "data-municipality": "" },
      el("strong", {}, "Alle gemeenten: "), now.message.text_nl));
    for (const [m, message] of Object.entries(now.municipalities || {})) {
      if (message) items.push(el("li", { "data-municipality": m }, el("strong", {}, `${m}: `),
        message.text_nl));
    }
    $("calamity-now").replaceChildren(...(items.length ? items : [el("li", {}, "Geen bericht.")]));
  }

  $("calamity-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("PUT", calamityPath(), { text_nl: $("calamity-nl").value,
        text_en: $("calamity-en").value });
      said("Calamiteitenbericht staat aan.");
    } catch (err) {
      said(`Calamiteitenbericht: ${err.message}`, true);
    }
    await refreshCalamity();
    await refreshActions();
  });
  $("calamity-off").addEventListener("click", async () => {
    try {
      await api("DELETE", calamityPath());
      said("Calamiteitenbericht staat uit.");
    } catch (err) {
      said(`Calamiteitenbericht: ${err.message}`, true);
    }
    await refreshCalamity();
    await refreshActions();
  });

  function fillQueueSelects(b) {
    const options = () => b.queues.map((q) => el("option", { value: q.queue }, q.name));
    $("move-from").replaceChildren(...options());
    $("move-to").replaceChildren(...options());
  }
  $("move-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await api("POST", "/api/supervisor/callbacks/move",
        { from_queue: $("move-from").value, to_queue: $("move-to").value });
      said(`${result.moved.length} terugbelverzoek(en) verplaatst naar ${result.to_queue}.`);
    } catch (err) {
      said(`Verplaatsen: ${err.message}`, true);
    }
    await refreshActions();
  });

  async function refreshActions() {
    try {
      const { actions } = await api("GET", "/api/supervisor/actions?limit=8");
      $("actions").replaceChildren(...actions.map((a) => el("li", { "data-action": a.action },
        `${new Date(a.at).toLocaleTimeString("nl-NL")} ${a.actor}: ${a.action}`,
        a.target ? ` ${a.target}` : "", a.result !== "ok" ? ` (${a.result})` : "")));
    } catch (_e) {
      /* the list is a convenience; the board goes on */
    }
  }

  if (KCC.session()) start();
  else showLogin("");
})();
