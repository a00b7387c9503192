package eval_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/eval"
)

// refData mirrors testdata/sklearn_reference.py.
func refData() (y, p, w []float64) {
	const n = 40
	for i := range n {
		k := (i * 7) % 11
		p = append(p, float64(k)/10)
		if k*3+(i*5)%13 > 20 {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
		w = append(w, float64(1+i%3))
	}
	return y, p, w
}

// TestMetricsMatchSklearn: reference values printed by
// testdata/sklearn_reference.py, i.e. sklearn.metrics.roc_auc_score,
// average_precision_score, log_loss and brier_score_loss (scikit-learn
// 1.2.1) called as f(y, p, sample_weight=None or w).
func TestMetricsMatchSklearn(t *testing.T) {
	y, p, w := refData()
	cases := []struct {
		name                 string
		w                    []float64
		auc, ap, logloss, bs float64
	}{
		{"unweighted", nil, 0.981203007518797, 0.9762041467304625, 0.2904769786143053, 0.08349999999999999},
		{"weighted", w, 0.9762516046213094, 0.9667919799498748, 0.3052921693271861, 0.08860759493670887},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(metric string, f func(y, p, w []float64) (float64, error), want float64) {
				got, err := f(y, p, tc.w)
				if err != nil {
					t.Fatalf("%s: %v", metric, err)
				}
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("%s = %.15f, sklearn %.15f", metric, got, want)
				}
			}
			check("AUC", eval.AUC, tc.auc)
			check("AveragePrecision", eval.AveragePrecision, tc.ap)
			check("LogLoss", eval.LogLoss, tc.logloss)
			check("Brier", eval.Brier, tc.bs)
		})
	}
}

