-- Schema version 27: who set a drop aside (`roster-sync drops set-aside DROP --reason TEXT`).
-- Such a drop is `skipped`, with the person's reason; unlike a drop the daemon skipped, it put
-- nothing into the directory, so it orders nothing (an older drop is not superseded by it) and
-- says nothing of manifests, and a change of its files on the server is a new upload, decided
-- afresh (service/drop_history.py). NULL: not set aside by a person.
ALTER TABLE drops ADD COLUMN set_aside_by VARCHAR;
