"""Consistent backup and restore of a whole deployment (database rows and object manifest).

A backup is a directory, readable without this program and restorable onto either database kind:

    manifest.json              written last: its presence marks a complete backup (format below)
    tables/NNN_<table>.jsonl.gz one gzip'd JSON-lines file per table, in foreign-key order: one JSON
                               object per row, {column: value}; dates and times in ISO 8601, JSON
                               columns as their JSON text (so SQL NULL and JSON null stay apart),
                               bytes in base64, decimals as strings
    objects.jsonl.gz           every object a material_files row points to (original, thumbnail,
                               preview): key, kind, file id, size, sha256, content type
    objects/<key>              the objects' bytes, only with --with-objects

manifest.json holds the format version, created_at (UTC), the source database kind, the alembic
revision of the snapshot, the code's migration head and git commit, and per table its file, row
count, columns and the file's SHA-256 (checked before a restore touches anything).

Why rows and not pg_dump or the SQLite file: the same backup restores onto SQLite or PostgreSQL
(moving a deployment between the two), needs no client tools of a matching server version, and
a restore can check every count. Consistency comes from one snapshot: on PostgreSQL one
SERIALIZABLE READ ONLY DEFERRABLE transaction reads the revision and every table; on SQLite the
sqlite3 backup API copies the database in one step and the rows are read from that copy.
"""
