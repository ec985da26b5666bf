"""The write path: every event and contact enters the log through here, in three steps.

    validate  study.vocabulary          one event against the vocabulary (no I/O)
    check     study.write.rules         one event against the log's state (the Ledger)
    write     study.write.batch         the Batch: one transaction, rows queued and sent

Frames (many events or contacts at once) take the same steps per column, with the same rules:

    study.write.cells     the stateless rules per column, content keys
    study.write.checks    the log's rules per column
    study.write.insert    the rows in
    study.write.events    the three in one pass (BulkLog)
    study.write.groups    a large frame, groups of participants, a thread inserting
    study.write.frame     Batch.log_frame: which executor takes a frame
    study.write.contacts  Batch.add_contacts

Each module imports only those listed before it (tests/test_imports.py); ``study.api`` (the
``Study``) stands on top. Nothing is imported here, so ``study log`` loads only what it uses.
"""
