// Package parquet is duesight's embedded, server-less data.Store: a
// directory of immutable Parquet segment files plus a JSON manifest. It is
// the default store on a single machine. Open it with Open; several
// processes may open the same directory (one writer at a time, any number
// of readers).
//
// # Layout
//
//	DIR/manifest.json      the committed state (see below); replaced atomically
//	DIR/manifest.json.tmp  a manifest being written (garbage if present at Begin)
//	DIR/segments/<table>-<generation:10>-<n:5>.parquet
//	                       immutable segment files; <table> is accounts,
//	                       invoices, payments, contacts or disputes
//	DIR/LOCK               flock(LOCK_EX) held by the one writer (Begin, Compact)
//	DIR/READERS            flock(LOCK_SH) held by readers while they open files
//	DIR/ledger.log         the collection-actions ledger (framed append-only log)
//
// manifest.json holds: format ("duesight-parquet"), schema_version,
// generation (incremented by every commit and compaction), and per table
// the committed segments in commit order, each with its file, seq (the
// generation that wrote it: it orders versions), rows, bytes, and
// min_account/max_account. Nothing else is committed state: a segment the
// manifest does not list is garbage.
//
// # Commit protocol
//
// Begin takes DIR/LOCK with flock(LOCK_EX|LOCK_NB) (data.Conflict at once if
// another goroutine or process holds it), re-reads the manifest, and deletes
// garbage: segments of a generation above the manifest's (a crashed writer's)
// at once; segments a compaction replaced only if it can take DIR/READERS
// exclusively without waiting (otherwise a later writer retries).
//
// Write buffers up to RowGroupRows rows per table, sorts the chunk by
// (account_id, time, id) and writes it as one row group of the table's open
// segment (generation = manifest generation + 1). If a chunk sorts before the
// last row written (input not in account order) or the segment has
// SegmentRowGroups row groups, the segment is closed and a new one started,
// so every segment is sorted and memory stays bounded (5 × RowGroupRows
// buffered rows plus the open segments' bloom filters) however many rows a
// write holds.
//
// Commit closes the segments (footer, fsync each file), fsyncs segments/,
// writes manifest.json.tmp and fsyncs it, renames it over manifest.json, and
// fsyncs DIR. The rename is the commit point: a crash before it leaves the
// old manifest (the new files are garbage), a crash after it leaves the new
// one. Rollback (or a failed commit before the rename) deletes the files.
// After the rename, still holding the writer lock, Commit runs the
// automatic compaction (below) before it returns.
//
// # Reads and versions
//
// A reader takes DIR/READERS shared, reads the manifest (re-parsed only when
// its inode, size or mtime changed), opens the segment files it needs and
// releases the lock; open files stay readable after a compaction unlinks
// them, so a stream always completes on its snapshot.
//
// Histories is a k-way merge over all segments of the five tables by
// (account_id, time, id), decoding ReadBatchRows rows per segment at a time.
// Accounts, contacts and disputes may be rewritten; a new version keeps its
// sort key (data.Ingest enforces it), so versions of one id meet in the merge
// and the one from the segment with the highest seq wins (Count, Lookup and
// History apply the same rule). Shard filters test the stored account_hash
// column (data.AccountHash) without hashing strings; windows test the
// stored time. History reads only segments whose [min_account, max_account]
// holds the id, within them only row groups whose account_id statistics do,
// and within a row group seeks with the Parquet page index (column index of
// account_id, offset index of every column) to the page where the account
// starts, so it decompresses about one page per column. Lookup skips row
// groups by min/max statistics and by split-block bloom filters on the id
// columns and on payments.invoice_id, then decodes only the key columns of
// the remaining row groups and the full rows of the matches. (Looking up
// ids spread over every row group therefore costs a scan of the id column:
// there is no global id index.) Bloom filters are read into buffers of a
// per-Store pool that are handed back as soon as the keys are checked (see
// "Memory" below). Count uses the manifest row counts, merging
// key columns only for versioned tables with more than one segment, cached
// per generation.
//
// A history is built without per-row allocation: each string column of a
// decoded batch is one Go string that values slice (equal consecutive
// account ids and low-cardinality values share one), and rows are copied
// into shared slabs handed out as full slices. Page and decompression
// buffers are recycled through a per-Store pooled allocator.
//
// # Compaction
//
// Compact merges each table with more than one segment into sorted,
// non-overlapping segments without superseded versions and swaps the
// manifest atomically; replaced files are deleted as garbage (above).
//
// Every commit adds at least one segment per table it writes, and reads
// touch every segment (Lookup and History probe each, Histories merges all,
// every commit rewrites the manifest that lists them), so a stream of small
// commits (POST /v1/events makes one per request) would slow everything
// down linearly. After each commit, automatic compaction therefore merges,
// per table, a run of the newest segments: walking back from the newest, a
// segment joins the run while it has fewer than RowGroupRows rows and
// (except the first) no more rows than the run so far; the run is merged
// into one segment when it holds at least Options.AutoCompactFanout (F,
// default 8) segments. Only a suffix is ever merged, so the merged segment
// takes the new generation as its seq: every segment left before it is
// older. Merging is Compact's code: same streaming, same crash safety (the
// merged files are garbage until the manifest rename, the replaced ones
// after it), same writer lock; readers never wait. A failed automatic
// compaction is logged and leaves the commit alone; the next commit retries.
//
// Cost, for a stream of c one-row commits (simulated in
// TestAutoMergeBounds, run in TestAutoCompaction): the policy behaves like a
// binary counter with digit F, so a table holds at most F-1 + ⌈log2(c/F)⌉+1
// segments below RowGroupRows rows (16 after 20,000 commits at F = 8), plus
// one segment per RowGroupRows-or-more rows. A merge runs about every F/2
// commits and costs one more manifest swap; each row is rewritten at most
// 1 + log2(RowGroupRows) times (5.4 times on average in the simulation
// with 4,096-row segments). The largest automatic merge rewrites just under
// 2 × RowGroupRows rows (≈ 130,000 at the default, about once per 65,000
// rows committed). Segments of RowGroupRows rows or more are merged only by
// Compact: their row groups are as selective as a compacted store's.
//
// # Memory
//
// Lookup reads the bloom filters of every row group it cannot rule out by
// statistics. It used to call arrow-go's GetColumnBloomFilter through
// file.Reader.GetBloomFilterReader, which takes the buffer from a sync.Pool
// owned by that file.Reader and gives it back only through a GC cleanup of
// the filter into that pool, from where it reaches the allocator again only
// through a finalizer once the pool is dropped: five GC cycles after use
// (measured). Lookup opens a file.Reader per segment per call, so under a
// stream of Ingest calls nearly all allocation waited five cycles and, as
// the GC lets the heap grow by the live heap before its next cycle, the live
// heap grew geometrically (issue 7: 9.8 GiB after 400 event batches).
// Filters are now read with VisitColumnBloomFilter into a per-Store pool of
// Go-allocated buffers, back in the pool when the check returns
// (TestEventStreamHeapFlat). New segments also size their filters for their
// rows: a one-row invoice segment is 1.3 KB instead of 132 KB (a 128-byte
// filter instead of 128 KiB).
//
// # Encodings, and why
//
// Every column is REQUIRED: nullable columns cost definition levels on every
// value (the project measured them as much slower to write on this class of
// machine). "Unset" uses the data package's sentinels instead: date 0,
// instant 0, amount 0, empty string.
//
//   - account_id, ids, names, reasons: BYTE_ARRAY UTF8, plain encoding
//     (high cardinality: a dictionary would overflow and fall back).
//   - currency, segment, country, time_zone: BYTE_ARRAY UTF8 with dictionary
//     encoding (a handful of distinct values).
//   - dates (issue, due, payment, promised, opened, resolved): INT32 DATE,
//     days since 1970-01-01 — exactly data.Date.
//   - instants (created_at, sent_at): INT64 unix seconds (data's precision;
//     Parquet TIMESTAMP has no seconds unit), 0 = unset.
//   - amounts: INT64 minor units. Currency is a column beside it.
//   - enum codes (channel, outcome, method, delivered_by) and consent:
//     INT32 annotated INT(8, unsigned), storing the frozen codes.
//   - account_hash: INT32 annotated INT(32, unsigned).
//
// No floating-point columns exist, so none is dictionary-encoded.
// Statistics are written only for account_id and the id column (row-group
// pruning); bloom filters (FPP BloomFPP, sized for RowGroupRows values, or
// for the segment's rows rounded up to a power of two, at least 64, when
// its only row group is smaller) only for the id columns Lookup searches;
// page indexes for every column.
//
// Data pages default to 256 KiB (Options.PageBytes). Measured with
// BenchmarkHistories and BenchmarkHistory (1e6 invoices, GOMAXPROCS=1,
// CPU time): 256 KiB pages stream at ≈2.0–2.15 M invoices/s against
// ≈1.8 M at 64 KiB and ≈1.7 M at 32 KiB, while History(id) costs ≈12 ms of
// CPU at 256 KiB, ≈4–5 ms at 64 KiB and ≈2.5 ms at 16 KiB. The stream is the
// hot path (feature building and scoring read every history), so the
// default favours it.
//
// Compression defaults to Snappy, chosen by BenchmarkCodecs on a 200,000
// invoice history (GOMAXPROCS=1, rates per CPU second): snappy 21 bytes/row
// at 2.1 M invoices/s; zstd 10 bytes/row at 1.7 M invoices/s; none
// 75 bytes/row at 2.2 M invoices/s. Snappy costs ~4% of stream speed for a
// 3.5× smaller store; zstd halves the size again at ~20% more read cost and
// is available as Options.Compression for archive-sized stores.
//
// # Ledger
//
// ledger.log is a magic header then frames (u32 length, u32 CRC-32C,
// payload); one AppendActions call is one frame written by one pwrite under
// an exclusive flock on the file and fsynced before the call returns. A torn
// last frame (past the end of the file, or a bad checksum followed only by
// zeros) is ignored by readers and truncated by the next append; a bad frame
// followed by more data is reported as corruption with its offset. Each
// handle keeps the current state in memory and applies new frames on every
// call, so handles in other processes see each other's appends. Conflicts
// are detected by a 64-bit FNV-1a hash of each stored record's encoding.
//
// # Imports
//
// This package imports only data, the standard library and
// github.com/apache/arrow-go/v18. It must not import data/datatest (outside
// tests), data/clickhouse, or any application package.
package parquet
