"""Writing many rows at once: COPY on PostgreSQL, executemany elsewhere. No ids come back."""

import csv
import io
import json
from contextlib import contextmanager
from datetime import datetime

import numpy as np
from django.db import connection, transaction


def _text(value):
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def insert_rows(model, fields, rows):
    """Insert `rows` (tuples in the order of `fields`) into the model's table; returns the row count."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    model_fields = [model._meta.get_field(name) for name in fields]
    columns = ", ".join(quote(field.column) for field in model_fields)
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        # Strings are always quoted, so an empty string stays empty; None is written as "" too and
        # FORCE_NULL turns it into NULL in the nullable columns (Django never stores NULL in text columns).
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
        count = 0
        for row in _as_text(rows, model_fields):
            writer.writerow(row)
            count += 1
        buffer.seek(0)
        nullable = ", ".join(quote(field.column) for field in model_fields if field.null)
        options = f", FORCE_NULL ({nullable})" if nullable else ""
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv{options})", buffer)
        return count
    placeholders = ", ".join(["%s"] * len(model_fields))
    values = [
        tuple(field.get_db_prep_save(value, connection) for field, value in zip(model_fields, row, strict=True))
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)
    return len(values)


# Columns whose Python values need converting to COPY text; numbers and strings go to the csv writer as they are.
CONVERTED_TYPES = {"BooleanField", "JSONField", "DateTimeField", "DateField"}


def _as_text(rows, model_fields):
    converted = [i for i, field in enumerate(model_fields) if field.get_internal_type() in CONVERTED_TYPES]
    if not converted:
        return rows
    return ([_text(value) if i in converted else value for i, value in enumerate(row)] for row in rows)


def update_rows(model, fields, rows, compare=None):
    """Set `fields` of the rows whose primary keys lead each tuple of `rows` ((pk, *values)); only rows where one
    of the `compare` fields (default: all) changes are written. Returns how many rows were."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    model_fields = [model._meta.get_field(name) for name in fields]
    columns = [quote(field.column) for field in model_fields]
    compared = [fields.index(name) for name in compare or fields]
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        assignments = ", ".join(f"{column} = %s" for column in columns)
        # SQLite's IS NOT compares NULLs as values, like PostgreSQL's IS DISTINCT FROM below.
        changed = " OR ".join(f"{columns[index]} IS NOT %s" for index in compared)
        values = []
        for row in rows:
            prepared = [
                field.get_db_prep_save(value, connection) for field, value in zip(model_fields, row[1:], strict=True)
            ]
            values.append([*prepared, row[0], *(prepared[index] for index in compared)])
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND ({changed})", values)
            return cursor.rowcount
    staging = quote(f"staging_{model._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {pk}, {', '.join(columns)} FROM {table} LIMIT 0")
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerows(_as_text(rows, model_fields))
        buffer.seek(0)
        nullable = ", ".join(quote(field.column) for field in model_fields if field.null)
        options = f", FORCE_NULL ({nullable})" if nullable else ""
        cursor.copy_expert(f"COPY {staging} FROM STDIN WITH (FORMAT csv{options})", buffer)
        assignments = ", ".join(f"{column} = s.{column}" for column in columns)
        changed = " OR ".join(f"t.{columns[index]} IS DISTINCT FROM s.{columns[index]}" for index in compared)
        cursor.execute(f"UPDATE {table} t SET {assignments} FROM {staging} s WHERE t.{pk} = s.{pk} AND ({changed})")
        count = cursor.rowcount
        cursor.execute(f"DROP TABLE {staging}")
    return count


def read_int_columns(sql, params, width):
    """The `width` integer columns of a query whose values are never null, as one int64 array [rows, width];
    streamed by COPY on PostgreSQL (a few times faster than fetching rows for millions of them)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, width)
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({cursor.mogrify(sql, params).decode()}) TO STDOUT", buffer)
    return np.fromstring(buffer.getvalue().decode("ascii"), dtype=np.int64, sep=" ").reshape(-1, width)


def analyze(*models):
    """Fresh planner statistics after writing many rows: the queries of aggregate, of exports and of the review
    queue are planned from them, and autovacuum may take minutes to catch up."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(model._meta.db_table for model in models)}")


@contextmanager
def foreign_keys_checked_at_end(*models):
    """Within the block the models' foreign keys are dropped; leaving it adds them back, which checks every row
    in one pass per key instead of one lookup per inserted row (for a million rows, seconds instead of tens of
    seconds on PostgreSQL). The tables stay locked until the transaction ends: for bulk loads only. A row that
    breaks a key fails the transaction there. Elsewhere than PostgreSQL, nothing changes."""
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("foreign keys may only be set aside inside a transaction")
    quote = connection.ops.quote_name
    keys = []
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            for name, constraint in connection.introspection.get_constraints(cursor, table).items():
                if constraint["foreign_key"]:
                    keys.append((table, name, constraint["columns"][0], *constraint["foreign_key"]))
        # Checks still deferred from earlier in the transaction, on these tables or the ones they refer to, must
        # run before their constraints may change.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, *_ in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with connection.cursor() as cursor:
        for table, name, column, target_table, target_column in keys:
            cursor.execute(
                f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} FOREIGN KEY ({quote(column)}) "
                f"REFERENCES {quote(target_table)} ({quote(target_column)}) DEFERRABLE INITIALLY DEFERRED"
            )
