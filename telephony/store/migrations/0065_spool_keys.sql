-- Writes replayed from the local spool (telephony/store/spool.py) carry the key they were
-- spooled with; a replay after a crash between "written" and "removed from the spool"
-- then inserts nothing twice.
ALTER TABLE agent_state_log ADD COLUMN IF NOT EXISTS spool_key text;
CREATE UNIQUE INDEX IF NOT EXISTS agent_state_log_spool_key ON agent_state_log (spool_key)
    WHERE spool_key IS NOT NULL;
