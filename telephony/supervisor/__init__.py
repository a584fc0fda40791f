"""The supervisor's console: the live board's API, steering actions and their audit log."""
