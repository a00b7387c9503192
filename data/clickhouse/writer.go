package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/duesight/duesight/data"
)

// Lease states in the writers table. Codes are persisted; never renumber.
const (
	leaseActive    uint8 = 1 // the writer is writing
	leaseCommitted uint8 = 2 // the writer committed (its seq is in commits)
	leaseReleased  uint8 = 3 // rolled back, lost, or gave up at Begin
	leaseVacuumed  uint8 = 4 // Vacuum deleted the seq's rows
)

// lease is the current state of one (seq, owner) in the writers table.
type lease struct {
	seq     uint64
	owner   string
	state   uint8
	expires int64 // Unix seconds
}

// leases reads the current state of every lease whose latest row is newer
// than since (Unix seconds; 0 = all), i.e. the row with the highest beat of
// each (seq, owner).
func (s *Store) leases(ctx context.Context, since int64) ([]lease, error) {
	t := s.d.table("writers")
	q := "SELECT seq, owner, argMax(state, beat), toUInt32(argMax(expires_at, beat)) FROM " + t
	if since > 0 {
		q += " WHERE seq " + s.d.in() + " (SELECT seq FROM " + t + " WHERE expires_at > toDateTime(" +
			strconv.FormatInt(since, 10) + "))"
	}
	q += " GROUP BY seq, owner ORDER BY seq, owner"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fail(err, "read writer leases")
	}
	defer rows.Close()
	var out []lease
	for rows.Next() {
		var l lease
		var exp uint32
		if err := rows.Scan(&l.seq, &l.owner, &l.state, &exp); err != nil {
			return nil, fail(err, "read writer leases")
		}
		l.expires = int64(exp)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err, "read writer leases")
	}
	return out, nil
}

// maxSeq returns the highest seq ever handed out (0 if none).
func (s *Store) maxSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	if err := s.conn.QueryRow(ctx, "SELECT max(seq) FROM "+s.d.table("writers")).Scan(&seq); err != nil {
		return 0, fail(err, "read writer sequence")
	}
	return seq, nil
}

// putLease appends a lease state row.
func (s *Store) putLease(ctx context.Context, seq uint64, state uint8, beat uint32, expires time.Time) error {
	b, err := s.prepareBatch(ctx, "INSERT INTO "+s.d.table("writers")+" (seq, owner, state, beat, expires_at, at)")
	if err != nil {
		return fail(err, "write lease")
	}
	if err := b.Append(seq, s.opt.Owner, state, beat, expires.Unix(), s.opt.Now().Unix()); err != nil {
		_ = b.Abort()
		return fail(err, "write lease")
	}
	if err := b.Send(); err != nil {
		return fail(err, "write lease")
	}
	return nil
}

// otherWriter returns an active, unexpired lease held by another owner, or
// another owner's lease on seq (any state).
func otherWriter(ls []lease, owner string, seq uint64, now int64) (lease, bool) {
	for _, l := range ls {
		if l.owner == owner {
			continue
		}
		if (l.state == leaseActive && l.expires > now) || (seq != 0 && l.seq == seq) {
			return l, true
		}
	}
	return lease{}, false
}

// Begin starts an all-or-nothing write. Within this Store a second open
// Writer gets Conflict. Across processes, Begin takes a lease in the
// writers table (see the package documentation, "Writers"): it returns
// Conflict while another process holds an unexpired lease.
func (s *Store) Begin(ctx context.Context) (data.Writer, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.writing {
		s.mu.Unlock()
		return nil, errorf(data.Conflict, nil, "clickhouse: another write is in progress in this process")
	}
	s.writing = true
	s.mu.Unlock()
	w, err := s.begin(ctx)
	if err != nil {
		s.endWrite()
		return nil, err
	}
	return w, nil
}

func (s *Store) endWrite() {
	s.mu.Lock()
	s.writing = false
	s.mu.Unlock()
}

