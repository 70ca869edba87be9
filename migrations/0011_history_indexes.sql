-- History reads. The audit list of one service: rows whose subject is the service or starts with
-- "<service>/", found by the subject's first part (the same expression as src/store/sqlite-audit-log.ts),
-- newest first. A service's deploys in every environment, newest first. Both used to scan or sort.
CREATE INDEX audit_log_by_service ON audit_log ((CASE WHEN instr(subject, '/') > 0 THEN substr(subject, 1, instr(subject, '/') - 1) ELSE subject END), id);
CREATE INDEX deployments_by_service ON deployments (service, id);
