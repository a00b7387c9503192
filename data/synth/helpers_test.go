package synth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/synth"
)

// testTo is the fixed end of every test window.
var testTo = data.NewDate(2025, 7, 1)

// collectWriter is a data.Writer that keeps every row, per kind, in the
// order written, and records how it was called.
type collectWriter struct {
	b           data.Batch
	writes      int
	maxAccounts int
	failAt      int // fail the failAt-th Write (1-based); 0 = never
}

func (w *collectWriter) Write(_ context.Context, b *data.Batch) error {
	w.writes++
	if w.failAt == w.writes {
		return fmt.Errorf("disk full")
	}
	w.maxAccounts = max(w.maxAccounts, len(b.Accounts))
	w.b.Accounts = append(w.b.Accounts, b.Accounts...)
	w.b.Invoices = append(w.b.Invoices, b.Invoices...)
	w.b.Payments = append(w.b.Payments, b.Payments...)
	w.b.Contacts = append(w.b.Contacts, b.Contacts...)
	w.b.Disputes = append(w.b.Disputes, b.Disputes...)
	return nil
}
func (w *collectWriter) Commit(context.Context) error { return nil }
func (w *collectWriter) Rollback() error              { return nil }

// memSink is a TruthSink that keeps everything.
type memSink struct {
	header *synth.TruthHeader
	synth.TruthBatch
	calls int
}

func (m *memSink) Start(_ context.Context, h *synth.TruthHeader) error {
	m.header = h
	return nil
}

func (m *memSink) WriteTruth(_ context.Context, b *synth.TruthBatch) error {
	m.calls++
	m.Accounts = append(m.Accounts, b.Accounts...)
	m.Invoices = append(m.Invoices, b.Invoices...)
	m.Contacts = append(m.Contacts, b.Contacts...)
	return nil
}

// teeSink forwards to several sinks.
type teeSink []synth.TruthSink

func (t teeSink) Start(ctx context.Context, h *synth.TruthHeader) error {
	for _, s := range t {
		if err := s.Start(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

func (t teeSink) WriteTruth(ctx context.Context, b *synth.TruthBatch) error {
	for _, s := range t {
		if err := s.WriteTruth(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// run is one generated world.
type run struct {
	sum   synth.Summary
	w     *collectWriter
	truth *memSink
	file  []byte // the truth file (plain JSON lines)
}

func generate(t testing.TB, o synth.Options) *run {
	t.Helper()
	r := &run{w: &collectWriter{}, truth: &memSink{}}
	var buf bytes.Buffer
	tw := synth.NewTruthWriter(&buf, false)
	sum, err := synth.Generate(context.Background(), o, r.w, teeSink{r.truth, tw})
	if err != nil {
		t.Fatalf("Generate(%+v): %v", o, err)
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close truth: %v", err)
	}
	r.sum, r.file = sum, buf.Bytes()
	return r
}

// dump is a canonical serialisation of the rows: every row as JSON, kind by
// kind, in the order written (which is account-id order).
func (r *run) dump(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, rows := range []any{r.w.b.Accounts, r.w.b.Invoices, r.w.b.Payments, r.w.b.Contacts, r.w.b.Disputes} {
		if err := enc.Encode(rows); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func digest(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b))[:16] }

// shared is a medium-sized world used by the statistical tests.
var shared = struct {
	once sync.Once
	r    *run
}{}

func sharedRun(t testing.TB) *run {
	t.Helper()
	shared.once.Do(func() {
		shared.r = generate(t, synth.Options{Seed: 20250701, Accounts: 1500, To: testTo})
	})
	if shared.r == nil {
		t.Fatal("shared run failed")
	}
	return shared.r
}
