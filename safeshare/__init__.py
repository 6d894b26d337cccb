"""safeshare: safeguarding information-sharing cases as durable workflows."""
