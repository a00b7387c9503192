package features_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/features"
)

func TestStateRejects(t *testing.T) {
	acc := data.Account{ID: "a", Currency: "EUR"}
	d := data.NewDate(2024, 6, 1)
	inv := data.Invoice{ID: "i", AccountID: "a", IssueDate: d, DueDate: d.AddDays(10), Amount: 100, Currency: "EUR"}
	cases := []struct {
		name       string
		apply      func(s *features.State) error
		outOfOrder bool
	}{
		{"payment before the watermark", func(s *features.State) error {
			return s.ApplyPayment(data.Payment{ID: "p", AccountID: "a", Date: d - 1, Amount: 5, Currency: "EUR"})
		}, true},
		{"contact before the watermark", func(s *features.State) error {
			return s.ApplyContact(data.Contact{ID: "c", AccountID: "a", Channel: data.Email, SentAt: d.Time().Add(-time.Second)})
		}, true},
		{"zero amount", func(s *features.State) error {
			return s.ApplyPayment(data.Payment{ID: "p", AccountID: "a", Date: d + 1, Currency: "EUR"})
		}, false},
		{"due before issue", func(s *features.State) error {
			return s.ApplyInvoice(data.Invoice{ID: "j", AccountID: "a", IssueDate: d + 2, DueDate: d + 1, Amount: 1, Currency: "EUR"})
		}, false},
		{"unset contact time", func(s *features.State) error {
			return s.ApplyContact(data.Contact{ID: "c", AccountID: "a", Channel: data.Email})
		}, false},
		{"resolution without a date", func(s *features.State) error {
			return s.ApplyDisputeResolved(data.Dispute{ID: "d", AccountID: "a", InvoiceID: "i", OpenedOn: d})
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := features.NewState(acc)
			if err := s.ApplyInvoice(inv); err != nil {
				t.Fatal(err)
			}
			before := s.Vector(d.AddDays(5).Time(), inv, nil)
			err := c.apply(s)
			if err == nil {
				t.Fatal("want an error")
			}
			if errors.Is(err, features.ErrOutOfOrder) != c.outOfOrder {
				t.Fatalf("error %v: out of order = %t, want %t", err, !c.outOfOrder, c.outOfOrder)
			}
			if !s.Watermark().Equal(d.Time()) {
				t.Fatalf("watermark moved to %s by a rejected event", s.Watermark())
			}
			if dv := diffVec(before, s.Vector(d.AddDays(5).Time(), inv, nil)); dv != "" {
				t.Fatalf("rejected event changed the state: %s", dv)
			}
		})
	}
}

