-- Pre-aggregated days (0081) meet what landed beside them:
-- * cut_off (issue 13): calls cut by a PBX restart or a service fault, counted apart from
--   abandons. Old built days read live until rebuilt (their fingerprint covers FACTS_SQL,
--   which changed), so the default never shows up in a report.
-- * call scripts (issue 11): the registered outcome and its ``resolved`` flag now come
--   from call_contactmomenten; a late registration marks its call's built day stale, as
--   one in contactmomenten does.
ALTER TABLE report_day_facts ADD COLUMN cut_off bigint NOT NULL DEFAULT 0;

CREATE TRIGGER call_contactmomenten_report_dirty AFTER INSERT OR UPDATE OR DELETE
    ON call_contactmomenten FOR EACH ROW EXECUTE FUNCTION kcc_report_outcome_dirty();
