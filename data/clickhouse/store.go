package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/duesight/duesight/data"
)

// Store is the ClickHouse data.Store. It is safe for concurrent use by many
// readers; one Writer at a time per process (and, through leases, per
// database).
type Store struct {
	conn driver.Conn
	d    ddl
	opt  Options
	log  *slog.Logger
	// streams holds one token per running Histories stream (MaxStreams).
	streams chan struct{}
	closed  atomic.Bool

	mu      sync.Mutex // guards writing
	writing bool       // a Writer of this Store is open

	ledgerMu sync.Mutex // serialises AppendActions' check-then-insert

	// buffers pools Writer column buffers per table, so that consecutive
	// writes reuse their memory (a buffer grows to BlockRows rows).
	buffers map[string]*sync.Pool
}

func (s *Store) getBuffer(table string) buffer { return s.buffers[table].Get().(buffer) }

// putBuffer returns an emptied buffer to the pool.
func (s *Store) putBuffer(b buffer) {
	b.reset()
	s.buffers[b.table()].Put(b)
}

var _ data.Store = (*Store)(nil)

// Open connects to the server named by dsn
// (clickhouse://[user[:password]@]host:port/database), creates the database
// if it is missing (unless Options.MustExist) and applies pending
// migrations. It refuses (Conflict) a
// database migrated by a newer version, and returns Unavailable when the
// server cannot be reached.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opt, err := opts.withDefaults()
	if err != nil {
		return nil, errorf(data.Invalid, err, "clickhouse: options")
	}
	chOpt, db, err := parseDSN(dsn)
	if err != nil {
		return nil, errorf(data.Invalid, err, "clickhouse")
	}
	if chOpt.DialTimeout == 0 {
		chOpt.DialTimeout = opt.DialTimeout
	}
	chOpt.MaxOpenConns = 5*opt.MaxStreams + 8
	chOpt.MaxIdleConns = chOpt.MaxOpenConns
	if len(opt.Settings) > 0 {
		if chOpt.Settings == nil {
			chOpt.Settings = ch.Settings{}
		}
		for k, v := range opt.Settings {
			chOpt.Settings[k] = v
		}
	}
	conn, err := ch.Open(chOpt)
	if err != nil {
		return nil, errorf(data.Invalid, err, "clickhouse: open %s", redact(chOpt))
	}
	s := &Store{
		conn:    conn,
		d:       ddl{DB: db, Cluster: opt.Cluster, ZKPath: opt.ZooKeeperPath},
		opt:     opt,
		log:     opt.Logger.With(slog.String("store", "clickhouse"), slog.String("database", db)),
		streams: make(chan struct{}, opt.MaxStreams),
		buffers: map[string]*sync.Pool{},
	}
	for _, t := range historyTables {
		s.buffers[t] = &sync.Pool{New: func() any { return newBuffer(t, opt.BlockRows) }}
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, errorf(classify(err), err, "clickhouse: cannot reach server at %s", redact(chOpt))
	}
	if v, err := conn.ServerVersion(); err == nil {
		s.log.Info("connected", slog.String("server_version", v.Version.String()), slog.String("cluster", opt.Cluster))
	}
	if err := s.migrate(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

// Database returns the name of the database the store uses.
func (s *Store) Database() string { return s.d.DB }

// insertSettings are the settings every insert needs: in cluster mode
// insert_distributed_sync=1, so that an insert into a Distributed table
// returns only once the rows are stored on their shards (the commit row
// must never overtake them). (The server squashes the blocks of one INSERT
// up to min_insert_block_size_rows — 1,048,576 by default — before writing
// a part, as it does for clickhouse-client; Commit waits for the end of
// every INSERT, so squashed rows are on disk before the commit row.)
func (s *Store) insertSettings() ch.Settings {
	if s.d.Cluster == "" {
		return nil
	}
	return ch.Settings{"insert_distributed_sync": 1}
}

// prepareBatch starts an insert. The driver's context is never
// cancellable: clickhouse-go's Send watchdog can close the connection after
// Send returned it to the pool when the context ends at about the same time
// (ClickHouse/clickhouse-go PR #2032), breaking another query that acquired
// it. Cancellation is honoured before the insert starts; a block in flight
// is bounded by Options.BlockRows and the driver's read timeout.
func (s *Store) prepareBatch(ctx context.Context, query string) (driver.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	if set := s.insertSettings(); set != nil {
		ctx = ch.Context(ctx, ch.WithSettings(set))
	}
	return s.conn.PrepareBatch(ctx, query)
}

// redact names the servers of a connection without credentials.
func redact(o *ch.Options) string { return fmt.Sprint(o.Addr) }

// Close releases the connections. Open Writers and streams fail afterwards.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.conn.Close(); err != nil {
		return errorf(data.Internal, err, "clickhouse: close")
	}
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return errorf(data.Unavailable, nil, "clickhouse: store is closed")
	}
	return nil
}

