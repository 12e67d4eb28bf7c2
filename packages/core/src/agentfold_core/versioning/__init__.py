"""Version control of the manage database: commits, branches, tags, diff, merge.

Kept import-light on purpose: the write door (``data_access.doors``) imports
``versioning.commit`` to commit inside every manage transaction, and the operations
(``versioning.operations``) import the doors; import what you need from the modules.
"""