func (s *Store) begin(ctx context.Context) (*writer, error) {
	now := s.opt.Now()
	ls, err := s.leases(ctx, now.Unix())
	if err != nil {
		return nil, err
	}
	if l, busy := otherWriter(ls, s.opt.Owner, 0, now.Unix()); busy {
		return nil, errorf(data.Conflict, nil, "clickhouse: writer %s holds the write lease (seq %d) until %s",
			l.owner, l.seq, time.Unix(l.expires, 0).UTC().Format(time.RFC3339))
	}
	last, err := s.maxSeq(ctx)
	if err != nil {
		return nil, err
	}
	seq := last + 1
	expires := now.Add(s.opt.LeaseTTL)
	if err := s.putLease(ctx, seq, leaseActive, 1, expires); err != nil {
		return nil, err
	}
	// Double check: a writer that took a lease between our read and our
	// insert is visible now. Whoever checks second sees the other and
	// backs off, so at most one proceeds (both may back off).
	ls, err = s.leases(ctx, now.Unix())
	if err == nil {
		if l, busy := otherWriter(ls, s.opt.Owner, seq, now.Unix()); busy {
			err = errorf(data.Conflict, nil, "clickhouse: writer %s took the write lease (seq %d) concurrently", l.owner, l.seq)
		}
	}
	if err != nil {
		if rerr := s.putLease(context.WithoutCancel(ctx), seq, leaseReleased, 2, now); rerr != nil {
			s.log.Warn("release lease after failed begin", slog.Uint64("seq", seq), slog.Any("error", rerr))
		}
		return nil, err
	}
	w := &writer{s: s, seq: seq, expires: expires, beat: 1, stop: make(chan struct{}), stopped: make(chan struct{}),
		flushed: map[string]bool{}}
	w.acc, w.inv, w.pay = s.getBuffer("accounts").(*accountBuf), s.getBuffer("invoices").(*invoiceBuf), s.getBuffer("payments").(*paymentBuf)
	w.con, w.dis = s.getBuffer("contacts").(*contactBuf), s.getBuffer("disputes").(*disputeBuf)
	w.startSender()
	go w.heartbeat()
	s.log.Debug("write begun", slog.Uint64("seq", seq))
	return w, nil
}

// writer is an open write. Write, Commit and Rollback are called by one
// goroutine; the heartbeat goroutine shares only the fields under mu.
type writer struct {
	s   *Store
	seq uint64

	// The buffers being filled. A full buffer is handed to the sender
	// goroutine and replaced by the table's spare, so that filling the next
	// block overlaps with sending the previous one (two buffers per table).
	acc *accountBuf
	inv *invoiceBuf
	pay *paymentBuf
	con *contactBuf
	dis *disputeBuf

	rows     uint64          // rows handed to the sender
	flushed  map[string]bool // tables that were handed rows (for Rollback)
	broken   error           // a hand-off was interrupted: only Rollback remains
	recycled bool            // the buffers went back to the store's pool
	done     bool

	// Sender goroutine: sends jobs in order with sendCtx, returns each sent
	// buffer (reset) to spare[table], records the first error in sendErr
	// (then skips the remaining jobs) and closes sent when jobs is closed.
	sendCtx    context.Context
	sendCancel context.CancelFunc
	jobs       chan buffer
	spare      map[string]chan buffer
	sent       chan struct{}
	closeJobs  sync.Once
	sendMu     sync.Mutex // guards sendErr
	sendErr    error

	stop, stopped chan struct{}
	stopOnce      sync.Once
	mu            sync.Mutex // guards beat, expires, leaseErr
	beat          uint32
	expires       time.Time
	leaseErr      error // set when the lease could not be renewed before it expired
}

// heartbeat renews the lease every LeaseTTL/3 until stop is closed.
func (w *writer) heartbeat() {
	defer close(w.stopped)
	t := time.NewTicker(w.s.opt.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		now := w.s.opt.Now()
		w.mu.Lock()
		beat, expires := w.beat+1, now.Add(w.s.opt.LeaseTTL)
		w.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), w.s.opt.LeaseTTL/3)
		err := w.s.putLease(ctx, w.seq, leaseActive, beat, expires)
		cancel()
		w.mu.Lock()
		if err == nil {
			w.beat, w.expires = beat, expires
		} else if !now.Before(w.expires) && w.leaseErr == nil {
			w.leaseErr = errorf(data.Conflict, err, "clickhouse: write lease of seq %d expired (renewal failed)", w.seq)
		}
		w.mu.Unlock()
		if err != nil {
			w.s.log.Warn("renew write lease", slog.Uint64("seq", w.seq), slog.Any("error", err))
		}
	}
}

