package train

import (
	"fmt"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/eval"
)

// EvalSet selects the labelled issue-snapshot rows to evaluate on: all rows
// issued in [From, To) when either bound is set, else the test window of
// Split (the rows Train reports on with the same split).
type EvalSet struct {
	Split    eval.SplitSpec
	From, To data.Date
}

// Named is a model with the name to report it under.
type Named struct {
	Name  string
	Model model.Model
}

// Evaluation holds reports and the scores behind them.
type Evaluation struct {
	// From and To are the first and last issue date of the evaluated
	// rows; TestWindow reports that they are Split's test window (not an
	// explicit EvalSet.From/To).
	From, To   data.Date
	TestWindow bool
	// Horizon and Grace are the label horizon and grace days of the
	// labels (those of the feature table).
	Horizon time.Time
	Grace   int
	Reports []*eval.Report
	// InvoiceID, Late and Scores[k] are aligned: the evaluated rows, their
	// labels and model k's scores.
	InvoiceID []string
	Late      []float64
	Scores    [][]float64
}

// Evaluate scores models on the rows of t selected by set.
func Evaluate(t *features.Table, models []Named, set EvalSet) (*Evaluation, error) {
	issue := onlySnapshot(t, features.SnapshotIssue)
	d, rows := Dataset(issue)
	var pick []int
	if set.From != 0 || set.To != 0 {
		for i, day := range d.Time {
			if (set.From == 0 || data.Date(day) >= set.From) && (set.To == 0 || data.Date(day) < set.To) {
				pick = append(pick, i)
			}
		}
	} else {
		sp, err := eval.SplitRows(d, set.Split)
		if err != nil {
			return nil, fmt.Errorf("evaluate: split: %w", err)
		}
		pick = sp.Test
	}
	if len(pick) == 0 {
		return nil, data.Errorf(data.Invalid, "evaluate: no labelled invoices in the evaluation window")
	}
	sub := d.Subset(pick)
	w := window(sub)
	ev := &Evaluation{Late: sub.Y, From: w.From, To: w.To, TestWindow: set.From == 0 && set.To == 0,
		Horizon: t.Horizon, Grace: t.Grace}
	for _, i := range pick {
		ev.InvoiceID = append(ev.InvoiceID, issue.InvoiceID[rows[i]])
	}
	for _, m := range models {
		p, err := predict(m.Model, sub)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", m.Name, err)
		}
		r, err := eval.Binary(m.Name, sub.Y, p, sub.W, eval.Options{})
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", m.Name, err)
		}
		ev.Reports = append(ev.Reports, r)
		ev.Scores = append(ev.Scores, p)
	}
	return ev, nil
}
