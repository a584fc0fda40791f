-- Why a call ended: '' (the parties hung up), 'system' (cut by an Asterisk shutdown or
-- restart), 'unobserved' (nobody saw the end: AMI link or service away). Reports count
-- the last two apart from callers who gave up (telephony/reports/definitions.py).
ALTER TABLE calls ADD COLUMN IF NOT EXISTS end_reason text NOT NULL DEFAULT '';
