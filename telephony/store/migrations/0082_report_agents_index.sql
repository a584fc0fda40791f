-- The agents' report counts each agent's answered calls per local day by the moment
-- they were answered: without this index a one-day report read a year of call records.
CREATE INDEX calls_answered_at ON calls (answered_at) WHERE answered_by <> '';
-- ... and each agent's states within the range by their moment (the (agent, at) index
-- serves one agent, not a day of all agents).
CREATE INDEX agent_state_log_at ON agent_state_log (at);
