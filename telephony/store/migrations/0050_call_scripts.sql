-- Issue 11: call scripts (versioned), the script state of each call, one contactmoment per
-- answered call, and every refused action (for reports and the metrics).

CREATE TABLE scripts (
    id            bigserial PRIMARY KEY,
    subject       text NOT NULL,                 -- 'default' for the fallback
    municipality  text NOT NULL DEFAULT '',      -- '' = every municipality
    current       integer NOT NULL DEFAULT 0,    -- version number now in use
    UNIQUE (subject, municipality)
);

-- Every version ever saved; the newest is the change log (who, when, what).
CREATE TABLE script_versions (
    id          bigserial PRIMARY KEY,
    script_id   bigint NOT NULL REFERENCES scripts (id),
    version     integer NOT NULL,
    toml        text NOT NULL,
    body        jsonb NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (script_id, version)
);

-- A call keeps the version it started with (version_id), whatever is saved later.
CREATE TABLE call_scripts (
    call_id        text PRIMARY KEY,
    agent_login    text NOT NULL,
    version_id     bigint NOT NULL REFERENCES script_versions (id),
    answers        jsonb NOT NULL DEFAULT '{}',
    verify         text NOT NULL DEFAULT '' CHECK (verify IN ('', 'passed', 'failed')),
    facts_checked  text[] NOT NULL DEFAULT '{}',
    klant_ref      text NOT NULL DEFAULT '',
    transfers      integer NOT NULL DEFAULT 0,
    handovers      jsonb NOT NULL DEFAULT '[]',
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Exactly one per answered call, call-back call and IVR self-service answer.
CREATE TABLE call_contactmomenten (
    call_id        text PRIMARY KEY,
    agent_login    text NOT NULL DEFAULT '',
    kanaal         text NOT NULL DEFAULT 'telefoon'
                   CHECK (kanaal IN ('telefoon', 'terugbellen', 'ivr')),
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'voltooid', 'onvolledig')),
    subject        text NOT NULL DEFAULT '',
    queue          text NOT NULL DEFAULT '',
    municipality   text NOT NULL DEFAULT '',
    klant_ref      text NOT NULL DEFAULT '',
    zaak           text NOT NULL DEFAULT '',
    outcome        text,
    resolved       boolean,
    outcome_detail jsonb NOT NULL DEFAULT '{}',
    answers        jsonb NOT NULL DEFAULT '{}',
    notes          text NOT NULL DEFAULT '',
    completed_by   text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    hung_up_at     timestamptz,
    completed_at   timestamptz,
    CHECK (status <> 'voltooid' OR outcome IS NOT NULL),
    CHECK (status = 'open' OR completed_at IS NOT NULL)
);
CREATE INDEX call_contactmomenten_created ON call_contactmomenten (created_at);
CREATE INDEX call_contactmomenten_open ON call_contactmomenten (agent_login)
    WHERE status = 'open';

CREATE TABLE rule_refusals (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    call_id      text NOT NULL DEFAULT '',
    agent_login  text NOT NULL DEFAULT '',
    action       text NOT NULL,
    code         text NOT NULL
);
CREATE INDEX rule_refusals_at ON rule_refusals (at);
