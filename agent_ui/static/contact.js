/* Contactmoment registration for the call in the pop (or without a call).
 * A part of the panel (panel.js). */
"use strict";

(() => {
  const { setText, api } = KCC;
  const { ui, $, on } = KCCPanel;

  on("call.offered", () => {
    setText("contact-result", "");
    $("contact-onderwerp").value = (ui.pop && ui.pop.call.subject) || "Telefonisch contact";
  });

  // ------------------------------------------------------------------ contactmoment
  $("contact-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setText("contact-result", "");
    const pop = ui.pop ? ui.pop.pop : null;
    const body = {
      kanaal: "telefoon",
      onderwerp: $("contact-onderwerp").value.trim(),
      tekst: $("contact-tekst").value,
      uitkomst: $("contact-uitkomst").value,
    };
    if (ui.pop) body.call_id = ui.pop.linkedid;
    // Only a verified klant gets the contact on their record.
    if (pop && pop.verified && pop.selected) body.klant_ref = pop.selected;
    if ($("contact-zaak").value) body.zaak_identificatie = $("contact-zaak").value;
    try {
      const result = await api("POST", "/api/zaken/contactmomenten", body);
      setText("contact-result", `Contactmoment geregistreerd (${result.id}).`);
      $("contact-tekst").value = "";
    } catch (err) {
      setText("contact-result", `Registreren mislukt: ${err.message}`);
    }
  });

})();