func (w *writer) stopHeartbeat() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.stopped
}

// leaseState returns the lease's expiry and the renewal error, if any.
func (w *writer) leaseState() (time.Time, uint32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expires, w.beat, w.leaseErr
}

// Write buffers b's rows, tagged with the writer's seq, and hands every
// table buffer that reaches BlockRows rows to the sender (waiting while the
// sender is still busy with that table's previous block). A row
// that cannot be stored (a date or instant outside the stored range) fails
// the call with a *data.ValidationError naming it; rows of that call may
// have been buffered, so the caller should Rollback.
func (w *writer) Write(ctx context.Context, b *data.Batch) error {
	if w.done {
		return errorf(data.Invalid, nil, "clickhouse: write after commit or rollback")
	}
	if err := w.s.check(); err != nil {
		return err
	}
	if _, _, err := w.leaseState(); err != nil {
		return err
	}
	if w.broken != nil {
		return w.broken
	}
	for i := range b.Accounts {
		if err := w.acc.add(i, &b.Accounts[i], w.seq); err != nil {
			return err
		}
		if err := rotate(ctx, w, &w.acc); err != nil {
			return err
		}
	}
	for i := range b.Invoices {
		if err := w.inv.add(i, &b.Invoices[i], w.seq); err != nil {
			return err
		}
		if err := rotate(ctx, w, &w.inv); err != nil {
			return err
		}
	}
	for i := range b.Payments {
		if err := w.pay.add(i, &b.Payments[i], w.seq); err != nil {
			return err
		}
		if err := rotate(ctx, w, &w.pay); err != nil {
			return err
		}
	}
	for i := range b.Contacts {
		if err := w.con.add(i, &b.Contacts[i], w.seq); err != nil {
			return err
		}
		if err := rotate(ctx, w, &w.con); err != nil {
			return err
		}
	}
	for i := range b.Disputes {
		if err := w.dis.add(i, &b.Disputes[i], w.seq); err != nil {
			return err
		}
		if err := rotate(ctx, w, &w.dis); err != nil {
			return err
		}
	}
	return nil
}

// rotate hands a full buffer to the sender and replaces it with the
// table's spare.
func rotate[P buffer](ctx context.Context, w *writer, p *P) error {
	if (*p).len() < w.s.opt.BlockRows {
		return nil
	}
	nb, err := w.handOff(ctx, *p)
	if err != nil {
		return err
	}
	*p = nb.(P)
	return nil
}

// insertIdle is how long the sender keeps an INSERT open without a new
// block before finishing it; well below the server's receive_timeout
// (300s by default), after which it would abort the INSERT.
const insertIdle = 20 * time.Second

func (w *writer) startSender() {
	w.sendCtx, w.sendCancel = context.WithCancel(context.Background())
	w.jobs = make(chan buffer)
	w.sent = make(chan struct{})
	w.spare = map[string]chan buffer{}
	for _, t := range historyTables {
		// Room for both buffers of the table: the sender never blocks
		// returning one, even if an interrupted hand-off left the other.
		w.spare[t] = make(chan buffer, 2)
		w.spare[t] <- w.s.getBuffer(t)
	}
	go w.send()
}

