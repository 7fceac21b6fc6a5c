"""Asynchronous operations (jobs): outbox, leases, the runner and the reaper."""

FINAL_STATES = ('SUCCESS', 'FAIL', 'SKIPPED')
"""Statuses of an operation that has ended (a skipped one never ran)."""
