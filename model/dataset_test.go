package model_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/duesight/duesight/model"
)

func smallDataset() *model.Dataset {
	return &model.Dataset{
		Names: []string{"a", "b"},
		X:     [][]float64{{1, 2, 3, 4}, {10, math.NaN(), 30, 40}},
		Y:     []float64{0, 1, 0, 1},
		W:     []float64{1, 2, 1, 0.5},
		Time:  []int64{100, 101, 102, 103},
		Group: []string{"acct1", "acct2", "acct1", "acct3"},
	}
}

func TestDatasetValidate(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*model.Dataset)
		binary bool
		want   string // "" = valid
	}{
		{"valid", func(*model.Dataset) {}, true, ""},
		{"ragged", func(d *model.Dataset) { d.X[1] = d.X[1][:3] }, false, `ragged columns: feature "b" has 3 rows, want 4`},
		{"names vs columns", func(d *model.Dataset) { d.Names = d.Names[:1] }, false, "1 feature names but 2 columns"},
		{"empty name", func(d *model.Dataset) { d.Names[0] = "" }, false, "feature name 0 is empty"},
		{"duplicate name", func(d *model.Dataset) { d.Names[1] = "a" }, false, `"a" appears at positions 0 and 1`},
		{"NaN label", func(d *model.Dataset) { d.Y[2] = math.NaN() }, false, "label Y row 2 is NaN"},
		{"Inf feature", func(d *model.Dataset) { d.X[0][1] = math.Inf(-1) }, false, `feature "a" row 1 is -Inf`},
		{"weights length", func(d *model.Dataset) { d.W = d.W[:2] }, false, "W has 2 entries, want 4"},
		{"negative weight", func(d *model.Dataset) { d.W[3] = -1 }, false, "weight W row 3 is -1"},
		{"zero weights", func(d *model.Dataset) { clear(d.W) }, false, "weights W sum to 0"},
		{"time length", func(d *model.Dataset) { d.Time = d.Time[:1] }, false, "Time has 1 entries"},
		{"group length", func(d *model.Dataset) { d.Group = nil; d.Group = []string{"x"} }, false, "Group has 1 entries"},
		{"non-binary label", func(d *model.Dataset) { d.Y[0] = 0.5 }, true, "label Y row 0 is 0.5, want 0 or 1"},
		{"one class", func(d *model.Dataset) { d.Y = []float64{1, 1, 1, 1} }, true, "both classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := smallDataset()
			tc.mod(d)
			err := d.Validate()
			if tc.binary && err == nil {
				err = d.ValidateBinary()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, model.ErrInvalidData) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidData mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDatasetRowAndSubset(t *testing.T) {
	d := smallDataset()
	if got := d.Rows(); got != 4 {
		t.Fatalf("Rows = %d", got)
	}
	row := d.Row(2, make([]float64, 0, 1))
	if !slices.Equal(row, []float64{3, 30}) {
		t.Errorf("Row(2) = %v", row)
	}
	s := d.Subset([]int{3, 1})
	if s.Rows() != 2 || s.X[0][0] != 4 || !math.IsNaN(s.X[1][1]) || s.Y[0] != 1 || s.W[1] != 2 || s.Time[0] != 103 || s.Group[1] != "acct2" {
		t.Errorf("Subset = %+v", s)
	}
	s.X[0][0] = 99
	if d.X[0][3] != 4 {
		t.Error("Subset shares column storage with its source")
	}
	if err := s.Validate(); err != nil {
		t.Errorf("subset invalid: %v", err)
	}
	if got := d.Column("b"); got == nil || got[2] != 30 {
		t.Errorf("Column(b) = %v", got)
	}
	if d.Column("zzz") != nil {
		t.Error("Column of unknown name should be nil")
	}
}

func TestReasonJSONAndTopK(t *testing.T) {
	rs := []model.Reason{
		{Feature: "a", Value: 1, Contribution: 0.1, Direction: model.Up},
		{Feature: "b", Value: math.NaN(), Contribution: -0.7, Direction: model.Down},
		{Feature: "c", Value: 2, Contribution: 0.7, Direction: model.Up},
		{Feature: "d", Value: 3, Contribution: 0, Direction: model.Neutral},
	}
	top := model.TopReasons(slices.Clone(rs), 2)
	if len(top) != 2 || top[0].Feature != "b" || top[1].Feature != "c" {
		t.Errorf("TopReasons = %v, want b then c (ties keep input order)", top)
	}
	b, err := json.Marshal(rs[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"feature":"b","value":null,"missing":true,"contribution":-0.7,"direction":"down"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back model.Reason
	if err := json.Unmarshal(b, &back); err != nil || back.Feature != "b" || !math.IsNaN(back.Value) || back.Direction != model.Down {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestDistribution(t *testing.T) {
	// Period 0 (on time), then two weeks. Hazards 0.5, 0.5, 0.5:
	// P = 0.5, 0.25, 0.125; S = 0.5, 0.25, 0.125.
	d, err := model.NewDistribution([]int{0, 7, 14}, []float64{0.5, 0.5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if !near(d.Prob[1], 0.25) || !near(d.Survival[2], 0.125) || !near(d.Beyond(), 0.125) {
		t.Errorf("Prob %v Survival %v", d.Prob, d.Survival)
	}
	cases := []struct {
		q    float64
		want float64
		ok   bool
	}{
		{0.3, 0, true},       // within the on-time mass
		{0.5, 0, true},       // exactly F_0
		{0.625, 3.5, true},   // halfway through week 1: 0 + 7·(0.125/0.25)
		{0.8125, 10.5, true}, // halfway through week 2: 7 + 7·(0.0625/0.125)
		{0.9, math.Inf(1), false},
	}
	for _, tc := range cases {
		got, ok := d.Quantile(tc.q)
		if ok != tc.ok || !(near(got, tc.want) || math.IsInf(got, 1) && math.IsInf(tc.want, 1)) {
			t.Errorf("Quantile(%v) = %v, %v; want %v, %v", tc.q, got, ok, tc.want, tc.ok)
		}
	}
	// E = 0.25·4 + 0.125·11 + 0.125·14 = 1 + 1.375 + 1.75
	if got := d.ExpectedDaysLate(); !near(got, 4.125) {
		t.Errorf("ExpectedDaysLate = %v, want 4.125", got)
	}
	if got := d.ProbPaidBy(7); !near(got, 0.75) {
		t.Errorf("ProbPaidBy(7) = %v", got)
	}
	c := d.Condition(7) // unpaid after week 1: only week 2 remains
	if !near(c.Prob[0], 0) || !near(c.Prob[1], 0) || !near(c.Prob[2], 0.5) || !near(c.Beyond(), 0.5) {
		t.Errorf("Condition(7) = %+v", c)
	}
	for _, bad := range []struct {
		ends []int
		h    []float64
	}{
		{[]int{0, 7}, []float64{0.5}},
		{[]int{1, 7}, []float64{0.5, 0.5}},
		{[]int{0, 7, 7}, []float64{0.5, 0.5, 0.5}},
		{[]int{0, 7}, []float64{0.5, 1.5}},
	} {
		if _, err := model.NewDistribution(bad.ends, bad.h); err == nil {
			t.Errorf("NewDistribution(%v, %v): want error", bad.ends, bad.h)
		}
	}
}
