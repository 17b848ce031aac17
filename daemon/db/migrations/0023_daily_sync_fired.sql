-- Schema version 23: the daily start time that last fired (service/main_loop.py), as an instant
-- (naive UTC). A daemon stopped across the start time (a restart, an upgrade, a reboot at 02:00)
-- skipped that night's sync until the next night; at start it now syncs once for the start time
-- it missed. One row at most; none before the first daily sync of this version.
CREATE TABLE daily_sync_fired (
    fired_for TIMESTAMP NOT NULL
);
