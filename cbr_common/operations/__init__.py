"""Asynchronous operations (jobs): outbox, leases, the runner and the reaper."""

FINAL_STATES = ('SUCCESS', 'FAIL')
"""Statuses of an operation that has ended."""
