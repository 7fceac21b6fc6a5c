"""cbr-scheduler: the leader-elected loop that re-dispatches, reaps and (later) fires policies."""
