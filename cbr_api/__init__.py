"""cbr-api: the HTTP front of cbr-sim, one blueprint per API family over the domain core."""