// send is the sender goroutine. It keeps one INSERT per table open and
// sends each block into it with Flush (so the driver reuses its column
// memory and a write costs one INSERT per table, like clickhouse-client
// streaming a file), finishes the INSERTs when jobs is closed (waiting for
// the server to acknowledge every block) or after insertIdle without a
// block, and aborts them if the write is abandoned.
func (w *writer) send() {
	defer close(w.sent)
	open := map[string]driver.Batch{}
	finish := func() {
		for _, t := range slices.Sorted(maps.Keys(open)) {
			if w.senderErr() == nil && w.sendCtx.Err() == nil {
				w.setSendErr(fail(open[t].Send(), "finish insert into %s", t))
			} else {
				_ = open[t].Abort()
			}
			delete(open, t)
		}
	}
	defer finish()
	idle := time.NewTimer(insertIdle)
	defer idle.Stop()
	for {
		var b buffer
		select {
		case job, ok := <-w.jobs:
			if !ok {
				return
			}
			b = job
		case <-idle.C:
			finish()
			continue
		}
		if w.sendCtx.Err() != nil {
			w.setSendErr(errorf(data.Unavailable, w.sendCtx.Err(), "clickhouse: write abandoned"))
		}
		if w.senderErr() == nil {
			t, n := b.table(), b.len()
			batch, ok := open[t]
			var err error
			if !ok {
				if batch, err = w.s.prepareBatch(w.sendCtx, insertSQL(w.s.d.table(t), b)); err != nil {
					err = fail(err, "prepare insert into %s", t)
				} else {
					open[t] = batch
				}
			}
			if err == nil {
				err = appendColumns(batch, b)
			}
			if err == nil {
				err = fail(batch.Flush(), "insert into %s", t)
			}
			if err != nil {
				w.setSendErr(fmt.Errorf("write %d %s rows: %w", n, t, err))
			}
		}
		b.reset()
		w.spare[b.table()] <- b
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(insertIdle)
	}
}

// appendColumns copies a buffer's columns into an insert batch.
func appendColumns(batch driver.Batch, b buffer) error {
	for i, v := range b.values() {
		if err := batch.Column(i).Append(v); err != nil {
			return fail(err, "insert into %s: column %s", b.table(), b.columns()[i])
		}
	}
	return nil
}

func (w *writer) setSendErr(err error) {
	if err == nil {
		return
	}
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if w.sendErr == nil {
		w.sendErr = err
	}
}

func (w *writer) senderErr() error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	return w.sendErr
}

// handOff queues b for sending (waiting while the sender is busy with the
// previous block) and returns the table's spare buffer.
func (w *writer) handOff(ctx context.Context, b buffer) (buffer, error) {
	if err := w.senderErr(); err != nil {
		return nil, err
	}
	// Mark before sending: a failed send may still have stored rows.
	w.flushed[b.table()] = true
	w.rows += uint64(b.len())
	select {
	case w.jobs <- b:
	case <-ctx.Done():
		w.broken = errorf(data.Unavailable, ctx.Err(), "clickhouse: write interrupted")
		return nil, w.broken
	}
	select {
	case nb := <-w.spare[b.table()]:
		return nb, nil
	case <-ctx.Done():
		w.broken = errorf(data.Unavailable, ctx.Err(), "clickhouse: write interrupted")
		return nil, w.broken
	}
}

// drain sends the partly filled buffers and waits for the sender to
// finish every INSERT.
func (w *writer) drain(ctx context.Context) error {
	if err := handOffAll(ctx, w, &w.acc); err != nil {
		return err
	}
	if err := handOffAll(ctx, w, &w.inv); err != nil {
		return err
	}
	if err := handOffAll(ctx, w, &w.pay); err != nil {
		return err
	}
	if err := handOffAll(ctx, w, &w.con); err != nil {
		return err
	}
	if err := handOffAll(ctx, w, &w.dis); err != nil {
		return err
	}
	w.closeJobs.Do(func() { close(w.jobs) })
	select {
	case <-w.sent:
	case <-ctx.Done():
		w.broken = errorf(data.Unavailable, ctx.Err(), "clickhouse: write interrupted")
		return w.broken
	}
	return w.senderErr()
}

// handOffAll hands a non-empty buffer to the sender whatever its size.
func handOffAll[P buffer](ctx context.Context, w *writer, p *P) error {
	if (*p).len() == 0 {
		return nil
	}
	nb, err := w.handOff(ctx, *p)
	if err != nil {
		return err
	}
	*p = nb.(P)
	return nil
}

// recycle returns the writer's buffers to the store's pool once the sender
// has exited.
func (w *writer) recycle() {
	if w.recycled {
		return
	}
	w.recycled = true
	seen := map[buffer]bool{}
	put := func(b buffer) {
		if b != nil && !seen[b] {
			seen[b] = true
			w.s.putBuffer(b)
		}
	}
	for _, b := range []buffer{w.acc, w.inv, w.pay, w.con, w.dis} {
		put(b)
	}
	for _, ch := range w.spare {
		for len(ch) > 0 {
			put(<-ch)
		}
	}
}

