"""Backup policies: their definitions, their triggers and the validation of both.

:mod:`.triggers` parses, checks and expands the iCalendar patterns that say when a policy
runs; :mod:`.schema` holds the pydantic models of the CBR v3 policy request bodies.
Firing policies on schedule belongs to the scheduler, not to this package.
"""
