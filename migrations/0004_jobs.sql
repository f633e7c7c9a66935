-- 0004_jobs.sql — a study row follows its job: the scheduler writes only the jobs row (queued,
-- running, succeeded with its result, failed, cancelled, retried), and the study mirrors each
-- change in the same transaction, so the two can never disagree.

CREATE TRIGGER studies_follow_job AFTER UPDATE OF state, result ON jobs
BEGIN
    UPDATE studies SET state = NEW.state, result = NEW.result WHERE job_id = NEW.id;
END;

CREATE INDEX studies_by_job ON studies (job_id);
