-- Issue 10, finding 8: the application role may only INSERT and SELECT on the processing
-- log (telephony/store/roles.py grants it so); the retention purge, the one deletion the
-- append-only trigger allows, runs in this function with its owner's rights (the
-- migrations role). It declares the cutoff for the trigger, deletes what is older, and
-- logs the purge itself. The trigger's 30-day floor still holds: no cutoff younger than
-- 30 days deletes anything.
CREATE FUNCTION processing_log_purge(cutoff timestamptz, purge_actor text, purge_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    deleted bigint;
BEGIN
    PERFORM set_config('kcc.processing_log_purge_before', cutoff::text, true);
    DELETE FROM processing_log WHERE at < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    PERFORM set_config('kcc.processing_log_purge_before', '', true);
    IF deleted > 0 THEN
        INSERT INTO processing_log (actor, actor_role, action, purpose)
        VALUES (purge_actor, 'system', 'retention_purge',
                replace(purge_note, '{n}', deleted::text));
    END IF;
    RETURN deleted;
END $$;
REVOKE ALL ON FUNCTION processing_log_purge(timestamptz, text, text) FROM PUBLIC;
