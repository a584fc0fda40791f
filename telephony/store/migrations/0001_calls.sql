-- Call records: one row per call (Asterisk Linkedid). Upserted at start and at end, so a
-- service restart mid-call never duplicates a call and never loses it.
CREATE TABLE calls (
    linkedid          text PRIMARY KEY,
    direction         text NOT NULL DEFAULT 'internal',
    caller_number     text NOT NULL DEFAULT '',
    caller_name       text NOT NULL DEFAULT '',
    dialled           text NOT NULL DEFAULT '',
    municipality      text NOT NULL DEFAULT '',
    language          text NOT NULL DEFAULT '',
    subject           text NOT NULL DEFAULT '',
    queue             text NOT NULL DEFAULT '',
    queues            text[] NOT NULL DEFAULT '{}',
    started_at        timestamptz NOT NULL,
    queued_at         timestamptz,
    answered_at       timestamptz,
    ended_at          timestamptz,
    wait_seconds      double precision,
    talk_seconds      double precision,
    answered_by       text NOT NULL DEFAULT '',
    abandoned         boolean NOT NULL DEFAULT false,
    transfer_count    integer NOT NULL DEFAULT 0,
    offered           jsonb NOT NULL DEFAULT '[]',
    transfers         jsonb NOT NULL DEFAULT '[]',
    holds             jsonb NOT NULL DEFAULT '[]',
    hangup_cause      text NOT NULL DEFAULT '',
    hangup_cause_text text NOT NULL DEFAULT '',
    recovered         boolean NOT NULL DEFAULT false,
    instance_id       text NOT NULL DEFAULT '',
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_open ON calls (ended_at) WHERE ended_at IS NULL;

-- Agent state changes, kept for reports (time in state, pauses by reason).
CREATE TABLE agent_state_log (
    id        bigserial PRIMARY KEY,
    agent     text NOT NULL,
    queue     text NOT NULL DEFAULT '',
    state     text NOT NULL,
    reason    text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL
);
CREATE INDEX agent_state_log_agent_at ON agent_state_log (agent, at);
