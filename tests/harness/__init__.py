"""Reusable test harness: a real Prefect server, loopback notification listeners, case databases.

Everything here talks to 127.0.0.1 only.

- `prefect_server`: `running_prefect_server(workdir)`, `use_prefect_api(api_url)`,
  `drain_prefect_workers()`
- `listeners`: `HttpListener` (Apprise `json://`), `SmtpListener` (Apprise `mailto://`)
- `databases`: `case_database(kind, workdir)` (empty) and `migrated_database(kind, workdir)` (at
  the head schema, copied from a template migrated once) for "sqlite" and "postgresql"
- `cache`: `cache_dir()`, where templates built once per machine are kept, and `locked(path)`

The modules import nothing from each other but `cache` (standard library only); import them by
module so that a test which only needs a database does not pay for importing Prefect.
"""
