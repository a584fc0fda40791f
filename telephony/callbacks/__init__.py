"""Callbacks (issue 5): keep-my-place, retries, scheduled callbacks, exactly once."""
