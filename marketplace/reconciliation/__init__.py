"""Partner reports reconciled line by line against the event log, and disputes on the lines."""
