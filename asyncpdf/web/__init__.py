"""The web side: status page, JSON API, live log websocket, health and metrics."""
