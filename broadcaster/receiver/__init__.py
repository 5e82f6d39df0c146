"""The reference receiver: the program a loudspeaker cluster's device runs.

It verifies the station's signed commands, fetches and checks the audio, plays it and
reports back (docs/RECEIVER-PROTOCOL.md). It is not part of the station: it stands on the
wire protocol (:mod:`broadcaster.playout.mqtt.protocol`) and the broker client only.
"""
