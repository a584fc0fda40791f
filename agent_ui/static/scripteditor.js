/* The call-script editor for supervisors and admins: the TOML of a script, saved as a new
 * version through PUT /api/scripts/{subject}; the server validates and answers problems
 * naming line and key; the change log shows who saved which version when. Calls in
 * progress keep the version they started with. */
"use strict";

(() => {
  const { el, setText, api } = KCC;
  const $ = (id) => document.getElementById(id);
  const state = { saved: null };
  window.kccScripts = state;

  function query() {
    const m = $("ed-municipality").value.trim();
    return m ? `?municipality=${encodeURIComponent(m)}` : "";
  }

  async function list() {
    const data = await api("GET", "/api/scripts");
    $("script-list").replaceChildren(...data.scripts.map((s) => el("li", {},
      el("button", { type: "button", className: "small", "data-subject": s.subject,
        onclick: () => { $("ed-subject").value = s.subject;
          $("ed-municipality").value = s.municipality; load(); } },
      s.subject), ` ${s.title} — versie ${s.current}`,
      s.municipality ? ` (${s.municipality})` : "")));
  }

  async function load() {
    setText("ed-result", "");
    $("ed-problems").replaceChildren();
    try {
      const data = await api("GET", `/api/scripts/${encodeURIComponent($("ed-subject").value.trim())}${query()}`);
      $("ed-toml").value = data.toml;
      changes(data.changes);
    } catch (err) {
      setText("ed-result", err.status === 404 ? "Nog geen script voor dit onderwerp." : err.message);
    }
  }

  function changes(items) {
    $("ed-changes").replaceChildren(...items.map((c) =>
      el("li", {}, `versie ${c.version}: ${c.by}, ${new Date(c.at).toLocaleString("nl-NL")}`)));
  }

  $("ed-load").addEventListener("click", load);
  $("editor-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setText("ed-result", "");
    $("ed-problems").replaceChildren();
    const subject = $("ed-subject").value.trim();
    // Own fetch (not KCC.api): a refusal's problem list is needed, not only its message.
    const response = await fetch(`/api/scripts/${encodeURIComponent(subject)}${query()}`, {
      method: "PUT", cache: "no-store", credentials: "omit",
      headers: { Authorization: `Bearer ${KCC.session().token}`,
        "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ toml: $("ed-toml").value }) });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = data.error || {};
      setText("ed-result", `Niet opgeslagen: ${err.message || response.status}`);
      $("ed-problems").replaceChildren(...(err.problems || []).map((p) => el("li", {}, p)));
      return;
    }
    state.saved = data;
    await load();
    await list();
    setText("ed-result", `Opgeslagen als versie ${data.version}.`);
  });

  document.addEventListener("DOMContentLoaded", async () => {
    const s = KCC.session();
    if (!s || !["supervisor", "admin"].includes(s.role)) {
      $("login-needed").hidden = false;
      return;
    }
    $("editor-view").hidden = false;
    await list();
  });
})();
