"""The pure domain: no framework, no disk, no network, no wall clock.

Everything time-dependent takes ``now`` (an aware UTC datetime) as a parameter.
"""
