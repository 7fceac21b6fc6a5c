"""Request hooks of cbr-api: request ids, authentication and project scoping."""
