"""Command-line tools of the domain core."""
