"""The ``/sim`` administration API: simulator controls and disk data."""
