"""Writing many rows at once: COPY on PostgreSQL, executemany elsewhere. No ids come back."""

import csv
import io
import json
from datetime import datetime

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
        for row in rows:
            writer.writerow([_text(value) for value in row])
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


def update_rows(model, fields, rows):
    """Set `fields` of the rows whose primary keys lead each tuple of `rows` ((pk, *values)); only rows with a
    changed value are written. Returns how many rows changed."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    model_fields = [model._meta.get_field(name) for name in fields]
    columns = [quote(field.column) for field in model_fields]
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        assignments = ", ".join(f"{column} = %s" for column in columns)
        values = [
            [field.get_db_prep_save(value, connection) for field, value in zip(model_fields, row[1:], strict=True)]
            + [row[0]]
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", values)
        return len(values)
    staging = quote(f"staging_{model._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {pk}, {', '.join(columns)} FROM {table} LIMIT 0")
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerows([_text(value) for value in row] for row in rows)
        buffer.seek(0)
        nullable = ", ".join(quote(field.column) for field in model_fields if field.null)
        options = f", FORCE_NULL ({nullable})" if nullable else ""
        cursor.copy_expert(f"COPY {staging} FROM STDIN WITH (FORMAT csv{options})", buffer)
        assignments = ", ".join(f"{column} = s.{column}" for column in columns)
        changed = " OR ".join(f"t.{column} IS DISTINCT FROM s.{column}" for column in columns)
        cursor.execute(f"UPDATE {table} t SET {assignments} FROM {staging} s WHERE t.{pk} = s.{pk} AND ({changed})")
        count = cursor.rowcount
        cursor.execute(f"DROP TABLE {staging}")
    return count
