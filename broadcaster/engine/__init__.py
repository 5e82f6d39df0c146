"""The station engine and its two drivers: real time (APScheduler) and simulated."""
