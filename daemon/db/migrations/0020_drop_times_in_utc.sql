-- Schema version 20: the drop history's times are instants, kept as naive UTC (as the notify
-- tables keep theirs), no longer the server's local wall times. A wall time is ambiguous in the
-- hour the clocks fall back: a drop first seen at 01:50 EDT and one first seen 30 minutes later
-- at 01:20 EST read back as 01:50 and 01:20 of one night, so the older one looked newer (and was
-- planned after the newer one, undoing it). Rows decided before are read in the zone of the
-- process that migrates (the daemon's, DuckDB's session zone); a time in the repeated hour is
-- read as the earlier of its two instants, as the daemon read it back before (a drop taken then
-- never looks newer than it was).
CREATE MACRO _wall_to_utc(ts) AS
    least(ts::TIMESTAMPTZ, (ts - INTERVAL 1 HOUR)::TIMESTAMPTZ + INTERVAL 1 HOUR) AT TIME ZONE 'UTC';
UPDATE drops SET
    first_seen_at = _wall_to_utc(first_seen_at),
    complete_at = _wall_to_utc(complete_at),
    export_at = _wall_to_utc(export_at),
    decided_at = _wall_to_utc(decided_at),
    changed_at = _wall_to_utc(changed_at);
UPDATE drop_sources SET first_mirror_at = _wall_to_utc(first_mirror_at);
DROP MACRO _wall_to_utc;
