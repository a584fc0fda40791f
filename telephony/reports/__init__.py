"""Supervisor reports per day (queues, agents, callbacks) from PostgreSQL, with the
wallboard's definitions; see ``telephony/reports/api.py``."""
