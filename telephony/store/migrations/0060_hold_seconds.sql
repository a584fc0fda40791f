-- The call record keeps the time the citizen spent on hold (issue 12): the softphone's
-- hold button and a desk phone's both reach Asterisk, whose Hold/Unhold events fill
-- calls.holds; hold_seconds is their sum, so reports need no JSON arithmetic.
ALTER TABLE calls ADD COLUMN hold_seconds double precision NOT NULL DEFAULT 0;
UPDATE calls SET hold_seconds = COALESCE((
    SELECT sum((h->>1)::double precision - (h->>0)::double precision)
    FROM jsonb_array_elements(calls.holds) AS h
    WHERE jsonb_typeof(h->0) = 'number' AND jsonb_typeof(h->1) = 'number'), 0)
WHERE jsonb_array_length(holds) > 0;
