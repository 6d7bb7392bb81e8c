"""Inserting many rows at once: COPY on PostgreSQL, executemany elsewhere. No ids come back."""

import csv
import io
import json
from datetime import datetime

from django.db import connection


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
