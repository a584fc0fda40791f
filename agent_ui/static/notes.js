/* Terugbelnotities in the panel: the agent's own and their teams' lists, overdue and due
 * first, pick one up, call the citizen from it (click-to-dial through the service), close
 * it with the result. What an agent may see and handle is decided by the service (the
 * notitie's team = a queue among the agent's skills, its assignee, its writer,
 * supervisors); this part only shows what the API returns, as text.
 * A part of the panel (panel.js): onStart / onStop. */
"use strict";

(() => {
  const { el, api, dateTime } = KCC;
  const { ui, onStart, onStop } = KCCPanel;
  const REFRESH_MS = 60_000;
  let timer = null;

  function section() {
    let node = document.getElementById("notes");
    if (node) return node;
    node = el("section", { className: "card", id: "notes", "aria-labelledby": "notes-title" },
      el("h2", { id: "notes-title" }, "Terugbelnotities"),
      el("div", { className: "buttons" },
        el("button", { type: "button", className: "secondary", id: "notes-refresh",
          onclick: () => load() }, "Vernieuwen")),
      el("p", { className: "error", id: "notes-error", role: "alert" }),
      el("h3", {}, "Voor mij"),
      el("ul", { className: "list", id: "notes-mine" }),
      el("h3", {}, "Voor mijn team"),
      el("ul", { className: "list", id: "notes-team" }));
    const contact = document.getElementById("contact");
    contact.parentNode.insertBefore(node, contact.nextSibling);
    return node;
  }

  function urgency(note) {
    if (note.overdue) return { key: "overdue", text: "Te laat" };
    const left = new Date(note.deadline).getTime() - Date.now();
    if (left < 24 * 3600 * 1000) return { key: "due", text: "Vandaag" };
    return { key: "later", text: "" };
  }

  function item(note) {
    const when = urgency(note);
    const mine = note.toegewezen_aan === (ui.config || {}).login;
    const closeBox = el("form", { className: "note-close", hidden: true },
      el("label", {}, "Resultaat",
        el("textarea", { rows: "2", maxlength: "2000", required: true,
          className: "note-result" })),
      el("button", { type: "submit", className: "note-close-submit" }, "Afronden"));
    closeBox.addEventListener("submit", (event) => {
      event.preventDefault();
      close(note, closeBox.querySelector("textarea").value.trim());
    });
    return el("li", { className: `note ${when.key}`, "data-note-id": String(note.id),
      "data-urgency": when.key },
      el("strong", {}, note.onderwerp),
      when.text ? el("span", { className: `badge ${when.key}` }, when.text) : null,
      el("div", {}, note.vraag),
      el("div", { className: "muted" },
        `${note.telefoonnummer} · uiterlijk ${dateTime(note.deadline)}`,
        note.team ? ` · team ${note.team}` : "",
        note.toegewezen_aan ? ` · ${mine ? "door u opgepakt" : `bij ${note.toegewezen_aan}`}`
          : ""),
      el("div", { className: "buttons" },
        mine ? null : el("button", { type: "button", className: "note-pickup",
          onclick: () => pickup(note) }, "Oppakken"),
        el("button", { type: "button", className: "secondary note-call",
          "aria-label": `Bel ${note.telefoonnummer}`,
          onclick: () => window.kccPhone && window.kccPhone.dial(note.telefoonnummer) },
        "Bellen"),
        el("button", { type: "button", className: "secondary note-finish",
          onclick: () => { closeBox.hidden = false; closeBox.querySelector("textarea").focus(); } },
        "Afronden…")),
      closeBox);
  }

  function render(listId, notes) {
    const list = document.getElementById(listId);
    list.replaceChildren(...(notes.length ? notes.map(item)
      : [el("li", { className: "muted" }, "Geen open notities.")]));
  }

  function byDeadline(a, b) {
    return new Date(a.deadline) - new Date(b.deadline) || a.id - b.id;
  }

  async function load() {
    if (!ui.config) return;
    const login = ui.config.login;
    const error = document.getElementById("notes-error");
    error.textContent = "";
    try {
      const teams = Object.keys((ui.me && ui.me.skills) || {});
      const [mine, ...perTeam] = await Promise.all([
        api("GET", `/api/callbacks/notes?person=${encodeURIComponent(login)}`),
        ...teams.map((t) => api("GET", `/api/callbacks/notes?team=${encodeURIComponent(t)}`)),
      ]);
      const own = mine.notes.slice().sort(byDeadline);
      const ownIds = new Set(own.map((n) => n.id));
      const seen = new Set();
      const team = perTeam.flatMap((r) => r.notes)
        .filter((n) => !ownIds.has(n.id) && !seen.has(n.id) && seen.add(n.id))
        .sort(byDeadline);
      render("notes-mine", own);
      render("notes-team", team);
      document.getElementById("notes").dataset.loadedAt = String(Date.now());
    } catch (err) {
      error.textContent = `Notities niet geladen: ${err.message}`;
    }
  }

  async function pickup(note) {
    try {
      await api("POST", `/api/callbacks/notes/${note.id}/pickup`, {});
    } catch (err) {
      document.getElementById("notes-error").textContent =
        err.status === 409 ? `Niet opgepakt: ${err.message}` : err.message;
    }
    await load();
  }

  async function close(note, result) {
    if (!result) return;
    try {
      await api("POST", `/api/callbacks/notes/${note.id}/close`, { result });
    } catch (err) {
      document.getElementById("notes-error").textContent = `Niet afgerond: ${err.message}`;
    }
    await load();
  }

  onStart(() => {
    section();
    load();
    clearInterval(timer);
    timer = setInterval(load, REFRESH_MS);
  });
  onStop(() => {
    clearInterval(timer);
    const node = document.getElementById("notes");
    if (node) node.remove();
  });
  window.kccNotes = { load };
})();
