-- Issue 11: completed contactmomenten are written to Open Klant through this outbox, so
-- Open Klant being down or slow never blocks an agent and loses nothing. One row per call
-- (UNIQUE): a klantcontact, and for a terugbelverzoek an internetaak hung on it. Each step
-- keeps the uuid Open Klant gave, so a retry never repeats a step that succeeded.
CREATE TABLE openklant_outbox (
    id                 bigserial PRIMARY KEY,
    call_id            text NOT NULL UNIQUE,
    agent_login        text NOT NULL,
    payload            jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'sent', 'failed')),
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    lease_until        timestamptz,
    last_error         text NOT NULL DEFAULT '',
    klantcontact_uuid  text NOT NULL DEFAULT '',
    internetaak_uuid   text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz
);
CREATE INDEX openklant_outbox_due ON openklant_outbox (next_attempt_at) WHERE status = 'pending';
