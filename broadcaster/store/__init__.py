"""Storage: SQLModel tables, the write transaction discipline and the hash-chained log.

The database is the single source of truth for what is booked and what happened;
schedulers only wake the engine up.
"""
