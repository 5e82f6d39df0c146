"""The application layer (issue 13): what every face (the CLI, the coming web pages) stands on.

For now it holds the people part: who acts (:mod:`actors`), the commune's roles
(:mod:`roles`), the one table of which action needs which role (:mod:`permissions`),
user accounts (:mod:`users`) and the audit trail (:mod:`audit`). Nothing here is a
module-level singleton of a station, database or clock: each service is given them.
"""
