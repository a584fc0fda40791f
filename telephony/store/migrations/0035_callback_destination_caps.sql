-- Toll-fraud guard (issue 10, finding 2; telephony/callbacks/destinations.py): the
-- destination policy counts bookings per number and per day, and dial attempts per
-- number and per day, before every booking and every dial. These indexes keep those
-- counts cheap when the tables hold years of call-backs.
CREATE INDEX IF NOT EXISTS callbacks_number_created ON callbacks (number, created_at);
CREATE INDEX IF NOT EXISTS callbacks_created ON callbacks (created_at);
CREATE INDEX IF NOT EXISTS callback_attempts_claimed ON callback_attempts (claimed_at);
