package gbdt_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/duesight/duesight/model/gbdt"
)

func TestParamsSet(t *testing.T) {
	p := gbdt.DefaultParams()
	for _, kv := range [][2]string{
		{"objective", "multi:softprob"}, {"num_class", "5"}, {"num_round", "50"}, {"learning_rate", "0.05"},
		{"max_depth", "8"}, {"max_leaves", "63"}, {"grow_policy", "lossguide"}, {"min_child_weight", "2.5"},
		{"reg_lambda", "3"}, {"alpha", "0.5"}, {"min_split_loss", "0.1"}, {"subsample", "0.8"},
		{"colsample_bytree", "0.7"}, {"colsample_bynode", "0.9"}, {"max_bin", "128"},
		{"monotone_constraints", "(1,0,-1)"}, {"base_score", "0.3"}, {"early_stopping_rounds", "10"},
		{"eval_metric", "mlogloss"}, {"seed", "7"}, {"nthread", "2"}, {"tree_method", "hist"},
	} {
		if err := p.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%s, %s): %v", kv[0], kv[1], err)
		}
	}
	want := gbdt.Params{
		Objective: gbdt.MultiSoftprob, NumClass: 5, NumRounds: 50, Eta: 0.05, MaxDepth: 8, MaxLeaves: 63,
		GrowPolicy: gbdt.LossGuide, MinChildWeight: 2.5, Lambda: 3, Alpha: 0.5, Gamma: 0.1, Subsample: 0.8,
		ColsampleByTree: 0.7, ColsampleByNode: 0.9, MaxBin: 128, BaseScore: 0.3, ScalePosWeight: 1,
		EarlyStoppingRounds: 10, EvalMetric: gbdt.MetricMLogLoss, Seed: 7, NThread: 2,
	}
	got := p
	got.MonotoneConstraints = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if len(p.MonotoneConstraints) != 3 || p.MonotoneConstraints[0] != 1 || p.MonotoneConstraints[2] != -1 {
		t.Errorf("monotone_constraints %v", p.MonotoneConstraints)
	}
	for _, kv := range [][2]string{{"no_such", "1"}, {"eta", "fast"}, {"max_depth", "1.5"}, {"tree_method", "exact"}, {"monotone_constraints", "(1,x)"}} {
		if err := p.Set(kv[0], kv[1]); err == nil {
			t.Errorf("Set(%s, %s): no error", kv[0], kv[1])
		}
	}
}

func TestParamsValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*gbdt.Params)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*gbdt.Params) {}, ""},
		{"zero value", func(p *gbdt.Params) { *p = gbdt.Params{} }, "eta"},
		{"objective", func(p *gbdt.Params) { p.Objective = "rank:ndcg" }, "objective"},
		{"multiclass without classes", func(p *gbdt.Params) { p.Objective = gbdt.MultiSoftprob }, "num_class"},
		{"eta > 1", func(p *gbdt.Params) { p.Eta = 1.5 }, "eta"},
		{"rounds", func(p *gbdt.Params) { p.NumRounds = 0 }, "num_round"},
		{"depth 0 depthwise", func(p *gbdt.Params) { p.MaxDepth = 0 }, "max_depth=0"},
		{"lossguide unbounded", func(p *gbdt.Params) { p.GrowPolicy, p.MaxDepth = gbdt.LossGuide, 0 }, "lossguide"},
		{"lossguide leaves", func(p *gbdt.Params) { p.GrowPolicy, p.MaxDepth, p.MaxLeaves = gbdt.LossGuide, 0, 31 }, ""},
		{"max_leaves 1", func(p *gbdt.Params) { p.MaxLeaves = 1 }, "max_leaves"},
		{"negative lambda", func(p *gbdt.Params) { p.Lambda = -1 }, "lambda"},
		{"NaN gamma", func(p *gbdt.Params) { p.Gamma = math.NaN() }, "gamma"},
		{"subsample 0", func(p *gbdt.Params) { p.Subsample = 0 }, "subsample"},
		{"max_bin 300", func(p *gbdt.Params) { p.MaxBin = 300 }, "max_bin"},
		{"monotone length", func(p *gbdt.Params) { p.MonotoneConstraints = []int{1} }, "monotone_constraints"},
		{"monotone value", func(p *gbdt.Params) { p.MonotoneConstraints = []int{2, 0, 0} }, "monotone_constraints[0]"},
		{"base score prob", func(p *gbdt.Params) { p.BaseScore = 1 }, "base_score"},
		{"spw regression", func(p *gbdt.Params) { p.Objective, p.ScalePosWeight = gbdt.RegSquaredError, 2 }, "scale_pos_weight"},
		{"metric mismatch", func(p *gbdt.Params) { p.EvalMetric = gbdt.MetricRMSE }, "eval_metric"},
		{"several", func(p *gbdt.Params) { p.Eta, p.MaxBin = 0, 1 }, "max_bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := gbdt.DefaultParams()
			c.mod(&p)
			err := p.Validate(3)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestTrainRejectsBadData(t *testing.T) {
	nan := math.NaN()
	good := func() gbdt.Dataset {
		return gbdt.Dataset{X: [][]float64{{1, 2, 3}, {4, 5, 6}}, Y: []float64{0, 1, 0}}
	}
	cases := []struct {
		name  string
		mod   func(*gbdt.Dataset, *gbdt.Params)
		valid *gbdt.Dataset
		want  string
	}{
		{"no columns", func(d *gbdt.Dataset, _ *gbdt.Params) { d.X = nil }, nil, "no feature columns"},
		{"no rows", func(d *gbdt.Dataset, _ *gbdt.Params) { d.X = [][]float64{{}}; d.Y = nil }, nil, "no rows"},
		{"ragged", func(d *gbdt.Dataset, _ *gbdt.Params) { d.X[1] = d.X[1][:2] }, nil, "column 1 has 2 rows"},
		{"labels", func(d *gbdt.Dataset, _ *gbdt.Params) { d.Y = d.Y[:2] }, nil, "2 labels for 3 rows"},
		{"binary label", func(d *gbdt.Dataset, _ *gbdt.Params) { d.Y[1] = 2 }, nil, "label of row 1"},
		{"NaN label", func(d *gbdt.Dataset, p *gbdt.Params) { p.Objective = gbdt.RegSquaredError; d.Y[0] = nan }, nil, "not finite"},
		{"class label", func(d *gbdt.Dataset, p *gbdt.Params) { p.Objective, p.NumClass = gbdt.MultiSoftprob, 2; d.Y[0] = 2 }, nil, "class index"},
		{"weights length", func(d *gbdt.Dataset, _ *gbdt.Params) { d.Weight = []float64{1} }, nil, "1 weights for 3 rows"},
		{"negative weight", func(d *gbdt.Dataset, _ *gbdt.Params) { d.Weight = []float64{1, -1, 1} }, nil, "weight of row 1"},
		{"zero weights", func(d *gbdt.Dataset, _ *gbdt.Params) { d.Weight = []float64{0, 0, 0} }, nil, "positive total"},
		{"names", func(d *gbdt.Dataset, _ *gbdt.Params) { d.FeatureNames = []string{"a"} }, nil, "1 feature names"},
		{"valid width", func(*gbdt.Dataset, *gbdt.Params) {}, &gbdt.Dataset{X: [][]float64{{1}}, Y: []float64{1}}, "valid set has 1 features"},
		{"early stopping without valid", func(_ *gbdt.Dataset, p *gbdt.Params) { p.EarlyStoppingRounds = 3 }, nil, "needs a validation set"},
		{"bad params", func(_ *gbdt.Dataset, p *gbdt.Params) { p.Eta = 0 }, nil, "eta"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, p := good(), gbdt.DefaultParams()
			c.mod(&d, &p)
			m, err := gbdt.Train(context.Background(), d, c.valid, p)
			if err == nil || m != nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one mentioning %q", err, c.want)
			}
		})
	}
	// Prediction input checks.
	m, err := gbdt.Train(context.Background(), good(), nil, gbdt.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(nil, []float64{1}); err == nil {
		t.Error("short row accepted")
	}
	if _, err := m.PredictColumns(nil, [][]float64{{1}}, gbdt.PredictOptions{}); err == nil {
		t.Error("one column accepted for two features")
	}
	if _, err := m.PredictColumns(nil, [][]float64{{1, 2}, {1}}, gbdt.PredictOptions{}); err == nil {
		t.Error("ragged columns accepted")
	}
	if _, err := m.PredictRows(nil, [][]float64{{1, 2}, {1}}, gbdt.PredictOptions{}); err == nil {
		t.Error("short row in batch accepted")
	}
	if _, err := m.Contributions(nil, []float64{1, 2, 3}); err == nil {
		t.Error("long row accepted by Contributions")
	}
	if _, err := m.Importance("bogus"); err == nil {
		t.Error("unknown importance kind accepted")
	}
}

// TestScalePosWeightByHand: y = 1,0,0,0 with scale_pos_weight 3 weighs the
// positive 3 against 3 negatives, so the estimated base probability is
// 3/6 = 0.5 (margin 0); without it, 1/4 (margin log(1/3)).
func TestScalePosWeightByHand(t *testing.T) {
	d := gbdt.Dataset{X: [][]float64{{1, 2, 3, 4}}, Y: []float64{1, 0, 0, 0}}
	for _, c := range []struct {
		spw, want float64
	}{{3, 0}, {1, math.Log(1.0 / 3)}} {
		p := gbdt.DefaultParams()
		p.NumRounds = 1
		p.ScalePosWeight = c.spw
		m, err := gbdt.Train(context.Background(), d, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.BaseMargins()[0]; math.Abs(got-c.want) > 1e-12 {
			t.Errorf("scale_pos_weight=%v: base margin %v, want %v", c.spw, got, c.want)
		}
	}
}
