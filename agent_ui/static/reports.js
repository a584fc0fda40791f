/* Supervisor reports: GET /api/reports/contacts (the wallboard's definitions) per day,
 * week, month or hour of the day and per queue, subject, channel or outcome; a Chart.js
 * chart (pinned in package-lock.json, served by the service) and the table; CSV for
 * Dutch Excel through the same API (fetched with the token, never a token in a URL). */
"use strict";

(() => {
  const { el, setText, api } = KCC;
  const $ = (id) => document.getElementById(id);
  const state = { chart: null, rows: [] };
  window.kccReports = state;
  const COLUMNS = [
    ["offered", "Aangeboden"], ["answered", "Beantwoord"], ["abandoned", "Opgehangen"],
    ["short_abandoned", "Kort opgehangen"], ["callbacks_reached", "Teruggebeld"],
    ["self_service", "IVR zelf geregeld"], ["service_level", "SL"], ["asa", "ASA (s)"],
    ["aht", "AHT (s)"], ["abandon_rate", "Opgehangen %"], ["transfers_per_call", "Doorverbonden/gesprek"],
    ["refused_transfers", "Geweigerde doorverbindingen"], ["registration", "Registratie"],
    ["fcr_outcome", "FCR (uitkomst)"], ["fcr_repeat", "FCR (geen herhaalcontact)"],
    ["callbacks_on_time", "Terugbellen op tijd"]];
  const RATIOS = new Set(["service_level", "abandon_rate", "registration", "fcr_outcome",
    "fcr_repeat", "callbacks_on_time"]);
  const GROUP_LABEL = { queue: "Wachtrij", subject: "Onderwerp", channel: "Kanaal",
    outcome: "Uitkomst" };
  const CHANNELS = { direct: "direct", callback: "terugbellen", ivr: "IVR zelfservice" };

  function cell(key, value) {
    if (value === null || value === undefined) return "–";
    if (RATIOS.has(key)) return `${Math.round(value * 1000) / 10}%`;
    return String(value).replace(".", ",");
  }

  function label(row, by, group) {
    const parts = [];
    if (by !== "total") parts.push(by === "hour" ? `${String(row.hour).padStart(2, "0")}:00` : row[by]);
    if (group !== "total") {
      const v = row[group];
      parts.push(group === "channel" ? (CHANNELS[v] || v) : (v === "" ? "(geen)" : v));
    }
    return parts.join(" · ") || "totaal";
  }

  function query() {
    const q = new URLSearchParams({ from: $("r-from").value, to: $("r-to").value,
      by: $("r-by").value, group: $("r-group").value });
    return q.toString();
  }

  async function show(event) {
    if (event) event.preventDefault();
    setText("r-error", "");
    let body;
    try {
      body = await api("GET", `/api/reports/contacts?${query()}`);
    } catch (err) {
      setText("r-error", err.message);
      return;
    }
    const by = $("r-by").value;
    const group = $("r-group").value;
    state.rows = body.rows;
    const head = el("tr", {}, el("th", { scope: "col" }, by === "total" ? "" : "Periode",
      group !== "total" ? ` · ${GROUP_LABEL[group]}` : ""),
    ...COLUMNS.map(([, name]) => el("th", { scope: "col", className: "num" }, name)));
    $("r-table").tHead.replaceChildren(head);
    $("r-table").tBodies[0].replaceChildren(...body.rows.map((r) => el("tr", {},
      el("th", { scope: "row" }, label(r, by, group)),
      ...COLUMNS.map(([key]) => el("td", { className: "num", "data-field": key }, cell(key, r[key]))))));
    draw(body.rows.map((r) => label(r, by, group)), body.rows);
  }

  function draw(labels, rows) {
    const data = {
      labels,
      datasets: [
        { type: "bar", label: "Aangeboden", data: rows.map((r) => r.offered), backgroundColor: "#9db7d9", yAxisID: "y" },
        { type: "bar", label: "Beantwoord", data: rows.map((r) => r.answered), backgroundColor: "#154273", yAxisID: "y" },
        { type: "bar", label: "Opgehangen", data: rows.map((r) => r.abandoned), backgroundColor: "#a4000f", yAxisID: "y" },
        { type: "line", label: "Servicelevel %", data: rows.map((r) => (r.service_level === null ? null : r.service_level * 100)),
          borderColor: "#0a6b22", backgroundColor: "#0a6b22", yAxisID: "pct" },
      ],
    };
    const options = { responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, title: { display: true, text: "gesprekken" } },
        pct: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
          title: { display: true, text: "SL %" } } } };
    if (state.chart) state.chart.destroy();
    state.chart = new Chart($("r-chart"), { data, options });
  }

  $("report-form").addEventListener("submit", show);
  $("r-csv").addEventListener("click", async () => {
    const s = KCC.session();
    const response = await fetch(`/api/reports/contacts?${query()}&format=csv`,
      { headers: { Authorization: `Bearer ${s ? s.token : ""}` }, cache: "no-store" });
    if (!response.ok) { setText("r-error", `CSV: HTTP ${response.status}`); return; }
    const url = URL.createObjectURL(await response.blob());
    const a = el("a", { href: url, download: `kcc-contacten-${$("r-from").value}.csv` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  });

  const s = KCC.session();
  if (!s || (s.role !== "supervisor" && s.role !== "admin")) {
    $("login-needed").hidden = false;
  } else {
    $("report-view").hidden = false;
    const today = new Date();
    // The KCC's own calendar day (the reports' days are Dutch days), not the UTC date:
    // just after midnight the UTC date is still yesterday and today's calls fell outside.
    const iso = (d) => new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Amsterdam" })
      .format(d);
    $("r-to").value = iso(today);
    $("r-from").value = iso(new Date(today.getTime() - 6 * 86400000));
    show();
  }
})();
