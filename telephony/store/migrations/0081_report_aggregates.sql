-- Reports over closed days read pre-aggregated counters (telephony/reports/aggregates.py).
--
-- report_day_facts: the counters of telephony/reports/definitions.py (FACTS_SQL) per
-- local day x hour x queue x subject x channel x outcome; every counter is additive
-- except max_wait (a maximum); the sums of seconds are exact decimals. Written only by the build of a whole day, in one
-- transaction (delete + insert), so a day is always complete or absent.
CREATE TABLE report_day_facts (
    day                 date NOT NULL,
    hour                integer NOT NULL,
    queue               text NOT NULL,
    subject             text NOT NULL,
    channel             text NOT NULL,
    outcome             text NOT NULL,
    offered             bigint NOT NULL,
    answered            bigint NOT NULL,
    answered_within     bigint NOT NULL,
    abandoned           bigint NOT NULL,
    short_abandoned     bigint NOT NULL,
    left_for_callback   bigint NOT NULL,
    answered_wait       numeric NOT NULL,
    max_wait            double precision NOT NULL,
    callbacks_ended     bigint NOT NULL,
    callbacks_reached   bigint NOT NULL,
    callbacks_within    bigint NOT NULL,
    callbacks_kept      bigint NOT NULL,
    self_service        bigint NOT NULL,
    handled             bigint NOT NULL,
    talk                numeric NOT NULL,
    wrapup              numeric NOT NULL,
    transfers           bigint NOT NULL,
    refused_transfers   bigint NOT NULL,
    registered          bigint NOT NULL,
    resolved_by_outcome bigint NOT NULL,
    repeat_base         bigint NOT NULL,
    resolved_no_repeat  bigint NOT NULL,
    PRIMARY KEY (day, hour, queue, subject, channel, outcome)
);

