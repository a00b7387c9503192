package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/clickhouse"
	"github.com/duesight/duesight/data/datatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	testDSN(t)
	datatest.Run(t, datatest.Harness{
		Open: func(t *testing.T) data.Store {
			return mustOpen(t, freshDB(t), clickhouse.Options{})
		},
		Reopen: func(t *testing.T, s data.Store) data.Store {
			db := s.(*clickhouse.Store).Database()
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return mustOpen(t, withDatabase(t, testDSN(t), db), clickhouse.Options{})
		},
	})
}

// TestConformanceSmallBlocks runs the suite with small blocks, lookup chunks
// and one stream slot: every write spans many pipelined insert blocks,
// every Lookup many chunks, and concurrent streams queue for the slot.
func TestConformanceSmallBlocks(t *testing.T) {
	testDSN(t)
	t.Parallel()
	opt := clickhouse.Options{BlockRows: 100, LookupChunk: 4000, MaxStreams: 1}
	datatest.Run(t, datatest.Harness{
		Open: func(t *testing.T) data.Store {
			return mustOpen(t, freshDB(t), opt)
		},
		Reopen: func(t *testing.T, s data.Store) data.Store {
			db := s.(*clickhouse.Store).Database()
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return mustOpen(t, withDatabase(t, testDSN(t), db), opt)
		},
	})
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := mustOpen(t, dsn, clickhouse.Options{})
	b := datatest.Sample(datatest.SampleOptions{Seed: 21, Accounts: 12})
	if err := data.Append(ctx, s, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dsn, clickhouse.Options{})
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != clickhouse.LatestVersion() {
		t.Fatalf("SchemaVersion after second open = %d, %v; want %d", v, err, clickhouse.LatestVersion())
	}
	var n uint64
	conn := rawConn(t)
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+s.Database()+".schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int(n) != clickhouse.LatestVersion() {
		t.Fatalf("schema_migrations holds %d rows after two opens; want %d (one per migration)", n, clickhouse.LatestVersion())
	}
	got, _ := datatest.Collect(t, s, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(b), got); d != "" {
		t.Fatalf("data after second open: %s", d)
	}
}

func TestLatestVersionMatchesDataSchema(t *testing.T) {
	if clickhouse.LatestVersion() != data.SchemaVersion {
		t.Fatalf("LatestVersion = %d, data.SchemaVersion = %d: a data schema change needs a migration (and vice versa)",
			clickhouse.LatestVersion(), data.SchemaVersion)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := mustOpen(t, dsn, clickhouse.Options{})
	db := s.Database()
	_ = s.Close()
	conn := rawConn(t)
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".schema_migrations (version, name, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	newer := uint32(clickhouse.LatestVersion() + 1)
	if err := b.Append(newer, "9999_from_the_future", time.Unix(1.7e9, 0)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	_, err = clickhouse.Open(ctx, dsn, clickhouse.Options{})
	if data.ErrorCode(err) != data.Conflict {
		t.Fatalf("Open of a newer database: err = %v (code %q); want Conflict", err, data.ErrorCode(err))
	}
	if !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), db) {
		t.Fatalf("error %q should name the database and say its schema is newer", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tests := []struct {
		name, dsn string
		opt       clickhouse.Options
		code      data.Code
		contains  string
	}{
		// Port 1 on loopback is closed: the dial is refused at once.
		{"unreachable", "clickhouse://127.0.0.1:1/db", clickhouse.Options{}, data.Unavailable, "cannot reach server at [127.0.0.1:1]"},
		{"bad database name", "clickhouse://127.0.0.1:1/no-such;db", clickhouse.Options{}, data.Invalid, "database name"},
		{"http protocol", "http://127.0.0.1:8123/db", clickhouse.Options{}, data.Invalid, "native protocol"},
		{"not a url", "::", clickhouse.Options{}, data.Invalid, "parse DSN"},
		{"bad cluster", "clickhouse://127.0.0.1:1/db", clickhouse.Options{Cluster: "a b"}, data.Invalid, "cluster name"},
		{"short lease", "clickhouse://127.0.0.1:1/db", clickhouse.Options{LeaseTTL: time.Second}, data.Invalid, "lease TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := clickhouse.Open(ctx, tc.dsn, tc.opt)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if data.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err = %q (code %q); want code %q containing %q", err, data.ErrorCode(err), tc.code, tc.contains)
			}
		})
	}
}

func TestClosedStore(t *testing.T) {
	s := mustOpen(t, freshDB(t), clickhouse.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Count(ctx); data.ErrorCode(err) != data.Unavailable {
		t.Fatalf("Count on a closed store: %v; want Unavailable", err)
	}
	if _, err := s.Begin(ctx); data.ErrorCode(err) != data.Unavailable {
		t.Fatalf("Begin on a closed store: %v; want Unavailable", err)
	}
	for _, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if data.ErrorCode(err) != data.Unavailable {
			t.Fatalf("Histories on a closed store: %v; want Unavailable", err)
		}
		break
	}
}

