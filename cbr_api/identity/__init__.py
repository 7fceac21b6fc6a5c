"""The identity API family: a minimal Keystone v3 (version document, tokens, projects)."""
