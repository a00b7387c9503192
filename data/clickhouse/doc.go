// Package clickhouse is the scale-out data.Store on ClickHouse, spoken to
// over the native protocol with github.com/ClickHouse/clickhouse-go/v2. It
// runs on ClickHouse 18.16 (the oldest server it is tested against) and on
// current releases: the SQL avoids Nullable, LowCardinality, window
// functions, CTEs, multi-JOINs and server-side query parameters.
//
// It imports package data and the driver only; it must never import
// another storage adapter (data/parquet, ...), features, model, scoring or
// api.
//
// # Opening
//
//	s, err := clickhouse.Open(ctx, "clickhouse://127.0.0.1:9000/duesight", clickhouse.Options{Logger: log})
//
// Open creates the database if missing and applies the embedded migrations
// (migrations/0001_init.sql, ...) recorded in the schema_migrations table.
// A database recorded at a version newer than LatestVersion is refused with
// data.Conflict; an unreachable server gives data.Unavailable.
//
// # Tables
//
// accounts, invoices, payments, contacts and disputes are MergeTree tables
// ordered by (account_id, <own time>, id) — accounts by (account_id, seq),
// contacts and disputes with seq appended — and partitioned by the year of
// their time column (accounts unpartitioned). Every row carries
// account_hash UInt32 = data.AccountHash(account_id), computed in Go, so
// that shard filters (account_hash % n = k) and cluster sharding never
// depend on an engine hash function, and seq UInt64, the sequence number
// of the write that stored it. Dates are Date (day 0 = unset), instants
// DateTime('UTC') (0 = unset), money Int64 minor units plus a currency
// String, enums UInt8 with the frozen codes of package data. Reads select
// dates and instants as toUInt16/toUInt32 so that decoding never depends
// on a time zone.
//
// # Commits and snapshots
//
// A write is all-or-nothing across the five tables:
//
//  1. Begin takes a lease (see Writers) which hands out seq = max(seq ever
//     leased) + 1. Seqs are never reused, not even after a crash.
//  2. Write buffers rows in columns; every row is tagged with seq. When a
//     table's buffer reaches Options.BlockRows rows it goes to a sender
//     goroutine, which streams it as one block into an INSERT it keeps
//     open per table (like clickhouse-client loading a file), while Write
//     fills the table's second buffer. Memory is bounded by two buffers
//     per table (pooled across writes), not by the size of the write.
//  3. Commit hands over what is left, waits until the server has
//     acknowledged every INSERT, checks that the lease is still held and
//     that no later seq committed, then inserts one row (seq, ...) into
//     the commits table. That single-row insert is the commit point.
//
// A reader first takes a snapshot S = max(seq) of commits and filters
// every table by seq IN (SELECT seq FROM commits WHERE seq <= S). Rows of
// a write whose seq is not in commits — in progress, rolled back, or left
// by a crashed process — are therefore never visible, and all queries of
// one read (the five streams of Histories, the kinds of Lookup, the counts
// of Count) see the same set of commits. Rollback ends the open INSERTs
// and deletes the rows already sent with an ALTER TABLE … DELETE mutation
// (asynchronous; the rows are already invisible). Rows that escape it —
// after a failed send — and the rows of a crashed writer are removed by
// Vacuum. Mutations rewrite the affected parts, so both are meant to be
// rare.
//
// If the commit insert itself fails (for example the connection drops),
// the outcome is unknown: Commit says so and deletes nothing.
//
// # Versions
//
// Accounts, contacts and disputes may be rewritten: a later write stores a
// new row with the same id (and, as data.Ingest guarantees, the same time
// and account). Streams order by account_id, time, id, seq and keep the
// last row of equal ids, Lookup orders by id, seq and does the same, and
// Count counts uniqExact(id), so every read path sees the newest committed
// row of an id once.
//
// # Writers
//
// One Store allows one open Writer: a second Begin returns data.Conflict.
// Across processes Begin uses the writers table as a lease: it reads the
// current leases, returns Conflict if another owner holds an unexpired
// active lease, inserts its own lease (seq, owner, expires_at = now +
// LeaseTTL), and reads again; if another owner's active lease (or another
// lease on the same seq) appeared in between, it releases its lease and
// returns Conflict. Of two racing writers the one that checks second sees
// the other, so at most one proceeds (both may back off and retry). The
// open Writer renews its lease every LeaseTTL/3 and Commit re-checks it, so
// a writer that lost its lease (paused past expiry) cannot commit. A
// crashed writer blocks others until its lease expires. ClickHouse has no
// compare-and-set, so this relies on a single server (or, in cluster mode,
// on select_sequential_consistency) for read-after-insert.
//
// # Ledger
//
// The actions table (MergeTree ordered by id, version, unpartitioned)
// holds the collection-actions ledger. AppendActions reads the stored
// records of the ids it appends, ignores identical (ID, Version) repeats,
// rejects different ones with Conflict, and inserts the rest as one block;
// the check-then-insert race is documented on AppendActions. Actions
// computes the current state with argMax(…, version) per id.
//
// # Cluster mode
//
// Set Options.Cluster to the name of a cluster of the servers'
// remote_servers configuration (ZooKeeper and the {shard} and {replica}
// macros configured on every node). Migrations then run ON CLUSTER and
// create, from the same templates:
//
//   - for each history table and actions: <t>_local, a ReplicatedMergeTree
//     at <ZooKeeperPath>/{shard}/<db>/<t>_local, and <t>, a Distributed
//     table over it sharded by account_hash — all rows of an account live
//     on one shard, so versions and per-account order need no cross-shard
//     work;
//   - schema_migrations, commits and writers: ReplicatedMergeTree at
//     <ZooKeeperPath>/all/<db>/<t>, one replica on every node (small tables
//     that every node must see in full; {replica} must be unique
//     cluster-wide).
//
// Readers and writers use the Distributed tables; snapshot and key-list
// subqueries use GLOBAL IN so the initiator evaluates them once; mutations
// target <t>_local ON CLUSTER; every insert carries
// insert_distributed_sync=1, so rows are stored on their shards before the
// commit row is inserted.
//
// Caveats — not exercised here: only a single 18.16 server is available to
// the tests, which check the generated DDL text and that the server parses
// every statement. Set select_sequential_consistency=1 and insert_quorum
// (Options.Settings) so that a commit or lease row written on one replica
// is seen by readers and Begin on every other; without them the snapshot
// and the lease check may lag by the replication delay. A shard that is
// down makes streams fail rather than return partial results. Cluster mode
// must be chosen when a database is created: an existing single-server
// database is not converted.
//
// # Tests and benchmarks
//
// The tests need a server: DUESIGHT_TEST_CLICKHOUSE names it (e.g.
// clickhouse://127.0.0.1:19200/default); without it they skip, unless
// DUESIGHT_REQUIRE_CLICKHOUSE=1 (CI), which makes them fail. Every test
// creates its own randomly named database and drops it when it ends.
//
//	.ci/clickhouse.sh start /tmp/ch-store 19200
//	DUESIGHT_TEST_CLICKHOUSE=clickhouse://127.0.0.1:19200/default go test -race ./data/clickhouse
//
// BenchmarkIngestVsClient loads the same invoices through the Store and,
// in the same run, through clickhouse-client … FORMAT CSV into an
// identical table, and reports both rates and their ratio;
// BenchmarkHistories reports the stream rate. DUESIGHT_BENCH_LARGE=1 adds
// the 1e6 size, DUESIGHT_BENCH_SERVER_PID=$(cat /tmp/ch-store/pid) adds CPU
// time per row (steadier than wall time on a shared machine):
//
//	DUESIGHT_TEST_CLICKHOUSE=clickhouse://127.0.0.1:19200/default DUESIGHT_BENCH_LARGE=1 \
//	DUESIGHT_BENCH_SERVER_PID=$(cat /tmp/ch-store/pid) \
//	  go test ./data/clickhouse -run '^$' -bench 'IngestVsClient|Histories' -benchtime 4x
package clickhouse
