"""Reusable test harness: a real Prefect server, loopback notification listeners, case databases.

Everything here talks to 127.0.0.1 only.

- `prefect_server`: `running_prefect_server(workdir)`, `use_prefect_api(api_url)`,
  `drain_prefect_workers()`
- `listeners`: `HttpListener` (Apprise `json://`), `SmtpListener` (Apprise `mailto://`)
- `databases`: `case_database(kind, workdir)` for "sqlite" and "postgresql"

The modules import nothing from each other; import them by module so that a test which only needs
a database does not pay for importing Prefect.
"""
