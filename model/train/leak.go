package train

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/duesight/duesight/model"
)

// LeakAUC is the single-feature AUC at which CheckLeaks suspects a feature
// of being derived from the label. On its own, even the strongest honest
// late-payment feature (the account's past late ratio) stays far below it.
const LeakAUC = 0.99

// LeakMinClass is the number of rows each class needs before CheckLeaks
// judges: with fewer, a feature can separate the classes by chance.
const LeakMinClass = 30

// PerfectAUC is the test AUC at which a fitted model is too good to be
// believed on payment data: some input probably encodes the label.
const PerfectAUC = 0.999

// Leak is a feature that alone separates the label (almost) perfectly.
type Leak struct {
	Feature string `json:"feature"`
	// AUC is the feature's AUC as a score of the label, folded to ≥ 0.5 (a
	// feature low for positives separates as well as one high for them),
	// with its missing values ranked lowest or highest, whichever
	// separates better.
	AUC float64 `json:"auc"`
	// MissingRows is the number of rows where the feature is missing.
	MissingRows int `json:"missing_rows"`
}

// CheckLeaks is a leakage heuristic for tables without outcome marks: it
// returns the features of d whose values alone rank the label with an AUC
// of at least LeakAUC, in feature order. Such a feature usually is the
// label in disguise (days late, a settlement date, a status). It sees one
// column at a time: an outcome spread over two columns (a settlement date
// and a due date) passes, which is why a fitted model's test AUC above
// PerfectAUC deserves the same warning. A genuinely decisive feature is
// flagged too: the verdict is the user's. ok is false, and nothing is
// checked, when a class has fewer than LeakMinClass rows.
func CheckLeaks(d *model.Dataset) (leaks []Leak, ok bool) {
	var pos, neg int
	for _, y := range d.Y {
		if y == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos < LeakMinClass || neg < LeakMinClass {
		return nil, false
	}
	found := make([]*Leak, len(d.X))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(d.X))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				auc, missing := separation(d.X[j], d.Y)
				if auc >= LeakAUC {
					found[j] = &Leak{Feature: d.Names[j], AUC: auc, MissingRows: missing}
				}
			}
		}()
	}
	for j := range d.X {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	for _, l := range found {
		if l != nil {
			leaks = append(leaks, *l)
		}
	}
	return leaks, true
}

// separation returns the folded AUC of x as a score of y (0/1) with
// missing values placed lowest or highest, whichever separates better, and
// the number of missing values. Ties count one half (Mann–Whitney U).
func separation(x, y []float64) (auc float64, missing int) {
	type pair struct {
		v   float64
		pos bool
	}
	vals := make([]pair, 0, len(x))
	var nanPos, nanNeg float64
	for i, v := range x {
		switch {
		case !math.IsNaN(v):
			vals = append(vals, pair{v, y[i] == 1})
		case y[i] == 1:
			nanPos++
		default:
			nanNeg++
		}
	}
	slices.SortFunc(vals, func(a, b pair) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	// u counts (positive, negative) pairs of present values ordered
	// positive above negative, ties one half.
	var u, negBelow, posN, negN float64
	for i := 0; i < len(vals); {
		j := i
		var p, n float64
		for ; j < len(vals) && vals[j].v == vals[i].v; j++ {
			if vals[j].pos {
				p++
			} else {
				n++
			}
		}
		u += p*negBelow + 0.5*p*n
		negBelow += n
		posN, negN = posN+p, negN+n
		i = j
	}
	P, N := posN+nanPos, negN+nanNeg
	if P == 0 || N == 0 {
		return 0.5, int(nanPos + nanNeg)
	}
	ties := 0.5 * nanPos * nanNeg
	low := (u + posN*nanNeg + ties) / (P * N)  // missing ranked lowest
	high := (u + nanPos*negN + ties) / (P * N) // missing ranked highest
	fold := func(a float64) float64 { return max(a, 1-a) }
	return max(fold(low), fold(high)), int(nanPos + nanNeg)
}
