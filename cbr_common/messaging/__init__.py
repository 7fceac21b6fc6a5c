"""Messaging: the one Celery application every service shares, and publishing."""
