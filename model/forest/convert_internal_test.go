package forest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/meta"
	"github.com/sjwhitworth/golearn/trees"

	"github.com/duesight/duesight/model"
)

// TestConversionMatchesGolearn checks that every converted tree gives, for
// every row, exactly the leaf class frequency that golearn's own
// ID3DecisionTree.PredictProba returns.
func TestConversionMatchesGolearn(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const n = 400
	d := &model.Dataset{Names: []string{"a", "b", "c"}, X: [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}, Y: make([]float64, n)}
	for i := range n {
		a, b, c := r.NormFloat64(), math.Round(r.NormFloat64()*2), r.Float64()
		d.X[0][i], d.X[1][i], d.X[2][i] = a, b, c
		if a+0.5*b-c+0.5*r.NormFloat64() > 0 {
			d.Y[i] = 1
		}
	}
	inst, attrs, err := toInstances(d, []float64{0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for j, a := range attrs {
		index[a.GetName()] = j
	}
	bag := &meta.BaggedModel{RandomFeatures: 2}
	for range 6 {
		bag.AddModel(trees.NewID3DecisionTree(0))
	}
	if err := fitBag(bag, inst); err != nil {
		t.Fatal(err)
	}
	m := &Model{names: d.Names, fill: []float64{0, 0, 0}}
	for ti, c := range bag.Models {
		tree := c.(*trees.ID3DecisionTree)
		nodes, err := convert(tree.Root, index)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) < 3 {
			t.Errorf("tree %d has only %d nodes: nothing learned", ti, len(nodes))
		}
		for i := 0; i < n; i += 7 {
			view := base.NewInstancesViewFromVisible(inst, []int{i}, inst.AllAttributes())
			probs, err := tree.PredictProba(view)
			if err != nil {
				t.Fatal(err)
			}
			want := 0.0
			for _, p := range probs {
				if p.ClassValue == "1" {
					want = p.Probability
				}
			}
			got := nodes[m.leaf(nodes, d.Row(i, nil))].freq()
			if math.Abs(got-want) > 1e-12 {
				t.Fatalf("tree %d row %d: converted leaf frequency %v, golearn %v", ti, i, got, want)
			}
		}
	}
}
