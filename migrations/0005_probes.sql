-- 0005_probes.sql — what POST /v1/classify needs to use a saved linear probe beside its weights
-- file: the input mapping, the class names, the checkpoint (id, name, sha256) and the task.
ALTER TABLE probes ADD COLUMN spec TEXT NOT NULL DEFAULT '{}'; -- JSON, see server/probes.h
CREATE INDEX probes_by_checkpoint ON probes (checkpoint_id, id);
