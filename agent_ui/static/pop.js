/* The screen-pop: what the offered agent sees before answering (greeting-level until the
 * caller's identity is verified: AVG), choose/verify, transfer, and the klant search.
 * A part of the panel (panel.js): registers for call.offered and call.pop. */
"use strict";

(() => {
  const { el, setText, safeLink, api, seconds, dateTime, date } = KCC;
  const { ui, $, on, onStop } = KCCPanel;

  // ------------------------------------------------------------------ the screen-pop
  function showOffer(msg) {
    ui.pop = {
      linkedid: msg.linkedid, queue: msg.queue, call: msg.call || {},
      pop: msg.pop || { incomplete: true }, receivedAt: Date.now() / 1000,
    };
    renderPop();
  }

  function clearPop() {
    ui.pop = null;
    $("pop-card").replaceChildren();
    $("pop-card").hidden = true;
    $("pop-empty").hidden = false;
  }

  function row(label, value, id) {
    if (value === undefined || value === null || value === "") return null;
    return [el("dt", {}, label), el("dd", id ? { id } : {}, value)];
  }

  function renderPop() {
    const offer = ui.pop;
    if (!offer) return;
    const pop = offer.pop || {};
    const call = offer.call || {};
    const pc = pop.call || {};
    const card = $("pop-card");
    const nodes = [];
    nodes.push(el("h3", {}, "Inkomend gesprek"));
    if (pop.incomplete) {
      const missing = (pop.missing || []).join(", ");
      nodes.push(el("p", { className: "warning", id: "pop-incomplete" },
        "Onvolledig klantbeeld: niet alle gegevens waren op tijd beschikbaar",
        missing ? ` (${missing})` : "", ". Zoek zo nodig hieronder."));
    }
    const number = pc.caller_e164 || call.caller_number || "";
    const anonymous = pc.anonymous || !number || number === "anonymous";
    const wait = pc.wait_seconds !== undefined && pc.wait_seconds !== null ? pc.wait_seconds
      : (call.queued_at ? offer.receivedAt - call.queued_at : null);
    nodes.push(el("dl", { className: "facts" },
      row("Beller", call.caller_name || pc.caller_name || "", "pop-caller-name"),
      row("Nummer", anonymous ? "Anoniem" : number, "pop-caller-number"),
      row("Wachtrij", offer.queue || call.queue || "", "pop-queue"),
      row("Gemeente", call.municipality || pc.municipality || "", "pop-municipality"),
      row("Taal", languageLabel(call.language || pc.language), "pop-language"),
      row("Onderwerp (keuzemenu)", call.subject || pc.subject || "", "pop-subject"),
      row("Zaaknummer (keuzemenu)", pc.zaaknummer || call.zaaknummer || "", "pop-zaaknummer"),
      row("Wachttijd", wait === null ? "" : seconds(wait), "pop-wait")));
    const transcript = pc.transcript || call.transcript || "";
    if (transcript) {
      nodes.push(el("p", { className: "label" }, "Wat de beller zei:"));
      nodes.push(el("blockquote", { id: "pop-transcript" }, transcript));
    }
    nodes.push(candidatesNode(pop));
    if (pop.verified) nodes.push(detailsNode(pop));
    nodes.push(transferNode(offer));
    card.replaceChildren(...nodes.filter(Boolean));
    card.dataset.linkedid = offer.linkedid;
    card.dataset.verified = pop.verified ? "yes" : "no";
    card.hidden = false;
    $("pop-empty").hidden = true;
    fillZaakSelect(pop);
  }

  function languageLabel(lang) {
    return { nl: "Nederlands", en: "Engels" }[lang] || lang || "";
  }

  function candidatesNode(pop) {
    const candidates = pop.candidates || [];
    const wrap = el("div", { id: "pop-candidates" });
    if (!candidates.length) {
      wrap.appendChild(el("p", { className: "muted" },
        pop.incomplete ? "Geen kandidaten (bron niet bereikbaar)."
          : "Geen klant gevonden bij dit nummer: zoek de klant hieronder."));
      return wrap;
    }
    wrap.appendChild(el("h4", {}, pop.verified ? "Klant" : "Mogelijke klanten (niet geverifieerd)"));
    const list = el("ul", { className: "list" });
    for (const c of candidates) {
      const selected = c.ref === pop.selected;
      const count = c.open_zaken === null || c.open_zaken === undefined ? "aantal onbekend"
        : `${c.open_zaken} open ${c.open_zaken === 1 ? "zaak" : "zaken"}`;
      const item = el("li", { className: selected ? "candidate selected" : "candidate",
        "data-ref": c.ref },
      el("strong", { className: "cand-name" }, c.naam),
      " ", el("span", { className: "muted" }, c.soort === "niet_natuurlijk_persoon" ? "(organisatie)" : ""),
      " · ", el("span", { className: "cand-zaken" }, count));
      if (!pop.verified) {
        if (selected) item.appendChild(el("span", { className: "badge" }, "gekozen"));
        else {
          item.appendChild(el("button", { type: "button", className: "small choose",
            onclick: () => choose(c.ref) }, "Dit is de beller"));
        }
      }
      list.appendChild(item);
    }
    wrap.appendChild(list);
    if (!pop.verified) {
      wrap.appendChild(el("p", { className: "hint" },
        "Controleer de identiteit met de verificatiestap in het gespreksscript "
        + "voordat u gegevens bekijkt."));
      wrap.appendChild(el("p", { className: "error", id: "pop-error", role: "alert" }));
    }
    return wrap;
  }

  function detailsNode(pop) {
    const k = pop.klant || {};
    const links = pop.links || {};
    const box = el("div", { id: "pop-details" });
    box.appendChild(el("p", { className: "ok", id: "pop-verified" }, "Identiteit geverifieerd"));
    const klantLink = links.klant ? safeLink(links.klant, "Open klant in het klantsysteem") : null;
    box.appendChild(el("dl", { className: "facts", id: "pop-klant" },
      row("Naam", k.naam, "klant-naam"),
      row("Geboortedatum", k.geboortedatum ? date(k.geboortedatum) : "", "klant-geboortedatum"),
      row("Adres", [k.adres, [k.postcode, k.woonplaats].filter(Boolean).join(" ")]
        .filter(Boolean).join(", "), "klant-adres"),
      row("KvK", k.kvk),
      row("Telefoon", (k.telefoonnummers || []).join(", ")),
      row("E-mail", k.email)));
    if (klantLink) box.appendChild(el("p", {}, klantLink));
    const zaken = pop.zaken || [];
    const total = pop.zaken_total;
    box.appendChild(el("h4", {}, total !== null && total !== undefined && total > zaken.length
      ? `Open zaken (${zaken.length} van ${total})` : `Open zaken (${zaken.length})`));
    if (zaken.length) {
      const zlinks = links.zaken || {};
      const tbody = el("tbody", {}, zaken.map((z) => el("tr", { "data-zaak": z.identificatie },
        el("td", {}, zlinks[z.identificatie] ? (safeLink(zlinks[z.identificatie], z.identificatie)
          || z.identificatie) : z.identificatie),
        el("td", {}, z.omschrijving || z.zaaktype || ""),
        el("td", { className: "zaak-status" }, z.status || ""),
        el("td", {}, z.status_datum ? dateTime(z.status_datum) : ""),
        el("td", {}, z.uiterlijke_einddatum ? date(z.uiterlijke_einddatum) : ""))));
      box.appendChild(el("table", { id: "pop-zaken" },
        el("thead", {}, el("tr", {}, ["Zaak", "Omschrijving", "Status", "Sinds", "Uiterlijk"]
          .map((h) => el("th", {}, h)))), tbody));
    } else box.appendChild(el("p", { className: "muted" }, "Geen open zaken."));
    const contacten = pop.contacten || [];
    box.appendChild(el("h4", {}, "Laatste contacten"));
    if (contacten.length) {
      box.appendChild(el("ul", { className: "list", id: "pop-contacten" }, contacten.map((c) =>
        el("li", {}, el("span", { className: "muted" }, dateTime(c.at)), " ",
          `${c.kanaal || ""}: ${c.onderwerp || ""}`, c.uitkomst ? ` → ${c.uitkomst}` : "",
          c.medewerker ? ` (${c.medewerker})` : ""))));
    } else box.appendChild(el("p", { className: "muted" }, "Geen eerdere contacten."));
    return box;
  }

  // ------------------------------------------------------------------ transfer
  // At most [kcc] max_transfers per call: the service answers 409 with a Dutch message
  // when the citizen was transferred before; the agent keeps the call and says so.
  function transferNode(offer) {
    const targets = (ui.config && ui.config.transfer_targets) || [];
    const select = el("select", { id: "transfer-to", "aria-label": "Doorverbinden naar" },
      ...targets.map((t) => el("option", { value: t.to }, t.label)));
    const note = el("input", { id: "transfer-note", maxlength: 2000 });
    const reason = el("input", { id: "transfer-reason", maxlength: 200 });
    const button = el("button", { type: "button", id: "btn-transfer",
      onclick: () => transfer(select.value, select.selectedOptions[0], note.value, reason.value) },
    "Doorverbinden");
    return el("div", { className: "transfer", id: "pop-transfer" },
      el("label", { className: "inline" }, "Doorverbinden naar ", select),
      el("label", { className: "inline" }, "Overdrachtsnotitie ", note),
      el("label", { className: "inline" }, "Reden ", reason), button,
      el("p", { className: "error", id: "transfer-error", role: "alert" },
        offer.transferError || ""),
      el("p", { id: "transfer-result", role: "status" }, offer.transferResult || ""));
  }

  async function transfer(to, option, note, reason) {
    const offer = ui.pop;
    if (!offer || !to) return;
    offer.transferError = "";
    offer.transferResult = "";
    try {
      await api("POST", `/api/calls/${encodeURIComponent(offer.linkedid)}/transfer`,
        { to, note, reason });
      offer.transferResult = `Doorverbonden naar ${option ? option.textContent : to}.`;
    } catch (err) {
      offer.transferError = err.status === 409 || err.status === 403
        ? err.message : `Doorverbinden mislukt: ${err.message}`;
    }
    if (ui.pop === offer) renderPop();
  }

  function popError(err) {
    const node = $("pop-error") || $("state-error");
    node.textContent = err.status === 404 ? "Dit gesprek is niet (meer) aan u aangeboden."
      : `Mislukt: ${err.message}`;
  }

  async function choose(ref) {
    if (!ui.pop) return;
    try {
      ui.pop.pop = await api("POST", `/api/zaken/calls/${encodeURIComponent(ui.pop.linkedid)}/choose`,
        { klant_ref: ref });
      renderPop();
    } catch (err) {
      popError(err);
    }
  }

  function fillZaakSelect(pop) {
    const select = $("contact-zaak");
    const options = [el("option", { value: "" }, "(geen zaak)")];
    for (const z of (pop && pop.verified ? pop.zaken || [] : [])) {
      options.push(el("option", { value: z.identificatie }, `${z.identificatie} – ${z.omschrijving || ""}`));
    }
    select.replaceChildren(...options);
  }

  // ------------------------------------------------------------------ search
  $("search-kind").addEventListener("change", () => {
    const kind = $("search-kind").value;
    for (const span of document.querySelectorAll("#search-form [data-kind]")) {
      span.hidden = span.dataset.kind !== kind;
    }
  });

  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setText("search-error", "");
    const kind = $("search-kind").value;
    const body = {};
    if (kind === "naam") {
      body.achternaam = $("search-achternaam").value.trim();
      body.geboortedatum = $("search-geboortedatum").value;
    } else if (kind === "adres") {
      body.postcode = $("search-postcode").value.trim();
      body.huisnummer = Number($("search-huisnummer").value);
    } else if (kind === "bsn") body.bsn = $("search-bsn").value.trim();
    else body.zaaknummer = $("search-zaaknummer").value.trim();
    if (ui.pop) body.call_id = ui.pop.linkedid;
    const list = $("search-results");
    list.replaceChildren();
    try {
      const data = await api("POST", "/api/zaken/klanten/search", body);
      $("search-bsn").value = "";
      if (!data.results.length) {
        list.appendChild(el("li", { className: "muted" }, "Niets gevonden."));
        return;
      }
      for (const k of data.results) {
        list.appendChild(el("li", { "data-ref": k.ref }, el("strong", {}, k.naam), " ",
          el("span", { className: "muted" }, k.soort === "niet_natuurlijk_persoon" ? "(organisatie)" : ""),
          ui.pop ? el("button", { type: "button", className: "small choose",
            onclick: () => choose(k.ref) }, "Dit is de beller") : null));
      }
    } catch (err) {
      setText("search-error", err.status === 422 ? "Ongeldige zoekvraag: controleer de velden."
        : `Zoeken mislukt: ${err.message}`);
    }
  });


  on("call.offered", (msg) => showOffer(msg));
  on("call.pop", (msg) => {
    if (ui.pop && ui.pop.linkedid === msg.linkedid) {
      ui.pop.pop = msg.pop;
      renderPop();
    }
  });
  onStop(() => clearPop());
})();