// stopSender lets the sender finish the block it is sending, ends the
// open INSERTs cleanly (so that the server has stored every block it
// received before a rollback mutation is created) and waits for it to
// exit. Buffers not yet handed over are dropped.
func (w *writer) stopSender() {
	w.closeJobs.Do(func() { close(w.jobs) })
	<-w.sent
	w.sendCancel()
}

// Commit sends the buffered rows, checks that the lease is still held and
// that no later write committed, then inserts the commit row that makes
// every row of the write visible at once.
func (w *writer) Commit(ctx context.Context) error {
	if w.done {
		return errorf(data.Invalid, nil, "clickhouse: commit after commit or rollback")
	}
	if err := w.s.check(); err != nil {
		return err
	}
	if w.broken != nil {
		return w.broken
	}
	if err := w.drain(ctx); err != nil {
		return err // the caller's Rollback cleans up
	}
	w.recycle() // the sender has exited
	w.sendCancel()
	w.stopHeartbeat()
	if err := w.verifyLease(ctx); err != nil {
		return err
	}
	s := w.s
	w.done = true
	defer s.endWrite()
	now := s.opt.Now()
	b, err := s.prepareBatch(ctx, "INSERT INTO "+s.d.table("commits")+" (seq, committed_at, owner, rows)")
	if err == nil {
		if err = b.Append(w.seq, now.Unix(), s.opt.Owner, w.rows); err != nil {
			_ = b.Abort()
		} else {
			err = b.Send()
		}
	}
	if err != nil {
		// The commit row may or may not have been stored: do not delete
		// anything; Vacuum only removes seqs that never reached commits.
		w.releaseLease(now)
		return errorf(classify(err), err, "clickhouse: commit seq %d: outcome unknown, check before retrying", w.seq)
	}
	_, beat, _ := w.leaseState()
	if err := s.putLease(context.WithoutCancel(ctx), w.seq, leaseCommitted, beat+1, now); err != nil {
		s.log.Warn("mark lease committed", slog.Uint64("seq", w.seq), slog.Any("error", err))
	}
	s.log.Info("committed", slog.Uint64("seq", w.seq), slog.Uint64("rows", w.rows))
	return nil
}

// verifyLease fails with Conflict when the lease expired or another writer
// committed or holds a lease since (this writer's rows stay invisible).
func (w *writer) verifyLease(ctx context.Context) error {
	s := w.s
	expires, _, err := w.leaseState()
	if err != nil {
		return err
	}
	now := s.opt.Now()
	if !now.Before(expires) {
		return errorf(data.Conflict, nil, "clickhouse: write lease of seq %d expired at %s", w.seq, expires.UTC().Format(time.RFC3339))
	}
	last, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	if uint64(last) >= w.seq {
		return errorf(data.Conflict, nil, "clickhouse: seq %d committed after this write (seq %d) began", last, w.seq)
	}
	ls, err := s.leases(ctx, now.Unix())
	if err != nil {
		return err
	}
	// Only active leases count here: a writer that backed off at Begin
	// after taking this seq concurrently left a released lease on it but
	// wrote nothing.
	if l, busy := otherWriter(ls, s.opt.Owner, 0, now.Unix()); busy {
		return errorf(data.Conflict, nil, "clickhouse: writer %s holds the write lease (seq %d)", l.owner, l.seq)
	}
	return nil
}

// releaseLease records that this writer gave up its seq.
func (w *writer) releaseLease(now time.Time) {
	_, beat, _ := w.leaseState()
	ctx, cancel := context.WithTimeout(context.Background(), w.s.opt.DialTimeout)
	defer cancel()
	if err := w.s.putLease(ctx, w.seq, leaseReleased, beat+1, now); err != nil {
		w.s.log.Warn("release write lease", slog.Uint64("seq", w.seq), slog.Any("error", err))
	}
}