// errorf builds a *data.Error whose message is the formatted context and
// whose cause is err. (data.Errorf would repeat the cause's text.)
func errorf(code data.Code, err error, format string, args ...any) error {
	return &data.Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// fail wraps a driver error with the operation and a code from classify.
func fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var de *data.Error
	if errors.As(err, &de) {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	return errorf(classify(err), err, "clickhouse: "+format, args...)
}

// transientCodes are server exception codes that mean "try again later":
// TIMEOUT_EXCEEDED, TOO_MANY_SIMULTANEOUS_QUERIES, SOCKET_TIMEOUT,
// NETWORK_ERROR, TOO_MANY_PARTS (insert throttling), MEMORY_LIMIT_EXCEEDED.
var transientCodes = map[int32]bool{159: true, 202: true, 209: true, 210: true, 252: true, 241: true}

// classify maps driver and network errors to data codes: the server or
// the network being unreachable, a cancelled context, an exhausted pool
// and transient server exceptions are Unavailable; other server
// exceptions and everything else are Internal.
func classify(err error) data.Code {
	var ex *ch.Exception
	var ne net.Error
	switch {
	case errors.As(err, &ex) && transientCodes[ex.Code]:
		return data.Unavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ch.ErrAcquireConnTimeout), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return data.Unavailable
	case errors.As(err, &ex):
		return data.Internal
	case errors.As(err, &ne):
		return data.Unavailable
	}
	return data.Internal
}

// SchemaVersion returns the highest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	v, err := s.appliedVersion(ctx)
	if err != nil {
		return 0, err
	}
	return v, nil
}

// snapshot is the set of commits a read sees: every commit with seq ≤ S.
type snapshot uint64

// snapshot takes the current snapshot: the highest committed seq.
func (s *Store) snapshot(ctx context.Context) (snapshot, error) {
	var seq uint64
	q := "SELECT max(seq) FROM " + s.d.table("commits")
	if err := s.conn.QueryRow(ctx, q).Scan(&seq); err != nil {
		return 0, fail(err, "read commit snapshot")
	}
	return snapshot(seq), nil
}

// filter is the WHERE condition that restricts a table to the rows of
// committed writes in the snapshot. (Seqs are never reused, so a write
// that is not in commits — rolled back, crashed, or in progress — stays
// invisible.)
func (s *Store) filter(snap snapshot) string {
	return "seq " + s.d.in() + " (SELECT seq FROM " + s.d.table("commits") + " WHERE seq <= " +
		strconv.FormatUint(uint64(snap), 10) + ")"
}

// Count returns the number of committed rows per kind, counting each id of
// a versioned kind once.
func (s *Store) Count(ctx context.Context) (data.Counts, error) {
	var c data.Counts
	if err := s.check(); err != nil {
		return c, err
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return c, err
	}
	for _, k := range []struct {
		table, expr string
		dst         *int
	}{
		{"accounts", "uniqExact(account_id)", &c.Accounts},
		{"invoices", "count()", &c.Invoices},
		{"payments", "count()", &c.Payments},
		{"contacts", "uniqExact(id)", &c.Contacts},
		{"disputes", "uniqExact(id)", &c.Disputes},
	} {
		var n uint64
		q := "SELECT " + k.expr + " FROM " + s.d.table(k.table) + " WHERE " + s.filter(snap)
		if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return c, fail(err, "count %s", k.table)
		}
		*k.dst = int(n)
	}
	return c, nil
}
