"""The ``labkit`` command line (thin wiring over the library)."""
