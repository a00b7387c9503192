package clickhouse

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// Options configure a Store. The zero value is a single-server store with
// the defaults documented on each field.
type Options struct {
	// Logger receives operational messages (never names or amounts).
	// Nil discards them.
	Logger *slog.Logger
	// Cluster, when set, is the name of a cluster in the servers'
	// remote_servers configuration: migrations then create *_local
	// ReplicatedMergeTree tables ON CLUSTER plus Distributed tables sharded
	// by account_hash (see the package documentation, "Cluster mode").
	Cluster string
	// ZooKeeperPath is the prefix of the replicated tables' ZooKeeper paths
	// in cluster mode. Default "/clickhouse/tables".
	ZooKeeperPath string
	// Now is the clock used for lease expiry and commit timestamps.
	// Default time.Now.
	Now func() time.Time
	// LeaseTTL is how long a writer's lease lasts without renewal; an active
	// writer renews it every LeaseTTL/3. A crashed writer blocks new writers
	// (Begin returns Conflict) until its lease expires. Default 60s.
	LeaseTTL time.Duration
	// BlockRows is the number of rows of one table a Writer buffers before
	// handing them to its sender as one block (the server squashes blocks
	// into parts of up to min_insert_block_size_rows). Writer memory is
	// bounded by about 2 × BlockRows rows per table. Default 65536, which
	// measured faster than 262144 (smaller buffers stay in cache).
	BlockRows int
	// MaxStreams bounds the Histories streams running at once (each holds
	// five connections); further streams wait. Default 4.
	MaxStreams int
	// LookupChunk is the number of keys sent per Lookup query (as an
	// external table). Default 100000.
	LookupChunk int
	// DialTimeout bounds connecting to the server and waiting for a pooled
	// connection. Default 10s.
	DialTimeout time.Duration
	// Owner names this process in writer leases (shown in Conflict
	// errors). Default "<hostname>/<pid>/<random>". Begin ignores leases of
	// its own Owner, so a fixed name lets a restarted process write at once
	// instead of waiting for its crashed predecessor's lease to expire —
	// give it only to one process at a time.
	Owner string
	// MustExist opens only a database that exists and holds duesight's
	// schema: Open then fails with data.NotFound instead of creating the
	// database (for readers, which must not leave an empty database
	// behind a typo). Migrations of an older schema still run.
	MustExist bool
	// Settings are extra ClickHouse settings sent with every query, e.g.
	// {"max_bytes_before_external_sort": 1 << 30} for large streams.
	Settings map[string]any
}

var zkPathRE = regexp.MustCompile(`^/[A-Za-z0-9_./{}-]*$`)

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Cluster != "" && !validIdent(o.Cluster) {
		return o, fmt.Errorf("cluster name %q: want letters, digits and underscores", o.Cluster)
	}
	if o.ZooKeeperPath == "" {
		o.ZooKeeperPath = "/clickhouse/tables"
	}
	if !zkPathRE.MatchString(o.ZooKeeperPath) {
		return o, fmt.Errorf("zookeeper path %q: want an absolute path of letters, digits and _./{}-", o.ZooKeeperPath)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 60 * time.Second
	}
	if o.LeaseTTL < 3*time.Second {
		return o, fmt.Errorf("lease TTL %v: want at least 3s (leases are stored at second precision)", o.LeaseTTL)
	}
	if o.BlockRows == 0 {
		o.BlockRows = 1 << 16
	}
	if o.BlockRows < 1 {
		return o, fmt.Errorf("block rows %d: want a positive number", o.BlockRows)
	}
	if o.MaxStreams == 0 {
		o.MaxStreams = 4
	}
	if o.MaxStreams < 1 {
		return o, fmt.Errorf("max streams %d: want a positive number", o.MaxStreams)
	}
	if o.LookupChunk == 0 {
		o.LookupChunk = 100_000
	}
	if o.LookupChunk < 1 {
		return o, fmt.Errorf("lookup chunk %d: want a positive number", o.LookupChunk)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		var r [6]byte
		_, _ = rand.Read(r[:])
		o.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
	}
	return o, nil
}

// parseDSN turns clickhouse://[user[:password]@]host:port[,host:port...]/db[?opts]
// into driver options and the database name ("default" when the path is
// empty). Query options are those of clickhouse-go's ParseDSN (secure,
// compress, dial_timeout, ...).
func parseDSN(dsn string) (*ch.Options, string, error) {
	opt, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("parse DSN: %w (want clickhouse://host:port/database)", err)
	}
	if opt.Protocol != ch.Native {
		return nil, "", fmt.Errorf("parse DSN: only the native protocol (clickhouse://, port 9000) is supported")
	}
	db := opt.Auth.Database
	if db == "" {
		db = "default"
	}
	if !validIdent(db) {
		return nil, "", fmt.Errorf("parse DSN: database name %q: want letters, digits and underscores", db)
	}
	// Connect without a database: it may not exist yet, and every statement
	// names its tables fully qualified.
	opt.Auth.Database = ""
	return opt, db, nil
}
