"""Outputs: where audio goes at air time (a folder, the sound card, later Icecast/MQTT).

Outputs are plugins behind :class:`broadcaster.playout.base.Output`, found through the
``broadcaster.outputs`` entry-point group; the planner and engine never know which."""
