package calibrate_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/eval"
)

func TestIsotonicHandComputed(t *testing.T) {
	cases := []struct {
		name            string
		s, y, w         []float64
		wantX, wantY    []float64
		query, queryOut []float64
	}{
		{
			// PAV: (1,0) violate → pool 0.5; then 1 ok; (1,0) violate → pool
			// 0.5, equal to the previous block so no further merge; then 1.
			name:  "alternating",
			s:     []float64{0.1, 0.2, 0.3, 0.4, 0.5},
			y:     []float64{1, 0, 1, 0, 1},
			wantX: []float64{0.1, 0.2, 0.3, 0.4, 0.5},
			wantY: []float64{0.5, 0.5, 0.5, 0.5, 1},
			// 0.45 lies halfway between knots (0.4, 0.5) and (0.5, 1).
			query: []float64{0, 0.15, 0.45, 0.9}, queryOut: []float64{0.5, 0.5, 0.75, 1},
		},
		{
			// Weighted: (1 | w=1), (0 | w=1) pool to 0.5 (w=2); then 0 (w=2)
			// violates: (1·1 + 0 + 0) / 4 = 0.25.
			name:  "weighted pool",
			s:     []float64{1, 2, 3},
			y:     []float64{1, 0, 0},
			w:     []float64{1, 1, 2},
			wantX: []float64{1, 3},
			wantY: []float64{0.25, 0.25},
			query: []float64{2}, queryOut: []float64{0.25},
		},
		{
			// Tied scores are averaged before PAV: score 0.5 → (0+1+1)/3.
			name:  "ties",
			s:     []float64{0.5, 0.2, 0.5, 0.5, 0.9},
			y:     []float64{0, 0, 1, 1, 1},
			wantX: []float64{0.2, 0.5, 0.9},
			wantY: []float64{0, 2.0 / 3, 1},
			query: []float64{0.35}, queryOut: []float64{1.0 / 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := calibrate.FitIsotonic(tc.s, tc.y, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if !near(c.X, tc.wantX) || !near(c.Y, tc.wantY) {
				t.Errorf("knots x=%v y=%v, want x=%v y=%v", c.X, c.Y, tc.wantX, tc.wantY)
			}
			for i, q := range tc.query {
				if got := c.Apply(q); math.Abs(got-tc.queryOut[i]) > 1e-12 {
					t.Errorf("Apply(%v) = %v, want %v", q, got, tc.queryOut[i])
				}
			}
		})
	}
}

func near(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

// refScores mirrors testdata/sklearn_reference.py.
func refScores() (s, y, w []float64) {
	for i := range 60 {
		k := (i * 37) % 50
		s = append(s, float64(k)/50)
		if k+(i*13)%41 > 45 {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
		w = append(w, float64(1+i%4))
	}
	return
}

// TestMatchesSklearn: references printed by testdata/sklearn_reference.py:
// IsotonicRegression(out_of_bounds="clip").fit(s, y[, sample_weight=w]).predict(q)
// and sklearn.calibration._sigmoid_calibration(logit(s), y) (scikit-learn 1.2.1).
func TestMatchesSklearn(t *testing.T) {
	s, y, w := refScores()
	q := []float64{0.0, 0.05, 0.23, 0.5, 0.61, 0.87, 0.99}
	cases := []struct {
		name string
		w    []float64
		want []float64
	}{
		{"isotonic weighted", w, []float64{0.0, 0.0, 0.2903225806451613, 0.6190476190476191, 0.6190476190476191, 1.0, 1.0}},
		{"isotonic unweighted", nil, []float64{0.0, 0.0, 0.2222222222222222, 0.5714285714285714, 0.6, 1.0, 1.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := calibrate.FitIsotonic(s, y, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range q {
				if got := c.Apply(v); math.Abs(got-tc.want[i]) > 1e-12 {
					t.Errorf("Apply(%v) = %v, sklearn %v", v, got, tc.want[i])
				}
			}
		})
	}
	t.Run("platt", func(t *testing.T) {
		c, err := calibrate.FitPlatt(s, y, nil)
		if err != nil {
			t.Fatal(err)
		}
		// sklearn's fmin_bfgs stops at gtol 1e-5, so compare loosely.
		if math.Abs(c.A-(-0.9812759704238948)) > 1e-4 || math.Abs(c.B-(-0.020640853855989454)) > 1e-4 {
			t.Errorf("A, B = %v, %v; sklearn -0.98128, -0.02064", c.A, c.B)
		}
	})
}

// miscalibrated draws scores that are overconfident: the true probability is
// σ(z) but the model reports σ(2.5z + 0.8).
func miscalibrated(n int, seed uint64) (score, label []float64) {
	r := rand.New(rand.NewPCG(seed, 3))
	for range n {
		z := r.NormFloat64()
		score = append(score, 1/(1+math.Exp(-(2.5*z+0.8))))
		l := 0.0
		if r.Float64() < 1/(1+math.Exp(-z)) {
			l = 1
		}
		label = append(label, l)
	}
	return
}

func TestCalibrationImprovesECE(t *testing.T) {
	validS, validY := miscalibrated(5000, 1)
	testS, testY := miscalibrated(5000, 2)
	before, err := eval.ECE(testY, testS, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if before < 0.08 {
		t.Fatalf("synthetic scores are not miscalibrated enough: ECE %v", before)
	}
	fits := []struct {
		name string
		fit  func(s, y, w []float64) (calibrate.Calibrator, error)
	}{
		{"isotonic", func(s, y, w []float64) (calibrate.Calibrator, error) { return calibrate.FitIsotonic(s, y, w) }},
		{"platt", func(s, y, w []float64) (calibrate.Calibrator, error) { return calibrate.FitPlatt(s, y, w) }},
	}
	for _, f := range fits {
		t.Run(f.name, func(t *testing.T) {
			c, err := f.fit(validS, validY, nil)
			if err != nil {
				t.Fatal(err)
			}
			cal := make([]float64, len(testS))
			for i, s := range testS {
				cal[i] = c.Apply(s)
			}
			after, err := eval.ECE(testY, cal, nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			if after > 0.03 || after > before/3 {
				t.Errorf("ECE before %.4f, after %.4f: calibration did not fix the overconfidence", before, after)
			}
			aucBefore, _ := eval.AUC(testY, testS, nil)
			aucAfter, _ := eval.AUC(testY, cal, nil)
			if aucAfter < aucBefore-0.01 {
				t.Errorf("AUC dropped from %.4f to %.4f", aucBefore, aucAfter)
			}
		})
	}
}

func TestMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var s, y []float64
	for range 500 {
		v := r.Float64()
		s = append(s, v)
		l := 0.0
		if r.Float64() < v*v {
			l = 1
		}
		y = append(y, l)
	}
	iso, err := calibrate.FitIsotonic(s, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	platt, err := calibrate.FitPlatt(s, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []calibrate.Calibrator{iso, platt} {
		prev := math.Inf(-1)
		for i := 0; i <= 1000; i++ {
			v := c.Apply(float64(i) / 1000)
			if v < prev-1e-15 || v < 0 || v > 1 {
				t.Fatalf("%s not monotone in [0,1] at %v: %v after %v", c.Method(), float64(i)/1000, v, prev)
			}
			prev = v
		}
	}
}

func TestSerialisation(t *testing.T) {
	s, y, _ := refScores()
	iso, _ := calibrate.FitIsotonic(s, y, nil)
	platt, _ := calibrate.FitPlatt(s, y, nil)
	for _, c := range []calibrate.Calibrator{iso, platt} {
		b, err := calibrate.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := calibrate.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []float64{0, 0.13, 0.5, 0.77, 1} {
			if back.Apply(q) != c.Apply(q) {
				t.Errorf("%s: Apply(%v) changed after round trip", c.Method(), q)
			}
		}
		b2, _ := calibrate.Marshal(back)
		if string(b) != string(b2) {
			t.Errorf("%s: re-encoding differs", c.Method())
		}
	}
	bad := []struct{ in, want string }{
		{`{"method":"magic"}`, `unknown calibration method "magic"`},
		{`{"method":"isotonic","x":[0,1],"y":[0.5]}`, "equal, non-zero numbers of knots"},
		{`{"method":"isotonic","x":[0,1],"y":[0.6,0.5]}`, "knot 1 decreases"},
		{`{"method":"platt","a":1,"b":2,"c":3}`, "unknown field"},
		{`[`, "not a JSON object"},
	}
	for _, tc := range bad {
		_, err := calibrate.Unmarshal([]byte(tc.in))
		if !errors.Is(err, calibrate.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Unmarshal(%s) = %v, want ErrInvalid mentioning %q", tc.in, err, tc.want)
		}
	}
}

func TestFitErrors(t *testing.T) {
	cases := []struct {
		name    string
		s, y, w []float64
		platt   bool
		want    string
	}{
		{"empty", nil, nil, nil, false, "no scores"},
		{"lengths", []float64{0.1}, []float64{0, 1}, nil, false, "1 scores but 2 labels"},
		{"NaN score", []float64{math.NaN()}, []float64{0}, nil, false, "score 0 is NaN"},
		{"negative weight", []float64{0.1, 0.2}, []float64{0, 1}, []float64{1, -2}, false, "weight 1 is -2"},
		{"platt label", []float64{0.1, 0.2}, []float64{0, 0.5}, nil, true, "label 1 is 0.5"},
		{"platt one class", []float64{0.1, 0.2}, []float64{1, 1}, nil, true, "both classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.platt {
				_, err = calibrate.FitPlatt(tc.s, tc.y, tc.w)
			} else {
				_, err = calibrate.FitIsotonic(tc.s, tc.y, tc.w)
			}
			if !errors.Is(err, calibrate.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}
