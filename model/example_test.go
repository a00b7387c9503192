package model_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/logreg"
)

// Example shows the whole training flow the service runs: split by time,
// fit, calibrate on the validation window, evaluate on the test window,
// build a versioned artifact, register and activate it, and load it back for
// scoring with an explanation.
func Example() {
	ctx := context.Background()
	// A toy history: invoice issue day, two features, late label.
	r := rand.New(rand.NewPCG(1, 2))
	const n = 3000
	d := &model.Dataset{
		Names: []string{"days_since_last_payment", "prior_late_rate"},
		X:     [][]float64{make([]float64, n), make([]float64, n)},
		Y:     make([]float64, n),
		Time:  make([]int64, n),
	}
	for i := range n {
		a, b := r.ExpFloat64()*30, r.Float64()
		d.X[0][i], d.X[1][i], d.Time[i] = a, b, int64(19700+i/10)
		if r.Float64() < 1/(1+math.Exp(-(-2+0.04*a+2*b))) {
			d.Y[i] = 1
		}
	}

	split, err := eval.SplitRows(d, eval.SplitSpec{}) // time-ordered 70/15/15
	if err != nil {
		fmt.Println(err)
		return
	}
	train, valid, test := d.Subset(split.Train), d.Subset(split.Valid), d.Subset(split.Test)

	m, err := logreg.Fit(ctx, train, logreg.Params{L2: 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	pv := make([]float64, valid.Rows())
	_ = m.PredictBatch(valid.X, pv)
	iso, err := calibrate.FitIsotonic(pv, valid.Y, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	scorer := model.Calibrated(m, iso)

	pt := make([]float64, test.Rows())
	_ = scorer.PredictBatch(test.X, pt)
	rep, err := eval.Binary("logreg+isotonic", test.Y, pt, nil, eval.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}

	art, err := model.NewArtifact(scorer, model.Meta{
		SchemaVersion: "features/v1",
		TrainFrom:     "2023-12-09", // day 19700
		TrainTo:       "2024-06-25",
		CreatedAt:     time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), // from the caller's clock
		Metrics:       rep.Metrics("test_"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(dir)
	reg, err := model.OpenRegistry(ctx, dir, model.RegistryOptions{Clock: func() time.Time { return time.Date(2024, 7, 1, 0, 5, 0, 0, time.UTC) }})
	if err != nil {
		fmt.Println(err)
		return
	}
	version, _ := reg.Put(ctx, art)
	if err := reg.Activate(ctx, version); err != nil {
		fmt.Println(err)
		return
	}

	// Scoring side: load the active version, refusing a schema mismatch.
	active, _ := reg.Active(ctx)
	loaded, err := reg.Get(ctx, active, model.Schema{Version: "features/v1", Names: d.Names})
	if err != nil {
		fmt.Println(err)
		return
	}
	live, _ := loaded.Model()
	row := []float64{90, 0.8}
	fmt.Println("kind:", loaded.Header.Kind, "calibrated:", loaded.Calibrator().Method())
	fmt.Printf("test AUC above 0.7: %v\n", rep.AUC > 0.7)
	fmt.Printf("risky invoice scores above 0.5: %v\n", live.PredictProba(row) > 0.5)
	fmt.Println("top reason:", live.Explain(row, 1)[0].Feature, live.Explain(row, 1)[0].Direction)
	// Output:
	// kind: logreg calibrated: isotonic
	// test AUC above 0.7: true
	// risky invoice scores above 0.5: true
	// top reason: days_since_last_payment up
}
