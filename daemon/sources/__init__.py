"""API sources: pull a district from a roster hub into a drop the sync already reads.

Why a drop: a source fills the same staging the CSV ingest fills, so nothing downstream (row
results, plan, holds, conflicts, review, apply) knows where the data came from. A pull writes,
into the run's archive folder, OneRoster CSV files, the raw pages it fetched (compressed JSON) and a
trace from each CSV line to the page and position of the record it came from. Pages are streamed
to disk one at a time; the district is never held in memory.
"""
