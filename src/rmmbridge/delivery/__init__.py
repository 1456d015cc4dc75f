"""Outbound event delivery: signed webhooks, NATS JetStream publishing and alert routing."""
