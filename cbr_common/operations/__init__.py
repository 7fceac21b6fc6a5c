"""Asynchronous operations (jobs): outbox, leases, the runner and the reaper."""
