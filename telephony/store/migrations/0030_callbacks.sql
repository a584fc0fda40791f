-- Callbacks (issue 5). One row per promise to call a citizen back; one row per dial
-- attempt. The row is the truth: a service or Asterisk restart loses nothing, and the
-- dispatcher claims rows with SELECT ... FOR UPDATE SKIP LOCKED (see dispatcher.py).
CREATE TABLE callbacks (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('virtual_hold', 'scheduled')),
    status         text NOT NULL DEFAULT 'waiting'
                   CHECK (status IN ('waiting', 'dialling', 'done', 'task', 'cancelled')),
    queue          text NOT NULL,
    number         text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    queued_at      timestamptz NOT NULL,          -- the caller's place (first come)
    due_at         timestamptz NOT NULL,          -- not before (retry spacing, window start)
    window_end     timestamptz,                   -- scheduled: never after
    subject        text NOT NULL DEFAULT '',
    linkedid       text NOT NULL DEFAULT '',      -- the original call
    ivr            jsonb NOT NULL DEFAULT '{}',
    attempts       integer NOT NULL DEFAULT 0,
    outcome        text NOT NULL DEFAULT '',      -- last: reached, no_answer, busy, voicemail, refused, ...
    agent          text NOT NULL DEFAULT '',      -- reserved agent while dialling
    owner          text NOT NULL DEFAULT '',      -- instance id while dialling
    lease_until    timestamptz,
    task_uuid      text NOT NULL DEFAULT '',
    created_by     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callbacks_waiting ON callbacks (queue, queued_at) WHERE status = 'waiting';
CREATE INDEX callbacks_dialling ON callbacks (lease_until) WHERE status = 'dialling';
-- One callback at a time per agent, across every instance: the second claim of the same
-- agent fails with a unique violation instead of reserving them twice.
CREATE UNIQUE INDEX callbacks_one_per_agent ON callbacks (agent) WHERE status = 'dialling';

CREATE TABLE callback_attempts (
    id             bigserial PRIMARY KEY,
    callback_id    bigint NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    attempt        integer NOT NULL,
    instance       text NOT NULL,
    agent          text NOT NULL,
    claimed_at     timestamptz NOT NULL DEFAULT now(),
    agent_answered_at timestamptz,
    ended_at       timestamptz,
    outcome        text NOT NULL DEFAULT '',
    dialstatus     text NOT NULL DEFAULT '',
    UNIQUE (callback_id, attempt)
);
