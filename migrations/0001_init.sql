-- 0001_init.sql — the service's state: datasets and their records index, jobs and their events,
-- checkpoints, probes, studies, API keys. Blobs live under the data directory; rows hold their
-- paths relative to it. Times are Unix seconds (UTC). JSON columns hold a JSON object as text.
-- schema_migrations itself is created by server/db.c, which must read it before running this file.

CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('ecg', 'task')),
    state       TEXT    NOT NULL DEFAULT 'ready' CHECK (state IN ('importing', 'ready', 'deleting')),
    path        TEXT    NOT NULL UNIQUE,            -- store directory, relative to the data dir
    n_records   INTEGER NOT NULL DEFAULT 0 CHECK (n_records >= 0),
    seconds     REAL    NOT NULL DEFAULT 0,         -- total duration of the records
    meta        TEXT    NOT NULL DEFAULT '{}',      -- JSON: sampling rates seen, lead coverage...
    created_at  INTEGER NOT NULL
) STRICT;

-- One row per record in a dataset's store, so listing and stats need not open the shards.
CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,                   -- position in the store
    source_name TEXT    NOT NULL,                   -- uploaded or imported file name
    format      TEXT    NOT NULL,                   -- wfdb, edf, csv, npy, json, hdf5, ucr, ts, arff
    fs          REAL    NOT NULL CHECK (fs > 0),    -- sampling rate of the source
    n_samples   INTEGER NOT NULL CHECK (n_samples >= 0),
    n_leads     INTEGER NOT NULL CHECK (n_leads > 0),
    lead_mask   INTEGER NOT NULL DEFAULT 0,         -- bit i set: standard lead i present
    label       TEXT,                               -- task datasets: the class
    created_at  INTEGER NOT NULL,
    UNIQUE (dataset_id, idx)
) STRICT;

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('pretrain', 'finetune', 'transfer', 'import', 'study')),
    state            TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    params           TEXT    NOT NULL,              -- JSON, as accepted (validated) at creation
    progress         TEXT    NOT NULL DEFAULT '{}', -- JSON: step, loss, val_loss, throughput, eta_s
    result           TEXT,                          -- JSON, when succeeded
    error            TEXT,                          -- message, when failed
    attempt          INTEGER NOT NULL DEFAULT 0,    -- times started (a resume after a crash counts)
    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    state_dir        TEXT,                          -- training state, relative to the data dir
    retry_of         INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_by_state ON jobs (state, kind, id);

-- Progress and state changes in order, for GET /v1/jobs/{id}/events (Server-Sent Events).
CREATE TABLE job_events (
    id      INTEGER PRIMARY KEY,                   -- also the SSE event id
    job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    type    TEXT    NOT NULL CHECK (type IN ('state', 'progress', 'log')),
    data    TEXT    NOT NULL                       -- JSON
) STRICT;
CREATE INDEX job_events_by_job ON job_events (job_id, id);

CREATE TABLE checkpoints (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    path         TEXT    NOT NULL UNIQUE,          -- safetensors file, relative to the data dir
    sha256       TEXT    NOT NULL,                 -- of the file, hex; also the download ETag
    size_bytes   INTEGER NOT NULL CHECK (size_bytes > 0),
    model_config TEXT    NOT NULL,                 -- JSON encoder configuration
    objective    TEXT,                             -- cpc, jepa, data2vec, dinosr, hubert; NULL if uploaded
    dataset_id   INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
    subset_size  INTEGER,
    step         INTEGER,
    val_loss     REAL,
    job_id       INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    is_default   INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at   INTEGER NOT NULL
) STRICT;
-- At most one default checkpoint for embedding.
CREATE UNIQUE INDEX checkpoints_one_default ON checkpoints (is_default) WHERE is_default = 1;

-- A frozen encoder's transfer to a task dataset (linear probe) or a fine-tune, and its scores.
CREATE TABLE probes (
    id              INTEGER PRIMARY KEY,
    checkpoint_id   INTEGER NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
    task_dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    method          TEXT    NOT NULL CHECK (method IN ('linear', 'finetune')),
    path            TEXT,                           -- probe weights, relative to the data dir
    metrics         TEXT    NOT NULL DEFAULT '{}',  -- JSON: accuracy, ...
    job_id          INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
) STRICT;

-- A scaling study: pretraining subset sizes x tasks, and its summary.
CREATE TABLE studies (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,                    -- JSON
    state      TEXT    NOT NULL DEFAULT 'queued'
               CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    result     TEXT,                                -- JSON
    job_id     INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- API keys: only a keyed BLAKE2b-256 hash of the key is stored (see server/auth.c), never the key.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL DEFAULT '',
    scope      TEXT    NOT NULL CHECK (scope IN ('read', 'embed', 'train', 'admin')),
    prefix     TEXT    NOT NULL,                    -- first characters of the key, to recognise it
    hash       BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
