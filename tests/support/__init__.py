"""Helpers shared by the functional and contract tests: real processes and signed clients."""
