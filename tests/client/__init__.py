"""Tests of the Python client: units against httpx mock transports, end to end against `serve`."""
