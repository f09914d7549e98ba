"""`erp-crm worker`: the chain tick, the outbox dispatch and the metrics run, done in rounds by any number of processes.

On a PostgreSQL overlay every worker, on any machine, claims its own batches with row
locks (`FOR UPDATE SKIP LOCKED`), so they share the due work without a protocol of their
own: the database is the only coordinator. Work that is one at a time by nature (the
metrics run, a tick's enrolment phase) is done by whichever worker takes its lock
first; the others skip it. On SQLite one worker runs at a time.
"""
