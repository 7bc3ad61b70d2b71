"""Sending: the delivery scheduler and the notice sender over one due-rows loop, and each
delivery target's record. Rows wait in SQLite, never in a task."""
