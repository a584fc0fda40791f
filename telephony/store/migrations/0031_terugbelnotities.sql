-- Terugbelnotitie (issue 5.4): a callback request from the agent to the back office, kept
-- in zaken's "taken" table (soort 'terugbelnotitie') so a team sees all its tasks in one
-- list. Added: subject, question, team, who made it, and the result when closed.
ALTER TABLE taken ADD COLUMN onderwerp   text NOT NULL DEFAULT '';
ALTER TABLE taken ADD COLUMN vraag       text NOT NULL DEFAULT '';
ALTER TABLE taken ADD COLUMN team        text NOT NULL DEFAULT '';
ALTER TABLE taken ADD COLUMN aangemaakt_door text NOT NULL DEFAULT '';
ALTER TABLE taken ADD COLUMN resultaat   text NOT NULL DEFAULT '';
ALTER TABLE taken ADD COLUMN afgerond_door text NOT NULL DEFAULT '';
ALTER TABLE taken ADD COLUMN afgerond_at timestamptz;