-- One row per built day: [lo, hi) are its bounds in the KCC's timezone, fingerprint the
-- definitions + settings it was built with (a changed config or FACTS_SQL makes it
-- unusable until rebuilt). Late data for the day bumps dirty_seq (triggers below); the
-- build records the dirty_seq it read *before* computing, so a write that races with
-- the build leaves dirty_seq > built_seq: the day reads live until rebuilt.
CREATE TABLE report_days (
    day          date PRIMARY KEY,
    lo           timestamptz NOT NULL,
    hi           timestamptz NOT NULL,
    fingerprint  text NOT NULL,
    repeat_days  integer NOT NULL,
    built_seq    bigint NOT NULL DEFAULT 0,
    dirty_seq    bigint NOT NULL DEFAULT 0,
    built_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_days_lo ON report_days (lo);
CREATE INDEX report_days_hi ON report_days (hi);

-- Mark the built days that overlap [a, b] stale. Cheap when nothing matches (today's
-- traffic: today is never built), which is every write on the hot path.
CREATE FUNCTION kcc_report_dirty(a timestamptz, b timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF a IS NULL OR a >= COALESCE((SELECT max(hi) FROM report_days), '-infinity') THEN
        RETURN;  -- after the last built day (today's traffic), or none: no UPDATE
    END IF;
    UPDATE report_days SET dirty_seq = dirty_seq + 1
     WHERE lo <= COALESCE(b, a) AND hi > a
       AND lo > a - interval '26 hours';  -- a local day lasts at most 25 h: index range
END $$;

-- calls: the call's own day (old and new moment it queued), a call-back leg's day, and
-- the days whose answered calls this call makes "repeated" (same number and subject
-- within the day's repeat_days: first-contact resolution, industry way).
CREATE FUNCTION kcc_report_calls_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM report_days) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM kcc_report_dirty(OLD.queued_at, OLD.queued_at);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.queued_at IS DISTINCT FROM NEW.queued_at THEN
        PERFORM kcc_report_dirty(NEW.queued_at, NEW.queued_at);
    END IF;
    IF NEW.linkedid ~ '^cb-[0-9]{1,18}-[0-9]{1,9}$' THEN
        PERFORM kcc_report_dirty(b.updated_at, b.updated_at) FROM callbacks b
         WHERE b.id = split_part(NEW.linkedid, '-', 2)::bigint;
    END IF;
    -- One probe of calls_repeat: the earlier calls this one makes a repeat (at most
    -- [supervisor] fcr_repeat_days <= 60 before it, each day's own setting applies).
    IF NEW.queued_at IS NOT NULL AND NEW.caller_number NOT IN ('', 'anonymous')
       AND (TG_OP = 'INSERT' OR OLD.queued_at IS DISTINCT FROM NEW.queued_at
            OR OLD.caller_number IS DISTINCT FROM NEW.caller_number
            OR OLD.subject IS DISTINCT FROM NEW.subject) THEN
        UPDATE report_days d SET dirty_seq = d.dirty_seq + 1
          FROM (SELECT DISTINCT c.queued_at FROM calls c
                 WHERE c.caller_number = NEW.caller_number AND c.subject = NEW.subject
                   AND c.queued_at < NEW.queued_at
                   AND c.queued_at >= NEW.queued_at - interval '60 days'
                   AND c.linkedid <> NEW.linkedid) e
         WHERE e.queued_at >= d.lo AND e.queued_at < d.hi
           AND NEW.queued_at <= e.queued_at + make_interval(days => d.repeat_days);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER calls_report_dirty AFTER INSERT OR UPDATE OR DELETE ON calls
    FOR EACH ROW EXECUTE FUNCTION kcc_report_calls_dirty();

-- A registered outcome belongs to the day of its call (or call-back).
CREATE FUNCTION kcc_report_outcome_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ref text := CASE WHEN TG_OP = 'DELETE' THEN OLD.call_id ELSE NEW.call_id END;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.call_id IS DISTINCT FROM NEW.call_id AND OLD.call_id <> '' THEN
        PERFORM kcc_report_dirty(c.queued_at, c.queued_at) FROM calls c
         WHERE c.linkedid = OLD.call_id;
    END IF;
    IF ref = '' THEN
        RETURN NULL;
    END IF;
    PERFORM kcc_report_dirty(c.queued_at, c.queued_at) FROM calls c WHERE c.linkedid = ref;
    IF ref ~ '^cb-[0-9]{1,18}-[0-9]{1,9}$' THEN
        PERFORM kcc_report_dirty(b.updated_at, b.updated_at) FROM callbacks b
         WHERE b.id = split_part(ref, '-', 2)::bigint;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contactmomenten_report_dirty AFTER INSERT OR UPDATE OR DELETE
    ON contactmomenten FOR EACH ROW EXECUTE FUNCTION kcc_report_outcome_dirty();

-- A call-back counts on the day of its result (updated_at): old and new day.
CREATE FUNCTION kcc_report_callbacks_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM kcc_report_dirty(OLD.updated_at, OLD.updated_at);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM kcc_report_dirty(NEW.updated_at, NEW.updated_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER callbacks_report_dirty AFTER INSERT OR UPDATE OR DELETE ON callbacks
    FOR EACH ROW EXECUTE FUNCTION kcc_report_callbacks_dirty();

CREATE FUNCTION kcc_report_attempts_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kcc_report_dirty(b.updated_at, b.updated_at) FROM callbacks b
     WHERE b.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.callback_id ELSE NEW.callback_id END;
    RETURN NULL;
END $$;
CREATE TRIGGER callback_attempts_report_dirty AFTER INSERT OR UPDATE OR DELETE
    ON callback_attempts FOR EACH ROW EXECUTE FUNCTION kcc_report_attempts_dirty();

-- IVR self-service: the session's day (its answers are in ivr_contacts).
CREATE FUNCTION kcc_report_ivr_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM kcc_report_dirty(OLD.started_at, OLD.started_at);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM kcc_report_dirty(NEW.started_at, NEW.started_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ivr_sessions_report_dirty AFTER INSERT OR UPDATE OR DELETE ON ivr_sessions
    FOR EACH ROW EXECUTE FUNCTION kcc_report_ivr_dirty();

CREATE FUNCTION kcc_report_ivr_contact_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kcc_report_dirty(s.started_at, s.started_at) FROM ivr_sessions s
     WHERE s.uniqueid = CASE WHEN TG_OP = 'DELETE' THEN OLD.uniqueid ELSE NEW.uniqueid END;
    RETURN NULL;
END $$;
CREATE TRIGGER ivr_contacts_report_dirty AFTER INSERT OR UPDATE OR DELETE ON ivr_contacts
    FOR EACH ROW EXECUTE FUNCTION kcc_report_ivr_contact_dirty();

-- Wrap-up: a state row ends the agent's previous nawerk pause, whose length is the
-- wrap-up of the call that ended just before it. That call queued at most a few hours
-- earlier (wait + talk); the days overlapping the 3 hours before the pause go stale.
-- Nothing is built (a fresh install, a bulk load): no work per row.
CREATE FUNCTION kcc_report_states_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM report_days) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF r.state = 'paused' AND r.reason = 'nawerk' THEN
        PERFORM kcc_report_dirty(r.at - interval '3 hours', r.at + interval '1 second');
    END IF;
    PERFORM kcc_report_dirty(p.at - interval '3 hours', p.at + interval '1 second')
       FROM (SELECT l.at, l.state, l.reason FROM agent_state_log l
              WHERE l.agent = r.agent AND l.at <= r.at AND l.id <> r.id
              ORDER BY l.at DESC, l.id DESC LIMIT 1) p
      WHERE p.state = 'paused' AND p.reason = 'nawerk';
    RETURN NULL;
END $$;
CREATE TRIGGER agent_state_log_report_dirty AFTER INSERT OR UPDATE OR DELETE
    ON agent_state_log FOR EACH ROW EXECUTE FUNCTION kcc_report_states_dirty();
