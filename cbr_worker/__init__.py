"""cbr-worker: Celery workers that run operations on the domain core."""
