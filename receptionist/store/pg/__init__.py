"""The call log on PostgreSQL (the `receptionist[postgres]` extra): schema, store, claiming.

Only `url` imports without psycopg; the settings use it for every configuration.
"""
