"""The call log on PostgreSQL (the `receptionist[postgres]` extra): connection,
schema, LISTEN/NOTIFY, health probe, claiming. The queries themselves are shared with
SQLite (store/log.py over store/sql.py).

Only `url` imports without psycopg; the settings use it for every configuration.
"""
