-- Issue 6: klanten, zaken, contactmomenten and internal tasks of the built-in zaak store,
-- the per-call identification state of the screen-pop, and the AVG processing log.
-- Phone numbers are stored normalised to E.164 so matching a caller is an index lookup.

CREATE TABLE klanten (
    id            bigserial PRIMARY KEY,
    ref           uuid NOT NULL UNIQUE,          -- the only identifier that leaves the DB
    soort         text NOT NULL CHECK (soort IN ('natuurlijk_persoon', 'niet_natuurlijk_persoon')),
    bsn           text UNIQUE CHECK (bsn ~ '^[0-9]{9}$'),
    kvk           text CHECK (kvk ~ '^[0-9]{8}$'),
    voornamen     text NOT NULL DEFAULT '',
    voorvoegsel   text NOT NULL DEFAULT '',
    achternaam    text NOT NULL DEFAULT '',
    bedrijfsnaam  text NOT NULL DEFAULT '',
    geboortedatum date,
    straat        text NOT NULL DEFAULT '',
    huisnummer    integer,
    huisnummer_toevoeging text NOT NULL DEFAULT '',
    postcode      text NOT NULL DEFAULT '' CHECK (postcode = '' OR postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$'),
    woonplaats    text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((soort = 'natuurlijk_persoon' AND kvk IS NULL)
        OR (soort = 'niet_natuurlijk_persoon' AND bsn IS NULL))
);
CREATE INDEX klanten_kvk ON klanten (kvk) WHERE kvk IS NOT NULL;
CREATE INDEX klanten_naam_geboorte ON klanten (lower(achternaam), geboortedatum);
CREATE INDEX klanten_adres ON klanten (postcode, huisnummer);

CREATE TABLE klant_telefoonnummers (
    klant_id  bigint NOT NULL REFERENCES klanten (id) ON DELETE CASCADE,
    e164      text NOT NULL CHECK (e164 ~ '^\+[1-9][0-9]{5,14}$'),
    soort     text NOT NULL DEFAULT 'mobiel',
    PRIMARY KEY (klant_id, e164)
);
CREATE INDEX klant_telefoonnummers_e164 ON klant_telefoonnummers (e164);

CREATE TABLE zaken (
    id                   bigserial PRIMARY KEY,
    uuid                 uuid NOT NULL UNIQUE,
    identificatie        text NOT NULL UNIQUE,
    klant_id             bigint NOT NULL REFERENCES klanten (id),
    omschrijving         text NOT NULL,
    zaaktype             text NOT NULL,
    status               text NOT NULL,
    status_datum         timestamptz NOT NULL DEFAULT now(),
    startdatum           date NOT NULL,
    uiterlijke_einddatum date,
    einddatum            date,                    -- NULL: the zaak is open
    afdeling             text NOT NULL DEFAULT '',
    medewerker           text NOT NULL DEFAULT ''
);
CREATE INDEX zaken_klant_open ON zaken (klant_id, startdatum DESC) WHERE einddatum IS NULL;
CREATE INDEX zaken_klant ON zaken (klant_id);

CREATE TABLE zaak_statussen (
    id          bigserial PRIMARY KEY,
    zaak_id     bigint NOT NULL REFERENCES zaken (id) ON DELETE CASCADE,
    status      text NOT NULL,
    datum       timestamptz NOT NULL,
    toelichting text NOT NULL DEFAULT ''
);
CREATE INDEX zaak_statussen_zaak ON zaak_statussen (zaak_id, datum);

CREATE TABLE contactmomenten (
    id            bigserial PRIMARY KEY,
    klant_id      bigint REFERENCES klanten (id),
    zaak_id       bigint REFERENCES zaken (id),
    kanaal        text NOT NULL CHECK (kanaal IN ('telefoon', 'balie', 'e-mail', 'web', 'post')),
    onderwerp     text NOT NULL,
    tekst         text NOT NULL DEFAULT '',
    medewerker    text NOT NULL DEFAULT '',
    uitkomst      text NOT NULL DEFAULT '',
    call_id       text NOT NULL DEFAULT '',
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contactmomenten_klant ON contactmomenten (klant_id, registered_at DESC);
CREATE INDEX contactmomenten_call ON contactmomenten (call_id) WHERE call_id <> '';

-- Internal tasks; the callback issue files "terugbellen" requests here.
CREATE TABLE taken (
    id             bigserial PRIMARY KEY,
    uuid           uuid NOT NULL UNIQUE,
    soort          text NOT NULL DEFAULT 'terugbellen',
    klant_id       bigint REFERENCES klanten (id),
    zaak_id        bigint REFERENCES zaken (id),
    call_id        text NOT NULL DEFAULT '',
    telefoonnummer text NOT NULL DEFAULT '',
    toelichting    text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_behandeling', 'afgerond')),
    toegewezen_aan text NOT NULL DEFAULT '',
    deadline       timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX taken_open ON taken (status, deadline) WHERE status <> 'afgerond';

-- Which agent a call was offered to, the candidates shown, the one chosen, and whether the
-- identity was verified: the authority for "only the offered agent may act on this pop".
CREATE TABLE zaak_call_pops (
    call_id      text NOT NULL,
    agent_login  text NOT NULL,
    call         jsonb NOT NULL,
    candidates   text[] NOT NULL DEFAULT '{}',
    chosen_ref   text,
    verified_at  timestamptz,
    offered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, agent_login)
);
CREATE INDEX zaak_call_pops_offered ON zaak_call_pops (offered_at);

-- AVG processing log (verwerkingenlog): every view of personal data. Append-only: the
-- trigger refuses UPDATE and DELETE, and TRUNCATE, even for the table owner.
CREATE TABLE processing_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    actor_role  text NOT NULL DEFAULT 'agent',
    action      text NOT NULL,       -- greeting | details | search | contact_registered | ...
    purpose     text NOT NULL,
    call_id     text NOT NULL DEFAULT '',
    klant_ref   text NOT NULL DEFAULT '',
    zaken       text[] NOT NULL DEFAULT '{}',
    source      text NOT NULL DEFAULT ''
);
CREATE INDEX processing_log_klant ON processing_log (klant_ref, at) WHERE klant_ref <> '';
CREATE INDEX processing_log_actor ON processing_log (actor, at);
CREATE INDEX processing_log_call ON processing_log (call_id) WHERE call_id <> '';
CREATE INDEX processing_log_at ON processing_log (at);

CREATE FUNCTION processing_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'processing_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER processing_log_no_change BEFORE UPDATE OR DELETE ON processing_log
    FOR EACH ROW EXECUTE FUNCTION processing_log_append_only();
CREATE TRIGGER processing_log_no_truncate BEFORE TRUNCATE ON processing_log
    FOR EACH STATEMENT EXECUTE FUNCTION processing_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON processing_log FROM PUBLIC;
