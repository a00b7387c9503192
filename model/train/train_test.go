package train_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/data/synth"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/train"
)

// world generates a synthetic history into a MemStore and returns its
// feature table and the true late probabilities by invoice id.
func world(t *testing.T, accounts int) (*features.Table, map[string]float64) {
	t.Helper()
	ctx := context.Background()
	s := datatest.NewMemStore()
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	truth := &memTruth{p: map[string]float64{}}
	if _, err := synth.Generate(ctx, synth.Options{Seed: 11, Accounts: accounts, To: data.NewDate(2025, 7, 1)}, w, truth); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tab, err := features.Build(ctx, s, features.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tab, truth.p
}

type memTruth struct {
	mu sync.Mutex
	p  map[string]float64
}

func (m *memTruth) Start(context.Context, *synth.TruthHeader) error { return nil }
func (m *memTruth) WriteTruth(_ context.Context, b *synth.TruthBatch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, inv := range b.Invoices {
		m.p[inv.InvoiceID] = inv.PLate
	}
	return nil
}

var clock = func() time.Time { return time.Date(2025, 7, 2, 8, 0, 0, 0, time.UTC) }

func smallGBDT() *gbdt.Params {
	p := train.DefaultGBDT()
	p.NumRounds, p.EarlyStoppingRounds = 150, 20
	return &p
}

func TestTrainGBDTAndLogRegAgainstTruth(t *testing.T) {
	tab, truth := world(t, 600)
	ctx := context.Background()
	results := map[string]*train.Result{}
	for _, kind := range []string{train.KindGBDT, train.KindLogReg} {
		res, err := train.Train(ctx, tab, train.Options{Kind: kind, GBDT: smallGBDT(), Clock: clock})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		results[kind] = res
		r := res.TestReport
		t.Logf("%s: test rows %d AUC %.4f logloss %.4f ECE %.4f (uncalibrated ECE %.4f) timing MAE %.1f cover %.2f",
			kind, r.Rows, r.AUC, r.LogLoss, r.ECE, res.TestUncalibrated.ECE, res.TimingTest.MAE, res.TimingTest.Coverage)
		if r.AUC < 0.7 {
			t.Errorf("%s: test AUC %.3f; the model learned little", kind, r.AUC)
		}
		if !(res.Train.To < res.Valid.From && res.Valid.To < res.Test.From) {
			t.Errorf("%s: split is not time-ordered: %+v %+v %+v", kind, res.Train, res.Valid, res.Test)
		}
		// The late-payment artifact names its timing model, and both load.
		var link string
		if ok, _ := res.Late.Header.Param("timing_model", &link); !ok || link != res.Timing.Header.Version {
			t.Fatalf("%s: timing_model param %q; want %q", kind, link, res.Timing.Header.Version)
		}
		for _, a := range []*model.Artifact{res.Late, res.Timing} {
			var buf bytes.Buffer
			if err := a.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			if _, err := model.Load(&buf, train.Schema()); err != nil {
				t.Fatalf("%s: load %s: %v", kind, a.Header.Kind, err)
			}
		}
		// Predicted probabilities against the generator's true ones, on the test rows.
		d, rows := train.Dataset(tab)
		var sumAbs, n float64
		row := make([]float64, len(d.Names))
		for i := range rows {
			if d.Time[i] < int64(res.Test.From) {
				continue
			}
			p, ok := truth[tab.InvoiceID[rows[i]]]
			if !ok {
				t.Fatalf("no truth for %s", tab.InvoiceID[rows[i]])
			}
			sumAbs += math.Abs(res.Model.PredictProba(d.Row(i, row)) - p)
			n++
		}
		mae := sumAbs / n
		t.Logf("%s: mean |predicted − true P(late)| on test = %.4f", kind, mae)
		if mae > 0.2 {
			t.Errorf("%s: predictions are far from the true probabilities (MAE %.3f)", kind, mae)
		}
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	tab, _ := world(t, 250)
	ctx := context.Background()
	var prev [][]byte
	for i := 0; i < 2; i++ {
		var stages []string
		res, err := train.Train(ctx, tab, train.Options{GBDT: smallGBDT(), Clock: clock, Stage: func(s string) { stages = append(stages, s) }})
		if err != nil {
			t.Fatal(err)
		}
		// Every long step is announced, the timing model with its row count.
		if len(stages) != 3 || !strings.HasPrefix(stages[0], "fitting gbdt on ") ||
			!strings.Contains(stages[2], fmt.Sprintf("payment-timing model on %d invoices", res.Train.Rows)) {
			t.Fatalf("stages %q", stages)
		}
		var testFrom, testTo string
		if _, err := res.Late.Header.Param(train.ParamTestFrom, &testFrom); err != nil || testFrom != res.Test.From.String() {
			t.Fatalf("test window param from %q, %v; want %s", testFrom, err, res.Test.From)
		}
		if _, err := res.Late.Header.Param(train.ParamTestTo, &testTo); err != nil || testTo != res.Test.To.String() {
			t.Fatalf("test window param to %q, %v; want %s", testTo, err, res.Test.To)
		}
		var got [][]byte
		for _, a := range []*model.Artifact{res.Late, res.Timing} {
			b, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		if prev != nil && (!bytes.Equal(prev[0], got[0]) || !bytes.Equal(prev[1], got[1])) {
			t.Fatal("same table and options gave different artifact bytes")
		}
		prev = got
	}
}

func TestTrainRejects(t *testing.T) {
	tab, _ := world(t, 40)
	ctx := context.Background()
	if _, err := train.Train(ctx, tab, train.Options{Kind: "svm", Clock: clock}); data.ErrorCode(err) != data.Invalid {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := train.Train(ctx, tab, train.Options{Calibration: "magic", Clock: clock}); err == nil {
		t.Error("unknown calibration accepted")
	}
	if _, err := train.Train(ctx, tab, train.Options{}); err == nil {
		t.Error("missing clock accepted")
	}
	tiny := tab.Select([]int{0, 1, 2})
	if _, err := train.Train(ctx, tiny, train.Options{Clock: clock}); data.ErrorCode(err) != data.Invalid {
		t.Errorf("3 rows: %v; want invalid", err)
	}
}

// TestAutoCalibration: class-balanced logistic regression overstates P(late)
// when late is the minority class; auto calibration must notice and fix it,
// and must leave an already calibrated gbdt alone or improve it.
func TestAutoCalibration(t *testing.T) {
	tab, _ := world(t, 300)
	ctx := context.Background()
	lr := train.DefaultLogReg()
	lr.Balanced = true
	res, err := train.Train(ctx, tab, train.Options{Kind: train.KindLogReg, LogReg: &lr, Clock: clock, SkipTiming: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("balanced logreg: calibration %s, test ECE %.4f (uncalibrated %.4f)", res.Calibration, res.TestReport.ECE, res.TestUncalibrated.ECE)
	if res.Calibration == "none" {
		t.Fatalf("auto calibration left class-balanced probabilities uncalibrated (test ECE %.4f)", res.TestUncalibrated.ECE)
	}
	if res.TestReport.ECE >= res.TestUncalibrated.ECE {
		t.Fatalf("calibration did not reduce test ECE: %.4f → %.4f", res.TestUncalibrated.ECE, res.TestReport.ECE)
	}
	var got string
	if ok, _ := res.Late.Header.Param("calibration", &got); !ok || got != res.Calibration {
		t.Fatalf("artifact records calibration %q; want %q", got, res.Calibration)
	}
}

// TestForestBaseline: the golearn forest trains through the same pipeline
// as a labelled comparison baseline and carries its kind in the artifact.
func TestForestBaseline(t *testing.T) {
	tab, _ := world(t, 250)
	res, err := train.Train(context.Background(), tab, train.Options{Kind: train.KindForest, Clock: clock, SkipTiming: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Late.Header.Kind != "golearn-forest-baseline" {
		t.Fatalf("artifact kind %q", res.Late.Header.Kind)
	}
	if res.TestReport.AUC < 0.65 {
		t.Fatalf("forest baseline test AUC %.3f", res.TestReport.AUC)
	}
	var buf bytes.Buffer
	if err := res.Late.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Load(&buf, train.Schema()); err != nil {
		t.Fatal(err)
	}
}
