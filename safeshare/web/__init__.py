"""The web app: pages people reach through links (sign-off now; more doors later)."""
