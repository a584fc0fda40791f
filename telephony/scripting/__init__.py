"""Call scripts (gespreksscripts): scripts as data, the rules the server enforces, the
contactmoment every answered call ends in (issue 11)."""