func TestFeaturizer(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(2, 2))}
	h := g.history("acc")
	for len(h.Invoices) < 3 {
		h = g.history("acc")
	}
	f := features.NewFeaturizer(nil)
	inv := h.Invoices[len(h.Invoices)-1]
	at := inv.IssueDate.Time()

	if _, err := f.Vector("acc", at, inv, nil); data.ErrorCode(err) != data.NotFound {
		t.Fatalf("unknown account: got %v", err)
	}
	if err := f.ApplyInvoice(inv); data.ErrorCode(err) != data.NotFound {
		t.Fatalf("apply to unknown account: got %v", err)
	}
	if err := f.Load(h, at); err != nil {
		t.Fatal(err)
	}
	got, err := f.Vector("acc", at, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := features.VectorAt(h, at, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffVec(want, got); d != "" {
		t.Fatalf("Load+Vector vs VectorAt: %s", d)
	}
	// Applying the invoice at its issue instant moves the watermark to at:
	// reading as of at would now include it.
	if err := f.ApplyInvoice(inv); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Vector("acc", at, inv, nil); data.ErrorCode(err) != data.Invalid {
		t.Fatalf("as-of at the watermark: got %v, want invalid", err)
	}
	err = f.ApplyPayment(data.Payment{ID: "late", AccountID: "acc", Date: inv.IssueDate - 1, Amount: 1, Currency: "EUR"})
	if data.ErrorCode(err) != data.Conflict || !errors.Is(err, features.ErrOutOfOrder) {
		t.Fatalf("out-of-order payment: got %v, want conflict wrapping ErrOutOfOrder", err)
	}
	f.SetAccount(data.Account{ID: "acc", Currency: h.Account.Currency, Segment: "changed"})
	if f.Len() != 1 || f.SizeBytes() <= 0 {
		t.Fatalf("Len %d SizeBytes %d", f.Len(), f.SizeBytes())
	}
	f.Remove("acc")
	if f.Len() != 0 {
		t.Fatal("Remove kept the account")
	}
}

// TestFeaturizerConcurrent exercises the shard locks under -race.
func TestFeaturizerConcurrent(t *testing.T) {
	f := features.NewFeaturizer(nil)
	g := &gen{r: rand.New(rand.NewPCG(9, 9))}
	var hs []*data.History
	for k := range 40 {
		h := g.history(fmt.Sprintf("c%d", k))
		hs = append(hs, h)
		f.SetAccount(h.Account)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(hs))
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float64
			for _, ev := range h.Events() {
				err := f.Apply(h, ev)
				if err == nil && len(h.Invoices) > 0 {
					buf, err = f.Vector(h.Account.ID, ev.At.Add(time.Second), h.Invoices[0], buf)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if f.Len() != len(hs) {
		t.Fatalf("Len %d, want %d", f.Len(), len(hs))
	}
}

// TestHistogramSaturation: the days-late histogram halves its uint16 bins
// when one would overflow, keeping quantiles right.
func TestHistogramSaturation(t *testing.T) {
	acc := data.Account{ID: "a", Currency: "EUR"}
	s := features.NewState(acc)
	d := data.NewDate(2020, 1, 1)
	const onTime, late = 70_000, 30_000 // 0 and 50 days late, 10 invoices a day
	n := 0
	for k := range onTime + late {
		day := d.AddDays(k / 10)
		dl := 0
		if k%10 >= 7 {
			dl = 50
		}
		inv := data.Invoice{ID: fmt.Sprint("i", k), AccountID: "a", IssueDate: day, DueDate: day, Amount: 10, Currency: "EUR"}
		if err := s.ApplyInvoice(inv); err != nil {
			t.Fatal(err)
		}
		if dl == 0 {
			if err := s.ApplyPayment(data.Payment{ID: fmt.Sprint("p", k), AccountID: "a", InvoiceID: inv.ID, Date: day,
				Amount: 10, Currency: "EUR", Method: data.MethodCard}); err != nil {
				t.Fatal(err)
			}
			n++
		}
		// late ones are paid 50 days later: pay those whose due date is 50 days back
		if back := k - 500; back >= 0 && back%10 >= 7 {
			if err := s.ApplyPayment(data.Payment{ID: fmt.Sprint("q", back), AccountID: "a", InvoiceID: fmt.Sprint("i", back),
				Date: day, Amount: 10, Currency: "EUR", Method: data.MethodCard}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	names := features.Names()
	v := s.Vector(d.AddDays(20000).Time(), data.Invoice{ID: "x", IssueDate: d + 20000, DueDate: d + 20000, Amount: 1, Currency: "EUR"}, nil)
	get := func(name string) float64 { return v[slicesIndex(names, name)] }
	// Paid: 70000 on time + the late ones whose payment day came (those with k < 99500).
	if got := get("hist_paid_n"); got != float64(n) || n < 99_000 {
		t.Fatalf("hist_paid_n = %v, counted %d", got, n)
	}
	if got := get("hist_days_late_median"); got != 0 {
		t.Errorf("median = %v, want 0 (about 74%% on time)", got)
	}
	if got := get("hist_days_late_p90"); got != 50 {
		t.Errorf("p90 = %v, want 50 (bin (45,60] clamped to the max)", got)
	}
	if got, want := get("hist_late_ratio"), float64(n-onTime)/float64(n); math.Abs(got-want) > 1e-12 {
		t.Errorf("late ratio %v, want %v", got, want)
	}
}

// TestStateMemory measures bytes per account on generated histories and
// holds the design goal of ≤ 1 KiB on average.
func TestStateMemory(t *testing.T) {
	f := features.NewFeaturizer(nil)
	g := &gen{r: rand.New(rand.NewPCG(12, 12))}
	const n = 2000
	for k := range n {
		if err := f.Load(g.history(fmt.Sprintf("m%d", k)), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	per := f.SizeBytes() / n
	t.Logf("estimated state size: %d bytes/account (SizeBytes)", per)
	if per > 1024 {
		t.Fatalf("%d bytes/account, goal ≤ 1024", per)
	}
}

// Compact keeps every feature value and does not grow the state.
func TestCompactKeepsFeatures(t *testing.T) {
	b := datatest.Sample(datatest.SampleOptions{Seed: 31, Accounts: 40})
	hs := datatest.Group(b)
	for _, h := range hs {
		cut := data.NewDate(2023, 6, 1).Time()
		st, err := features.Replay(h, cut)
		if err != nil {
			t.Fatal(err)
		}
		inv := data.Invoice{ID: "probe", AccountID: h.Account.ID, IssueDate: data.NewDate(2023, 6, 1), DueDate: data.NewDate(2023, 7, 1),
			Amount: 1000, Currency: h.Account.Currency}
		before := st.Vector(cut, inv, nil)
		size := st.SizeBytes()
		st.Compact()
		after := st.Vector(cut, inv, nil)
		for j := range before {
			if !(before[j] == after[j] || before[j] != before[j] && after[j] != after[j]) {
				t.Fatalf("%s: feature %d changed by Compact: %v → %v", h.Account.ID, j, before[j], after[j])
			}
		}
		if st.SizeBytes() > size {
			t.Fatalf("%s: Compact grew the state from %d to %d bytes", h.Account.ID, size, st.SizeBytes())
		}
	}
}
