"""Retention: purge protocol, retention policy, reconciliation worker, event consumers."""
