-- What the caller told the IVR travels with the call into its record (issue 3).
ALTER TABLE calls ADD COLUMN zaaknummer text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN transcript text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN callback text NOT NULL DEFAULT '';
