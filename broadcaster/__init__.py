"""broadcaster: commune loudspeaker radio automation.

Layers (see docs/ARCHITECTURE.md): ``core`` is pure domain logic; ``config``, ``store``,
``speech``, ``playout`` and ``engine`` are adapters around it; ``cli`` is the face.
"""

__version__ = "0.1.0"
