-- Issue 10, finding 7: zaak status lookups in the IVR per caller number per day, shared by
-- every service instance. The number is kept as the sha256 of its E.164 form
-- (enough to count, not a list of who called); rows older than a few days are deleted
-- by the gate itself.
CREATE TABLE ivr_zaak_attempts (
    caller_hash text NOT NULL,
    day         date NOT NULL,
    tries       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (caller_hash, day)
);
