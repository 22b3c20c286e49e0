"""Backups: consistent online snapshots of the database and their restore (`flask backup`).

A backup is the database as it is: the SQLite file (made with VACUUM INTO) or a `pg_dump`
custom-format archive, plus a small manifest beside it. It holds only what the database holds,
so every sealed field and attachment stays ciphertext; coded data and members' e-mail
addresses are in it in clear, as they are in the database.
"""
