package gbdt_test

import (
	"context"
	"testing"
	"time"

	"github.com/duesight/duesight/model/gbdt"
)

func TestSmoke(t *testing.T) {
	X, y := synthInvoices(250000, 1)
	tr := gbdt.Dataset{X: sliceRows(X, 0, 200000), Y: y[:200000]}
	te := sliceRows(X, 200000, 250000)
	p := gbdt.DefaultParams()
	p.NumRounds = 200
	p.Eta = 0.1
	p.NThread = 2
	start := time.Now()
	m, err := gbdt.Train(context.Background(), tr, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	start = time.Now()
	pred, err := m.PredictColumns(nil, te, gbdt.PredictOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	pel := time.Since(start)
	t.Logf("train %v predict %v (%.0f rows/s) auc %.5f logloss %.5f", el, pel, 50000/pel.Seconds(), refAUC(y[200000:], pred), refLogLoss(y[200000:], pred))
}
