"""Test support: starting real servers on loopback, free ports, and the CI rule for missing dependencies."""
