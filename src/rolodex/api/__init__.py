"""The HTTP API adapter (FastAPI): parse, call the workspace bound to the caller, answer."""