func TestWriteRejectsUnstorableRows(t *testing.T) {
	s := mustOpen(t, freshDB(t), clickhouse.Options{})
	ctx := context.Background()
	acc := datatest.Sample(datatest.SampleOptions{Seed: 1, Accounts: 1}).Accounts[0]
	inv := data.Invoice{ID: "i1", AccountID: acc.ID, IssueDate: data.NewDate(2024, 1, 1), DueDate: data.NewDate(2024, 2, 1),
		Amount: 100, Currency: acc.Currency}
	tests := []struct {
		name  string
		batch data.Batch
		kind  data.Kind
		field string
	}{
		{"date after MaxDate", data.Batch{Invoices: []data.Invoice{func() data.Invoice {
			i := inv
			i.DueDate = data.MaxDate + 1
			return i
		}()}}, data.KindInvoice, "due_date"},
		{"negative date", data.Batch{Payments: []data.Payment{{ID: "p", AccountID: acc.ID, Date: -3, Amount: 1, Currency: "EUR"}}},
			data.KindPayment, "date"},
		{"instant before 1970", data.Batch{Contacts: []data.Contact{{ID: "c", AccountID: acc.ID, Channel: data.Email,
			SentAt: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}}}, data.KindContact, "sent_at"},
		{"instant after MaxTime", data.Batch{Accounts: []data.Account{func() data.Account {
			a := acc
			a.CreatedAt = data.MaxTime.Add(time.Second)
			return a
		}()}}, data.KindAccount, "created_at"},
		{"resolution after MaxDate", data.Batch{Disputes: []data.Dispute{{ID: "d", AccountID: acc.ID, InvoiceID: "i1",
			OpenedOn: data.MaxDate, ResolvedOn: data.MaxDate + 5}}}, data.KindDispute, "resolved_on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := s.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Rollback()
			err = w.Write(ctx, &tc.batch)
			var ve *data.ValidationError
			if !errors.As(err, &ve) || len(ve.Issues) != 1 || ve.Issues[0].Kind != tc.kind || ve.Issues[0].Field != tc.field {
				t.Fatalf("Write error = %v; want one %s issue on %s", err, tc.kind, tc.field)
			}
			if data.ErrorCode(err) != data.Invalid {
				t.Fatalf("code %q; want invalid", data.ErrorCode(err))
			}
		})
	}
}

func TestLookupChunksAndVersions(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, freshDB(t), clickhouse.Options{LookupChunk: 3})
	b := datatest.Sample(datatest.SampleOptions{Seed: 51, Accounts: 8})
	if err := data.Append(ctx, s, b); err != nil {
		t.Fatal(err)
	}
	acc, con, dis := b.Accounts[2], b.Contacts[1], b.Disputes[0]
	acc.Segment, con.Outcome, dis.Reason = "renamed", data.OutcomeReplied, "resolved by phone"
	con.PromisedDate, con.PromisedAmount = 0, 0
	upd := &data.Batch{Accounts: []data.Account{acc}, Contacts: []data.Contact{con}, Disputes: []data.Dispute{dis}}
	if err := data.Append(ctx, s, upd); err != nil {
		t.Fatal(err)
	}
	var keys data.Keys
	var want data.Batch
	for _, h := range datatest.Group(b, upd) {
		keys.Accounts = append(keys.Accounts, h.Account.ID)
		want.Accounts = append(want.Accounts, h.Account)
		for _, r := range h.Invoices {
			keys.Invoices = append(keys.Invoices, r.ID)
			keys.PaymentsOfInvoices = append(keys.PaymentsOfInvoices, r.ID)
		}
		want.Invoices = append(want.Invoices, h.Invoices...)
		for _, r := range h.Payments {
			keys.Payments = append(keys.Payments, r.ID) // also reached through its invoice
		}
		want.Payments = append(want.Payments, h.Payments...)
		for _, r := range h.Contacts {
			keys.Contacts = append(keys.Contacts, r.ID)
		}
		want.Contacts = append(want.Contacts, h.Contacts...)
		for _, r := range h.Disputes {
			keys.Disputes = append(keys.Disputes, r.ID)
		}
		want.Disputes = append(want.Disputes, h.Disputes...)
	}
	keys.Invoices = append(keys.Invoices, keys.Invoices[0], "missing") // repeats and misses are harmless
	got, err := s.Lookup(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if got.Counts() != want.Counts() {
		t.Fatalf("Lookup counts %+v; want %+v", got.Counts(), want.Counts())
	}
	byID := func(w, g *data.Batch) string {
		gotAcc := map[string]data.Account{}
		for _, r := range g.Accounts {
			gotAcc[r.ID] = r
		}
		for _, r := range w.Accounts {
			if !gotAcc[r.ID].Equal(r) {
				return fmt.Sprintf("account %s: got %+v want %+v", r.ID, gotAcc[r.ID], r)
			}
		}
		gotCon := map[string]data.Contact{}
		for _, r := range g.Contacts {
			gotCon[r.ID] = r
		}
		for _, r := range w.Contacts {
			if !gotCon[r.ID].Equal(r) {
				return fmt.Sprintf("contact %s: got %+v want %+v", r.ID, gotCon[r.ID], r)
			}
		}
		gotDis := map[string]data.Dispute{}
		for _, r := range g.Disputes {
			gotDis[r.ID] = r
		}
		for _, r := range w.Disputes {
			if gotDis[r.ID] != r {
				return fmt.Sprintf("dispute %s: got %+v want %+v", r.ID, gotDis[r.ID], r)
			}
		}
		gotPay := map[string]data.Payment{}
		for _, r := range g.Payments {
			gotPay[r.ID] = r
		}
		for _, r := range w.Payments {
			if gotPay[r.ID] != r {
				return fmt.Sprintf("payment %s: got %+v want %+v", r.ID, gotPay[r.ID], r)
			}
		}
		return ""
	}
	if d := byID(&want, got); d != "" {
		t.Fatal(d)
	}
}

