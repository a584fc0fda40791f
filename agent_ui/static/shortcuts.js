/* Keyboard first: the agent's actions on Alt + a letter, a help overlay (? or Alt+/)
 * listing them, and visible focus (kcc.css). Every shortcut presses the same button the
 * mouse would (a disabled button does nothing), so a shortcut can do no more than the
 * page allows at that moment. Alt + letter leaves the letters free for typing in the
 * pop and the contact form; "?" opens the help only outside text fields.
 * A part of the panel (panel.js): onStart / onStop. */
"use strict";

(() => {
  const { el } = KCC;
  const { onStart, onStop } = KCCPanel;

  // key (with Alt) -> [what it does (Dutch), how]
  const SHORTCUTS = [
    ["a", "Opnemen", () => press("sp-answer")],
    ["h", "Ophangen", () => press("sp-hangup")],
    ["w", "Wachtstand aan/uit", () => press("sp-hold")],
    ["m", "Microfoon uit/aan", () => press("sp-mute")],
    ["t", "Doorverbinden (naar het doorverbindveld)", () => focusTransfer()],
    ["p", "Pauze (met de gekozen reden)", () => press("btn-pause")],
    ["b", "Beschikbaar", () => press("btn-available")],
    ["e", "Nawerk beëindigen", () => press("btn-end-wrapup")],
    ["n", "Volgende stap in het gespreksscript", () => nextScriptStep()],
    ["u", "Uitkomst van het gesprek kiezen", () => window.kccScript && window.kccScript.outcome()],
    ["k", "Toetsenblok openen", () => openKeypad()],
    ["d", "Nummer bellen (naar het belveld)", () => focus("sp-dial-number")],
    ["/", "Deze hulp tonen", () => openHelp()],
  ];

  function press(id) {
    const button = document.getElementById(id);
    if (button && !button.disabled && !button.hidden) {
      button.click();
      return true;
    }
    return false;
  }

  function focus(id) {
    const node = document.getElementById(id);
    if (node) node.focus();
  }

  function focusTransfer() {
    const target = document.getElementById("transfer-to");
    if (target) target.focus();
  }

  function nextScriptStep() {
    if (window.kccScript) window.kccScript.next();  // the call script (script.js)
  }

  function openKeypad() {
    const box = document.getElementById("sp-keypad-box");
    if (!box) return;
    box.open = true;
    const first = box.querySelector("button.key");
    if (first) first.focus();
  }

  function dialog() {
    let node = document.getElementById("shortcuts-help");
    if (node) return node;
    const rows = SHORTCUTS.map(([key, label]) => el("tr", {},
      el("td", {}, el("kbd", {}, "Alt"), " + ", el("kbd", {}, key.toUpperCase())),
      el("td", {}, label)));
    node = el("dialog", { id: "shortcuts-help", "aria-labelledby": "shortcuts-title" },
      el("h2", { id: "shortcuts-title" }, "Sneltoetsen"),
      el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Toets"),
          el("th", { scope: "col" }, "Actie"))),
        el("tbody", {}, rows,
          el("tr", {}, el("td", {}, el("kbd", {}, "?")), el("td", {}, "Deze hulp (buiten een invoerveld)")),
          el("tr", {}, el("td", {}, el("kbd", {}, "Esc")), el("td", {}, "Hulp sluiten")))),
      el("p", { className: "hint" },
        "Tab en Shift+Tab gaan langs alle knoppen; Enter of spatie drukt de knop in."),
      el("button", { type: "button", id: "shortcuts-close", onclick: () => node.close() },
        "Sluiten"));
    document.body.appendChild(node);
    return node;
  }

  function openHelp() {
    const node = dialog();
    if (!node.open) node.showModal();
    document.getElementById("shortcuts-close").focus();
  }

  function typing(target) {
    return target && (target.isContentEditable
      || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function onKey(event) {
    if (document.getElementById("panel-view").hidden) return;
    if (event.key === "?" && !event.altKey && !event.ctrlKey && !typing(event.target)) {
      event.preventDefault();
      openHelp();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : "";
    // event.code as well: Alt+letter types a special character on some layouts.
    const byCode = /^Key[A-Z]$/.test(event.code) ? event.code.slice(3).toLowerCase()
      : event.code === "Slash" ? "/" : "";
    const found = SHORTCUTS.find(([k]) => k === key) || SHORTCUTS.find(([k]) => k === byCode);
    if (!found) return;
    event.preventDefault();
    found[2]();
  }

  function helpButton() {
    if (document.getElementById("shortcuts-open")) return;
    const bar = document.getElementById("topbar-status");
    bar.appendChild(el("button", { type: "button", id: "shortcuts-open", className: "small",
      "aria-keyshortcuts": "Alt+/ Shift+?", onclick: openHelp }, "Sneltoetsen (?)"));
  }

  document.addEventListener("keydown", onKey);
  onStart(helpButton);
  onStop(() => {
    const node = document.getElementById("shortcuts-help");
    if (node && node.open) node.close();
  });
  window.kccShortcuts = { SHORTCUTS: SHORTCUTS.map(([k, label]) => [k, label]), openHelp };
})();
