-- 0001_init: the history tables, the commit log, the writer leases and the
-- collection-actions ledger (data schema version 1).
--
-- This file is a text/template rendered by ddl.go; its functions decide
-- between single-server and cluster DDL (see doc.go, "Cluster mode"):
--   on                 " ON CLUSTER `c`" in cluster mode, "" otherwise
--   local "t"          the table that stores rows: db.t, or db.t_local
--   engine "t"         MergeTree, or ReplicatedMergeTree sharded per {shard}
--   distributed "t"    nothing, or the Distributed table db.t over db.t_local
--                      sharded by account_hash
--   meta "t"           a small table every node holds in full: db.t
--   metaEngine "t"     MergeTree, or ReplicatedMergeTree with one replica
--                      per node of the cluster
-- Statements end with ";" at the end of a line. Every statement must be safe
-- to run twice (IF NOT EXISTS): a migration interrupted half-way is re-run.
--
-- Conventions: every history table carries account_hash (data.AccountHash,
-- FNV-1a 32 computed in Go) and seq (the writer's commit sequence number, see
-- doc.go). Unset dates are 1970-01-01 (day 0), unset instants are DateTime 0.
-- Enum columns hold the frozen codes of package data.

CREATE TABLE IF NOT EXISTS {{local "accounts"}}{{on}} (
    account_id   String,
    account_hash UInt32,
    name         String,
    segment      String,
    country      String,
    currency     String,
    time_zone    String,
    terms_days   Int32,
    credit_limit Int64,
    consent      UInt8,
    created_at   DateTime('UTC'),
    seq          UInt64
) ENGINE = {{engine "accounts"}}
ORDER BY (account_id, seq);

{{distributed "accounts"}}

CREATE TABLE IF NOT EXISTS {{local "invoices"}}{{on}} (
    account_id   String,
    account_hash UInt32,
    id           String,
    issue_date   Date,
    due_date     Date,
    amount       Int64,
    currency     String,
    delivered_by UInt8,
    seq          UInt64
) ENGINE = {{engine "invoices"}}
PARTITION BY toYear(issue_date)
ORDER BY (account_id, issue_date, id);

{{distributed "invoices"}}

CREATE TABLE IF NOT EXISTS {{local "payments"}}{{on}} (
    account_id   String,
    account_hash UInt32,
    id           String,
    invoice_id   String,
    date         Date,
    amount       Int64,
    currency     String,
    method       UInt8,
    seq          UInt64
) ENGINE = {{engine "payments"}}
PARTITION BY toYear(date)
ORDER BY (account_id, date, id);

{{distributed "payments"}}

CREATE TABLE IF NOT EXISTS {{local "contacts"}}{{on}} (
    account_id      String,
    account_hash    UInt32,
    id              String,
    invoice_id      String,
    channel         UInt8,
    sent_at         DateTime('UTC'),
    outcome         UInt8,
    promised_date   Date,
    promised_amount Int64,
    seq             UInt64
) ENGINE = {{engine "contacts"}}
PARTITION BY toYear(sent_at)
ORDER BY (account_id, sent_at, id, seq);

{{distributed "contacts"}}

CREATE TABLE IF NOT EXISTS {{local "disputes"}}{{on}} (
    account_id   String,
    account_hash UInt32,
    id           String,
    invoice_id   String,
    opened_on    Date,
    resolved_on  Date,
    reason       String,
    seq          UInt64
) ENGINE = {{engine "disputes"}}
PARTITION BY toYear(opened_on)
ORDER BY (account_id, opened_on, id, seq);

{{distributed "disputes"}}

-- One row per committed write. A row here is what makes the write's rows
-- visible (see doc.go, "Commits and snapshots").
CREATE TABLE IF NOT EXISTS {{meta "commits"}}{{on}} (
    seq          UInt64,
    committed_at DateTime('UTC'),
    owner        String,
    rows         UInt64
) ENGINE = {{metaEngine "commits"}}
ORDER BY seq;

-- Writer leases: one row per state change of a writer (state 1 = active,
-- 2 = committed, 3 = released, 4 = vacuumed). The current state of a
-- (seq, owner) is the row with the highest beat.
CREATE TABLE IF NOT EXISTS {{meta "writers"}}{{on}} (
    seq        UInt64,
    owner      String,
    state      UInt8,
    beat       UInt32,
    expires_at DateTime('UTC'),
    at         DateTime('UTC')
) ENGINE = {{metaEngine "writers"}}
ORDER BY (seq, owner, beat);

-- The collection-actions ledger: append-only state records; the current
-- state of an action is its row with the highest version. Unpartitioned so
-- that one AppendActions insert is one part (atomic).
CREATE TABLE IF NOT EXISTS {{local "actions"}}{{on}} (
    id           String,
    version      UInt64,
    account_id   String,
    account_hash UInt32,
    invoice_id   String,
    policy       String,
    step         String,
    channel      UInt8,
    due_at       DateTime('UTC'),
    status       UInt8,
    attempt      UInt32,
    updated_at   DateTime('UTC'),
    provider_ref String,
    detail       String
) ENGINE = {{engine "actions"}}
ORDER BY (id, version);

{{distributed "actions"}}
