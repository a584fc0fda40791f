-- IVR sessions: what each caller did in the menus (one row per FastAGI session), and the
-- self-service contact log (one row per self-service use, with its outcome). Keyed by the
-- caller channel's uniqueid; linkedid joins them to the call record in "calls".
CREATE TABLE ivr_sessions (
    uniqueid          text PRIMARY KEY,
    linkedid          text NOT NULL DEFAULT '',
    dialled           text NOT NULL DEFAULT '',
    caller_number     text NOT NULL DEFAULT '',
    municipality      text NOT NULL DEFAULT '',
    language          text NOT NULL DEFAULT '',
    subject           text NOT NULL DEFAULT '',
    queue             text NOT NULL DEFAULT '',
    outcome           text NOT NULL DEFAULT '',
    zaaknummer        text NOT NULL DEFAULT '',
    transcript        text NOT NULL DEFAULT '',
    callback          boolean NOT NULL DEFAULT false,
    steps             jsonb NOT NULL DEFAULT '[]',
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    first_prompt_ms   double precision,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ivr_sessions_linkedid ON ivr_sessions (linkedid);
CREATE INDEX ivr_sessions_started ON ivr_sessions (started_at);

CREATE TABLE ivr_contacts (
    id                bigserial PRIMARY KEY,
    uniqueid          text NOT NULL,
    linkedid          text NOT NULL DEFAULT '',
    kind              text NOT NULL,          -- hours, address, zaak_status, callback
    outcome           text NOT NULL,          -- e.g. answered, not_found, requested
    zaaknummer        text NOT NULL DEFAULT '',
    municipality      text NOT NULL DEFAULT '',
    at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ivr_contacts_uniqueid ON ivr_contacts (uniqueid);