// proxy forwards TCP connections to a server until stop closes everything.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(u, c); _ = u.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, u); _ = c.Close() })
		}
	})
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestServerGoneIsUnavailable(t *testing.T) {
	dsn := freshDB(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	ctx := context.Background()
	s := mustOpen(t, u.String(), clickhouse.Options{DialTimeout: 2 * time.Second})
	b := datatest.Sample(datatest.SampleOptions{Seed: 52, Accounts: 5})
	if err := data.Append(ctx, s, b); err != nil {
		t.Fatal(err)
	}
	p.stop()
	if _, err := s.Count(ctx); data.ErrorCode(err) != data.Unavailable {
		t.Fatalf("Count with the server gone: %v (code %q); want Unavailable", err, data.ErrorCode(err))
	}
	for _, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if data.ErrorCode(err) != data.Unavailable {
			t.Fatalf("Histories with the server gone: %v (code %q); want Unavailable", err, data.ErrorCode(err))
		}
		break
	}
	if _, err := s.Begin(ctx); data.ErrorCode(err) != data.Unavailable {
		t.Fatalf("Begin with the server gone: %v (code %q); want Unavailable", err, data.ErrorCode(err))
	}
}

func TestAwkwardIDs(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, freshDB(t), clickhouse.Options{})
	ids := []string{`quote'd`, `back\slash`, `question?mark`, `semi;colon -- comment`, "ünï/cødé 株式"}
	b := &data.Batch{}
	for i, id := range ids {
		b.Accounts = append(b.Accounts, data.Account{ID: id, Currency: "EUR", TimeZone: "UTC"})
		b.Invoices = append(b.Invoices, data.Invoice{ID: id + "/inv", AccountID: id, IssueDate: data.NewDate(2024, 1, 1+i),
			DueDate: data.NewDate(2024, 2, 1), Amount: 100, Currency: "EUR"})
	}
	if err := data.Append(ctx, s, b); err != nil {
		t.Fatal(err)
	}
	want := datatest.Group(b)
	for _, id := range ids {
		h, err := s.History(ctx, id)
		if err != nil {
			t.Fatalf("History(%q): %v", id, err)
		}
		if len(h.Invoices) != 1 || !h.Account.Equal(want[id].Account) || h.Invoices[0] != want[id].Invoices[0] {
			t.Fatalf("History(%q) = %+v", id, h)
		}
		lk, err := s.Lookup(ctx, data.Keys{Accounts: []string{id}, Invoices: []string{id + "/inv"}})
		if err != nil || len(lk.Accounts) != 1 || len(lk.Invoices) != 1 {
			t.Fatalf("Lookup(%q) = %+v, %v", id, lk, err)
		}
		due := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		if err := s.AppendActions(ctx, []data.Action{{ID: id + "/act", AccountID: id, Channel: data.Email, DueAt: due,
			Status: data.ActionPlanned, Version: 1, UpdatedAt: due}}); err != nil {
			t.Fatal(err)
		}
		as, err := s.Actions(ctx, data.ActionQuery{AccountID: id})
		if err != nil || len(as) != 1 || as[0].AccountID != id {
			t.Fatalf("Actions(account %q) = %+v, %v", id, as, err)
		}
	}
	got, _ := datatest.Collect(t, s, data.HistoryQuery{})
	if d := datatest.DiffHistories(want, got); d != "" {
		t.Fatal(d)
	}
}

// History inside a Histories loop must not wait for a stream slot.
func TestHistoryWhileStreaming(t *testing.T) {
	s := mustOpen(t, freshDB(t), clickhouse.Options{MaxStreams: 1})
	b := datatest.Sample(datatest.SampleOptions{Seed: 71, Accounts: 6})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := data.Append(ctx, s, b); err != nil {
		t.Fatal(err)
	}
	n := 0
	for h, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		one, err := s.History(ctx, h.Account.ID)
		if err != nil {
			t.Fatalf("History(%q) inside a stream: %v", h.Account.ID, err)
		}
		if !one.Equal(h) {
			t.Fatalf("History(%q) = %+v; the stream gave %+v", h.Account.ID, one, h)
		}
		n++
	}
	if n != len(b.Accounts) {
		t.Fatalf("streamed %d accounts; want %d", n, len(b.Accounts))
	}
}
