-- AVG storage limitation for the processing log itself: entries older than the
-- municipality's retention term may be deleted, and nothing else. The trigger still
-- refuses UPDATE, TRUNCATE and any DELETE, except a DELETE of an entry older than the
-- cutoff the purging transaction declares with
--     SET LOCAL kcc.processing_log_purge_before = '<timestamptz>'
-- and only when that cutoff lies at least 30 days back (a floor no configuration can
-- lower: an inzageverzoek must be answerable about last month's views).
CREATE OR REPLACE FUNCTION processing_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        cutoff := nullif(current_setting('kcc.processing_log_purge_before', true), '')
                  ::timestamptz;
        IF cutoff IS NOT NULL AND cutoff <= now() - interval '30 days'
           AND OLD.at < cutoff THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'processing_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
