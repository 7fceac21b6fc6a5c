"""Versioned contracts between the services: task messages and the job-type catalogue."""
