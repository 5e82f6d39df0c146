"""The web station: server-rendered pages, in Vietnamese, on the application layer.

``create_app`` builds the ASGI application for one station; ``broadcaster web`` serves it
with uvicorn. The pages only parse, call ``broadcaster.app`` and render: who may do what
is decided there (``app.permissions``), and ``web/access.py`` names, in one table, the
action each route needs.
"""
