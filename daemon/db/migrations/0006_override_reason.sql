-- Schema version 6: a held run applied by override keeps the reason the person gave, so that
-- `show` and the review UI say who overrode, when and why (the audit log has said it since 1).
ALTER TABLE runs ADD COLUMN override_reason VARCHAR;
UPDATE runs SET override_reason = (
    SELECT nullif(trim(json_extract_string(a.details, '$.reason')), '')
    FROM audit_log a
    WHERE a.action = 'run.apply.override' AND a.target_kind = 'run' AND a.target_id = runs.run_id
    ORDER BY a.audit_id DESC LIMIT 1)
WHERE override_by IS NOT NULL;
