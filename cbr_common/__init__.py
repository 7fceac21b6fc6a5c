"""The domain core of cbr-sim: models, state machines, rules, the data plane and the clock.

Nothing here imports Flask; Celery appears only in ``cbr_common.messaging``.  The API,
scheduler and worker services are thin shells around this package.
"""
