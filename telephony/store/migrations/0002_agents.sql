-- Agents of the KCC and their skills (issue 4). Skills name queues: an agent with skill
-- "burgerzaken" at level 9 is a specialist there; level 2 a generalist who helps out.
-- Asterisk queue penalty = 10 - level: the better-skilled free agent is rung first.
CREATE TABLE agents (
    login          text PRIMARY KEY CHECK (login ~ '^[a-z][a-z0-9_-]{0,39}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    endpoint       text NOT NULL,       -- Asterisk interface, e.g. PJSIP/agent-anna
    role           text NOT NULL DEFAULT 'agent'
                   CHECK (role IN ('agent', 'supervisor', 'admin', 'privacy_officer')),
    password_hash  text NOT NULL DEFAULT '',
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_skills (
    login  text NOT NULL REFERENCES agents (login) ON DELETE CASCADE,
    skill  text NOT NULL,
    level  integer NOT NULL CHECK (level BETWEEN 1 AND 10),
    PRIMARY KEY (login, skill)
);

-- What the service itself decided about an agent (Asterisk knows ringing/in-use/paused,
-- not *why*): logged in or not, wrap-up until when, pause reason. Survives restarts.
CREATE TABLE agent_sessions (
    login          text PRIMARY KEY REFERENCES agents (login) ON DELETE CASCADE,
    logged_in      boolean NOT NULL DEFAULT false,
    wrapup_until   timestamptz,
    pause_reason   text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);
