/* The call script beside the pop (issue 11): the current step, what is still required,
 * what the rules allow now (buttons disabled with the server's reason), the outcome.
 * The server decides every rule; this part only shows its answers. Keyboard: Alt+N goes
 * to the next open step, Alt+U to the outcome. A part of the panel (panel.js). */
"use strict";

(() => {
  const { el, setText, safeLink, api } = KCC;
  const { ui, $, on, onStop } = KCCPanel;
  const FACT_LABELS = {
    geboortedatum: "Geboortedatum", postcode_huisnummer: "Postcode en huisnummer",
    ivr_pin: "Pincode uit het keuzemenu", zaaknummer: "Zaaknummer", naam: "Naam",
    adres: "Adres",
  };
  ui.script = null; // {linkedid, view}
  ui.scriptAcks = []; // ms from an agent's step to the server's answer (measured here)

  function clear() {
    ui.script = null;
    $("script-card").replaceChildren();
    $("script-card").hidden = true;
    $("script-empty").hidden = false;
  }

  async function send(path, body) {
    const s = ui.script;
    if (!s) return;
    setText("script-error", "");
    const t0 = performance.now();
    try {
      const view = await api("POST", `/api/calls/${encodeURIComponent(s.linkedid)}/script/${path}`, body);
      ui.scriptAcks.push(performance.now() - t0);
      if (ui.script && ui.script.linkedid === s.linkedid) {
        ui.script.view = view;
        render();
      }
    } catch (err) {
      setText("script-error", err.status === 409 || err.status === 422 ? err.message
        : `Mislukt: ${err.message}`);
    }
  }

  function inputFor(step) {
    const id = `script-input-${step.id}`;
    if (step.answer === "choice" || step.answer === "yesno") {
      const choices = step.answer === "yesno" ? ["ja", "nee"] : step.choices;
      return el("select", { id, "data-step-input": step.id, "aria-label": step.text || step.id },
        el("option", { value: "" }, "(kies)"),
        ...choices.map((c) => el("option", { value: c, selected: c === step.value }, c)));
    }
    return el("input", { id, "data-step-input": step.id, value: step.value || "",
      "aria-label": step.text || step.id,
      type: step.answer === "date" ? "date" : "text", maxlength: 2000,
      placeholder: step.answer === "postcode_huisnummer" ? "2801 AB 12" : "" });
  }

  function stepNode(step, current, view) {
    const done = (step.kind === "ask" && step.value !== null && step.value !== undefined)
      || (step.kind === "verify" && step.result);
    const li = el("li", { className: `step ${step.kind}${step.id === current ? " current" : ""}`
      + (done ? " done" : ""), "data-step": step.id });
    if (step.text) li.appendChild(el("p", {}, step.text));
    if (step.kind === "ask") {
      const input = inputFor(step);
      li.appendChild(el("div", { className: "buttons" }, input,
        el("button", { type: "button", className: "small", "data-answer": step.id,
          disabled: !!view.outcome, onclick: () => send("answer", {
            step: step.id, value: input.value }) }, "Opslaan")));
    } else if (step.kind === "verify") {
      const boxes = step.facts.map((f) => el("label", { className: "inline" },
        el("input", { type: "checkbox", "data-fact": f, checked: step.result === "passed" }),
        ` ${FACT_LABELS[f] || f} klopt`));
      const selected = ui.pop && ui.pop.pop ? ui.pop.pop.selected : null;
      const reason = step.result === "passed" ? "Identiteit geverifieerd."
        : (selected ? "" : "Kies eerst in het klantbeeld wie er belt.");
      li.appendChild(el("div", { className: "buttons" }, ...boxes,
        el("button", { type: "button", id: "btn-script-verify",
          disabled: step.result === "passed" || !!view.outcome || !selected,
          title: reason || null,
          onclick: () => {
            const facts = {};
            for (const box of li.querySelectorAll("input[data-fact]")) {
              facts[box.dataset.fact] = box.checked;
            }
            const body = { facts };
            if (ui.pop && ui.pop.linkedid === ui.script.linkedid && ui.pop.pop.selected) {
              body.klant_ref = ui.pop.pop.selected;
            }
            send("verify", body);
          } }, "Identiteit gecontroleerd")));
      li.appendChild(el("p", { className: step.result === "failed" ? "error" : "muted",
        id: "script-verify-result" }, step.result === "passed" ? "Geslaagd"
        : step.result === "failed" ? "Niet geslaagd: geen gegevens tonen." : reason));
    } else if (step.kind === "knowledge" && step.url) {
      const link = safeLink(step.url, "Kennisbank openen");
      if (link) li.appendChild(el("p", {}, link));
    }
    return li;
  }

  function outcomeNode(view) {
    const select = el("select", { id: "script-outcome", "aria-label": "Uitkomst" },
      ...view.outcomes.map((o) => el("option", { value: o.code, "data-follow-up": o.follow_up },
        o.label)));
    const detail = el("span", { id: "script-afspraak", hidden: true },
      el("label", { className: "inline" }, "Datum ", el("input", { id: "script-datum", type: "date" })),
      el("label", { className: "inline" }, "Tijd ", el("input", { id: "script-tijd", maxlength: 5, placeholder: "10:30" })),
      el("label", { className: "inline" }, "Plaats ", el("input", { id: "script-plaats", maxlength: 200 })));
    select.addEventListener("change", () => {
      detail.hidden = select.selectedOptions[0].dataset.followUp !== "afspraak";
    });
    const notes = el("textarea", { id: "script-notes", rows: 2, maxlength: 10000,
      "aria-label": "Notities bij de uitkomst" });
    const gate = view.allowed.outcome;
    const button = el("button", { type: "button", id: "btn-outcome", disabled: !gate.allowed,
      title: gate.allowed ? null : gate.reason, onclick: () => {
        const body = { outcome: select.value, notes: notes.value };
        if (!detail.hidden) {
          body.detail = { datum: $("script-datum").value, tijd: $("script-tijd").value.trim(),
            plaats: $("script-plaats").value.trim() };
        }
        const pop = ui.pop && ui.pop.linkedid === ui.script.linkedid ? ui.pop.pop : null;
        if (pop && pop.verified && pop.selected) body.klant_ref = pop.selected;
        send("outcome", body);
      } }, "Uitkomst registreren");
    return el("div", { id: "script-outcome-box" },
      el("label", {}, "Uitkomst ", select), detail,
      el("label", {}, "Notitie ", notes), button,
      el("p", { className: "muted", id: "script-outcome-reason" }, gate.allowed ? "" : gate.reason));
  }

  function render() {
    const s = ui.script;
    if (!s) return;
    const view = s.view;
    const current = view.missing[0] || "";
    const nodes = [el("h3", {}, `${view.title} `,
      el("span", { className: "muted" }, `(versie ${view.version})`))];
    nodes.push(el("ol", { id: "script-steps", className: "list" },
      view.steps.filter((st) => st.kind !== "branch" && st.kind !== "outcome")
        .map((st) => stepNode(st, current, view))));
    nodes.push(el("p", { id: "script-missing", className: view.missing.length ? "warning" : "ok" },
      view.missing.length ? `Nog nodig: ${view.missing.join(", ")}` : "Alle stappen gedaan."));
    const rules = [["transfer", "Doorverbinden"], ["view_details", "Gegevens bekijken"],
      ["end_nawerk", "Nawerk beëindigen"]];
    nodes.push(el("ul", { id: "script-rules", className: "list" }, rules.map(([key, label]) => {
      const gate = view.allowed[key];
      return el("li", { "data-rule": key, "data-allowed": gate.allowed ? "yes" : "no" },
        `${label}: `, gate.allowed ? "mag" : gate.reason);
    })));
    const cm = view.contactmoment;
    if (view.outcome) {
      nodes.push(el("p", { className: "ok", id: "script-registered" },
        `Uitkomst geregistreerd: ${view.outcome}`,
        cm.outcome_detail && cm.outcome_detail.promise ? ` — ${cm.outcome_detail.promise}` : ""));
    } else nodes.push(outcomeNode(view));
    nodes.push(el("p", { className: "error", id: "script-error", role: "alert" }));
    const card = $("script-card");
    card.replaceChildren(...nodes);
    card.dataset.linkedid = s.linkedid;
    card.dataset.status = cm.status;
    card.hidden = false;
    $("script-empty").hidden = true;
    gateEndNawerk();
  }

  // "Nawerk beëindigen" (panel.js) is off, with the rules' reason, while the call the
  // nawerk is for has no outcome; the server refuses it anyway (409 outcome_required).
  function gateEndNawerk() {
    const button = $("btn-end-wrapup");
    const s = ui.script;
    if (!s || ui.state.state !== "wrap_up" || !s.view.ended) {
      button.title = "";
      return;
    }
    const gate = s.view.allowed.end_nawerk;
    button.disabled = !gate.allowed;
    button.title = gate.allowed ? "" : gate.reason;
  }

  function focusNext() {
    const steps = [...document.querySelectorAll("#script-steps li.step")];
    if (!steps.length) return;
    const active = document.activeElement && document.activeElement.closest("li.step");
    let index = active ? steps.indexOf(active) + 1 : steps.findIndex((li) => li.classList.contains("current"));
    if (index < 0 || index >= steps.length) index = 0;
    const target = steps[index].querySelector("input, select, button") || steps[index];
    steps.forEach((li) => li.classList.toggle("focus", li === steps[index]));
    if (target.focus) target.focus();
  }

  // Alt+N and Alt+U are the panel's shortcuts (shortcuts.js, listed in its help overlay).
  window.kccScript = {
    next() { if (ui.script) focusNext(); },
    outcome() {
      const select = $("script-outcome");
      if (ui.script && select) select.focus();
    },
  };

  on("call.script", (msg) => {
    if (!msg.script) return;
    if (!ui.script || ui.script.linkedid !== msg.linkedid || !ui.script.view.outcome) {
      ui.script = { linkedid: msg.linkedid, view: msg.script };
      render();
    }
  });
  on("call.pop", () => render()); // the chosen klant enables verification
  on("agent.state", () => gateEndNawerk()); // after panel.js applied the new state
  onStop(() => clear());
})();