// Rollback discards the write: buffered rows are dropped, the block being
// sent is finished and the open INSERTs are ended (so that the server has
// stored what it received), the lease is released and the rows sent are
// deleted with one ALTER TABLE … DELETE mutation per table that received
// any. They are invisible either way (their seq never reaches commits);
// rows that escape the mutation — after a failed send — are left to
// Vacuum. A no-op after Commit or Rollback.
func (w *writer) Rollback() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.s.endWrite()
	w.stopHeartbeat()
	w.stopSender()
	w.recycle()
	if w.s.closed.Load() {
		return nil // the lease expires; Vacuum removes the rows
	}
	now := w.s.opt.Now()
	var errs []string
	ctx, cancel := context.WithTimeout(context.Background(), w.s.opt.DialTimeout)
	defer cancel()
	for _, t := range slices.Sorted(maps.Keys(w.flushed)) {
		if err := w.s.deleteSeqs(ctx, t, []uint64{w.seq}); err != nil {
			errs = append(errs, err.Error())
		}
	}
	w.releaseLease(now)
	w.s.log.Info("rolled back", slog.Uint64("seq", w.seq), slog.Uint64("rows_sent", w.rows))
	if len(errs) > 0 {
		// The rows stay invisible; report the failed cleanup.
		return errorf(data.Unavailable, nil, "clickhouse: rollback of seq %d: delete sent rows: %s", w.seq, strings.Join(errs, "; "))
	}
	return nil
}

// deleteSeqs removes the rows of the given seqs from a table with an
// asynchronous mutation (ALTER TABLE … DELETE, rewritten parts in the
// background).
func (s *Store) deleteSeqs(ctx context.Context, table string, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	list := make([]string, len(seqs))
	for i, q := range seqs {
		list[i] = strconv.FormatUint(q, 10)
	}
	q := "ALTER TABLE " + s.d.local(table) + s.d.on() + " DELETE WHERE seq IN (" + strings.Join(list, ", ") + ")"
	if err := s.conn.Exec(ctx, q); err != nil {
		return fail(err, "delete uncommitted rows from %s", table)
	}
	return nil
}

// Vacuum deletes the rows of writes that can never commit — rolled back,
// or whose writer crashed and whose lease expired — from every history
// table (one ALTER TABLE … DELETE mutation per table; ClickHouse rewrites
// the affected parts in the background). Those rows are invisible to
// readers either way; Vacuum only reclaims space. It returns the seqs it
// removed.
func (s *Store) Vacuum(ctx context.Context) ([]uint64, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ls, err := s.leases(ctx, 0)
	if err != nil {
		return nil, err
	}
	committed := map[uint64]bool{}
	rows, err := s.conn.Query(ctx, "SELECT seq FROM "+s.d.table("commits"))
	if err != nil {
		return nil, fail(err, "read commits")
	}
	for rows.Next() {
		var q uint64
		if err := rows.Scan(&q); err != nil {
			rows.Close()
			return nil, fail(err, "read commits")
		}
		committed[q] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fail(err, "read commits")
	}
	now := s.opt.Now().Unix()
	keep := map[uint64]bool{}
	for _, l := range ls {
		if committed[l.seq] || l.state == leaseVacuumed || l.state == leaseCommitted || (l.state == leaseActive && l.expires > now) {
			keep[l.seq] = true
		}
	}
	var dead []uint64
	for _, l := range ls {
		if !keep[l.seq] && (len(dead) == 0 || dead[len(dead)-1] != l.seq) {
			dead = append(dead, l.seq)
		}
	}
	if len(dead) == 0 {
		return nil, nil
	}
	for _, t := range historyTables {
		if err := s.deleteSeqs(ctx, t, dead); err != nil {
			return nil, err
		}
	}
	expires := time.Unix(now, 0)
	for _, q := range dead {
		if err := s.putLease(ctx, q, leaseVacuumed, 1<<31, expires); err != nil {
			return nil, err
		}
	}
	s.log.Info("vacuumed", slog.Int("writes", len(dead)))
	return dead, nil
}

// historyTables are the tables whose rows carry a commit seq.
var historyTables = []string{"accounts", "invoices", "payments", "contacts", "disputes"}
