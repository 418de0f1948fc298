"""The edges: FastAPI app, CLI, auth, error mapping, settings and the wiring of backends."""
