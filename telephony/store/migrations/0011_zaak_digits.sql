-- A zaaknummer keyed in on a phone keypad has only digits ("ZAAK-2025-0000123" is typed as
-- 20250000123): index the digits of each identificatie so the IVR's entry is a lookup.
CREATE INDEX zaken_identificatie_digits ON zaken (regexp_replace(identificatie, '[^0-9]', '', 'g'));
