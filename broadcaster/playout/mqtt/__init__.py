"""Networked hamlet receivers over MQTT: the station's output, the signed command
protocol both sides share, and the reference receiver (docs/RECEIVER-PROTOCOL.md)."""