func TestAUCHandComputed(t *testing.T) {
	cases := []struct {
		name string
		y, p []float64
		want float64
	}{
		{"perfect", []float64{0, 0, 1, 1}, []float64{0.1, 0.2, 0.8, 0.9}, 1},
		{"inverted", []float64{1, 1, 0, 0}, []float64{0.1, 0.2, 0.8, 0.9}, 0},
		{"all tied", []float64{0, 1, 0, 1}, []float64{0.5, 0.5, 0.5, 0.5}, 0.5},
		// pairs (pos,neg): (0.6>0.4)=1, (0.6 vs 0.6)=½, (0.3<0.4)=0, (0.3<0.6)=0 → 1.5/4
		{"one tie", []float64{1, 0, 1, 0}, []float64{0.6, 0.4, 0.3, 0.6}, 0.375},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eval.AUC(tc.y, tc.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCalibrationTables(t *testing.T) {
	// Bin [0.1,0.2): scores 0.1, 0.1, labels 0, 1 → mean 0.1, frac 0.5.
	// Bin [0.9,1.0]: scores 0.9, 1.0, labels 1, 1 → mean 0.95, frac 1.
	y := []float64{0, 1, 1, 1}
	p := []float64{0.1, 0.1, 0.9, 1.0}
	tab, err := eval.Reliability(y, p, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if tab[1].Weight != 2 || math.Abs(tab[1].MeanPred-0.1) > 1e-12 || tab[1].FracLate != 0.5 {
		t.Errorf("bin 1 = %+v", tab[1])
	}
	if tab[9].Weight != 2 || math.Abs(tab[9].MeanPred-0.95) > 1e-12 || tab[9].FracLate != 1 {
		t.Errorf("bin 9 = %+v", tab[9])
	}
	// ECE = ½·|0.5−0.1| + ½·|1−0.95| = 0.2 + 0.025
	ece, err := eval.ECE(y, p, nil, 10)
	if err != nil || math.Abs(ece-0.225) > 1e-12 {
		t.Errorf("ECE = %v, %v; want 0.225", ece, err)
	}
	// Weighting the first row by 3: bin 1 mean 0.1, frac 1/4, weight 4 of 6.
	ece, _ = eval.ECE(y, p, []float64{3, 1, 1, 1}, 10)
	if want := 4.0/6*0.15 + 2.0/6*0.05; math.Abs(ece-want) > 1e-12 {
		t.Errorf("weighted ECE = %v, want %v", ece, want)
	}
}

func TestLiftAndConfusion(t *testing.T) {
	// 10 rows, 3 late; the top 2 by score are late, the third late row is last.
	y := []float64{1, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	p := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1}
	lift, capture, err := eval.Lift(y, p, nil, 0.1) // top 1 row
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(capture-1.0/3) > 1e-12 || math.Abs(lift-(1.0/3)/0.1) > 1e-12 {
		t.Errorf("top 10%%: lift %v capture %v", lift, capture)
	}
	lift, capture, _ = eval.Lift(y, p, nil, 0.2) // top 2 rows
	if math.Abs(capture-2.0/3) > 1e-12 || math.Abs(lift-(2.0/3)/0.2) > 1e-12 {
		t.Errorf("top 20%%: lift %v capture %v", lift, capture)
	}
	c, err := eval.ConfusionAt(y, p, 0.55) // predicted late: 0.9, 0.8, 0.7, 0.6
	if err != nil {
		t.Fatal(err)
	}
	if c.TP != 2 || c.FP != 2 || c.TN != 5 || c.FN != 1 || c.Accuracy != 0.7 {
		t.Errorf("confusion = %+v", c)
	}
	late := c.Classes[0]
	if late.Class != eval.ClassLate || late.Precision != 0.5 || math.Abs(float64(late.Recall)-2.0/3) > 1e-12 ||
		math.Abs(float64(late.F1)-2*0.5*(2.0/3)/(0.5+2.0/3)) > 1e-12 {
		t.Errorf("late stats = %+v", late)
	}
	// Nothing predicted late: precision of "late" is undefined (NaN → null).
	c, _ = eval.ConfusionAt(y, p, 0.95)
	if !math.IsNaN(float64(c.Classes[0].Precision)) {
		t.Errorf("precision with no predicted positives = %v, want NaN", c.Classes[0].Precision)
	}
	b, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(b), `"precision":null`) {
		t.Errorf("JSON %s, %v: want null precision", b, err)
	}
}

func TestTimingMetrics(t *testing.T) {
	actual := []float64{0, 10, 20, 40}
	point := []float64{2, 10, 15, 30}
	lo := []float64{0, 5, 21, 10}
	hi := []float64{3, 12, 30, math.Inf(1)}
	r, err := eval.Timing("hazard", actual, point, lo, hi, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	// MAE = (2+0+5+10)/4; covered: rows 0, 1, 3.
	if r.MAE != 4.25 || r.Coverage != 0.75 {
		t.Errorf("report = %+v", r)
	}
	if _, err := eval.Coverage([]float64{1}, []float64{2}, []float64{1}); err == nil {
		t.Error("inverted interval: want error")
	}
}

func TestMetricInputErrors(t *testing.T) {
	cases := []struct {
		name    string
		y, p, w []float64
		want    string
	}{
		{"empty", nil, nil, nil, "no rows"},
		{"length", []float64{0, 1}, []float64{0.5}, nil, "2 labels but 1 predictions"},
		{"label", []float64{0, 2}, []float64{0.5, 0.5}, nil, "label 1 is 2"},
		{"prob", []float64{0, 1}, []float64{0.5, 1.5}, nil, "prediction 1 is 1.5"},
		{"NaN prob", []float64{0, 1}, []float64{math.NaN(), 0.5}, nil, "prediction 0 is NaN"},
		{"weight", []float64{0, 1}, []float64{0.5, 0.5}, []float64{1, -1}, "weight 1 is -1"},
		{"one class", []float64{1, 1}, []float64{0.5, 0.6}, nil, "both classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eval.AUC(tc.y, tc.p, tc.w)
			if !errors.Is(err, eval.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

func timeDataset(n int) *model.Dataset {
	d := &model.Dataset{Names: []string{"x"}, X: [][]float64{make([]float64, n)}, Y: make([]float64, n)}
	for i := range n {
		// Shuffled times with duplicates: each day appears twice.
		d.Time = append(d.Time, int64((i*37)%n/2))
		d.Group = append(d.Group, "acct"+string(rune('A'+i%13)))
	}
	return d
}

func TestTimeSplit(t *testing.T) {
	d := timeDataset(200)
	cases := []struct {
		name string
		spec eval.SplitSpec
		// expected sizes (rows)
		train, valid, test int
	}{
		{"default 70/15/15", eval.SplitSpec{}, 140, 30, 30},
		{"60/20/20", eval.SplitSpec{ValidFrac: 0.2, TestFrac: 0.2}, 120, 40, 40},
		{"cuts", eval.SplitSpec{Cuts: &eval.Cuts{ValidFrom: 50, TestFrom: 90}}, 100, 80, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := eval.SplitRows(d, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(sp.Train) != tc.train || len(sp.Valid) != tc.valid || len(sp.Test) != tc.test {
				t.Errorf("sizes %d/%d/%d, want %d/%d/%d", len(sp.Train), len(sp.Valid), len(sp.Test), tc.train, tc.valid, tc.test)
			}
			maxT := func(idx []int) int64 {
				m := int64(math.MinInt64)
				for _, i := range idx {
					m = max(m, d.Time[i])
				}
				return m
			}
			minT := func(idx []int) int64 {
				m := int64(math.MaxInt64)
				for _, i := range idx {
					m = min(m, d.Time[i])
				}
				return m
			}
			if maxT(sp.Train) >= minT(sp.Valid) || maxT(sp.Valid) >= minT(sp.Test) {
				t.Errorf("time order violated: train ≤ %d, valid %d..%d, test ≥ %d", maxT(sp.Train), minT(sp.Valid), maxT(sp.Valid), minT(sp.Test))
			}
		})
	}
}

func TestRandomSplit(t *testing.T) {
	d := timeDataset(300)
	a, err := eval.SplitRows(d, eval.SplitSpec{Method: eval.Random, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := eval.SplitRows(d, eval.SplitSpec{Method: eval.Random, Seed: 42})
	c, _ := eval.SplitRows(d, eval.SplitSpec{Method: eval.Random, Seed: 43})
	if !slices.Equal(a.Test, b.Test) {
		t.Error("same seed gave different splits")
	}
	if slices.Equal(a.Test, c.Test) {
		t.Error("different seeds gave the same split")
	}
	all := slices.Concat(a.Train, a.Valid, a.Test)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("split is not a partition of the rows (index %d = %d)", i, v)
		}
	}
	g, err := eval.SplitRows(d, eval.SplitSpec{Method: eval.Random, Seed: 42, ByGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	side := map[string]string{}
	for name, idx := range map[string][]int{"train": g.Train, "valid": g.Valid, "test": g.Test} {
		for _, i := range idx {
			if s, ok := side[d.Group[i]]; ok && s != name {
				t.Fatalf("group %s straddles %s and %s", d.Group[i], s, name)
			}
			side[d.Group[i]] = name
		}
	}
	// Without ByGroup the same data does straddle (the check above can fail).
	straddle := false
	seen := map[string]string{}
	for name, idx := range map[string][]int{"train": a.Train, "valid": a.Valid, "test": a.Test} {
		for _, i := range idx {
			if s, ok := seen[d.Group[i]]; ok && s != name {
				straddle = true
			}
			seen[d.Group[i]] = name
		}
	}
	if !straddle {
		t.Error("row-level random split unexpectedly kept every group together")
	}
}

func TestSplitErrors(t *testing.T) {
	d := timeDataset(100)
	noTime := timeDataset(100)
	noTime.Time = nil
	cases := []struct {
		name string
		d    *model.Dataset
		spec eval.SplitSpec
		want string
	}{
		{"no time", noTime, eval.SplitSpec{}, "needs Dataset.Time"},
		{"fractions", d, eval.SplitSpec{ValidFrac: 0.6, TestFrac: 0.5}, "sum < 1"},
		{"empty test", d, eval.SplitSpec{Cuts: &eval.Cuts{ValidFrom: 10, TestFrom: 1000}}, "empty set"},
		{"reversed cuts", d, eval.SplitSpec{Cuts: &eval.Cuts{ValidFrom: 30, TestFrom: 10}}, "before Cuts.ValidFrom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eval.SplitRows(tc.d, tc.spec)
			if !errors.Is(err, eval.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

func TestComparisonOutputs(t *testing.T) {
	y, p, w := refData()
	good, err := eval.Binary("logreg", y, p, w, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	flat := make([]float64, len(p))
	for i := range flat {
		flat[i] = 0.5
	}
	base, err := eval.Binary("constant", y, flat, w, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if base.AUC != 0.5 || good.AUC <= base.AUC {
		t.Errorf("AUC: constant %v, logreg %v", base.AUC, good.AUC)
	}
	var buf bytes.Buffer
	if err := eval.WriteComparison(&buf, good, base); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if !strings.Contains(lines[0], "logreg") || !strings.Contains(lines[0], "constant") {
		t.Errorf("header %q", lines[0])
	}
	for _, l := range lines {
		if len(l) != len(lines[0]) {
			t.Errorf("misaligned table:\n%s", buf.String())
			break
		}
	}
	if !strings.Contains(buf.String(), "0.9763") { // weighted AUC of the reference data
		t.Errorf("table lacks the AUC:\n%s", buf.String())
	}
	buf.Reset()
	if err := eval.WriteComparisonJSON(&buf, good, base); err != nil {
		t.Fatal(err)
	}
	var back []eval.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0].AUC != good.AUC || back[1].Name != "constant" || len(back[0].Reliability) != 10 {
		t.Errorf("JSON round trip = %+v", back)
	}
	m := good.Metrics("test_")
	if m["test_auc"] != good.AUC || len(m) != 10 {
		t.Errorf("Metrics = %v", m)
	}
}

// TestClassNames: a report on a foreign label names its classes after it,
// in the confusion matrix and in the comparison table, with the same
// numbers as the default names.
func TestClassNames(t *testing.T) {
	y := []float64{1, 0, 1, 0, 0, 1, 0, 0}
	p := []float64{0.9, 0.2, 0.4, 0.7, 0.1, 0.8, 0.3, 0.6}
	named, err := eval.Binary("m", y, p, nil, eval.Options{Positive: "churned=1", Negative: "churned=0"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := eval.Binary("m", y, p, nil, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range []string{"churned=1", "churned=0"} {
		if c := named.Confusion.Classes[k]; c.Class != want || c.Precision != plain.Confusion.Classes[k].Precision {
			t.Errorf("class %d: %+v, want %s with the numbers of %+v", k, c, want, plain.Confusion.Classes[k])
		}
	}
	var b bytes.Buffer
	if err := eval.WriteComparison(&b, named); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "churned=1 precision") || !strings.Contains(b.String(), "churned=0 F1") || strings.Contains(b.String(), "late") {
		t.Fatalf("comparison:\n%s", b.String())
	}
	if _, err := eval.ConfusionNamed(y, p, 0.5, "a", "a"); err == nil {
		t.Fatal("equal class names were accepted")
	}
}
