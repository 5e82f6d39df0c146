"""Station operations: what a face (the CLI today, a web UI later) can ask for.

Each operation is one transaction against the store and returns plain data; faces only
parse arguments and present results.
"""
