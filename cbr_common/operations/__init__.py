"""Asynchronous operations (jobs): outbox, leases, the runner and the reaper."""

FINAL_STATES = ('SUCCESS', 'FAIL', 'SKIPPED')
"""Statuses of an operation that has ended (a skipped one never ran)."""
UNFINISHED_STATES = ('INIT', 'RUNNING')
"""Statuses of an operation that has not ended: waiting for a worker, running, or waiting
for the jobs it handed off to.  Queries name these rather than exclude the final ones,
so the status index serves them however many ended operations there are."""
