"""The bottom layer: job, delivery and notice states with their transition tables, the typed
records, and the decisions over them (outcome, still to send, retry policy). No I/O."""
