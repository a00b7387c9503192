package features_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

func TestCatalog(t *testing.T) {
	cat := features.Catalog()
	if len(cat) != features.NumFeatures || len(features.Names()) != features.NumFeatures {
		t.Fatalf("catalog has %d specs, names %d, NumFeatures %d", len(cat), len(features.Names()), features.NumFeatures)
	}
	groups := map[features.Group]bool{features.GroupHistory: true, features.GroupOpen: true, features.GroupInvoice: true,
		features.GroupDisputes: true, features.GroupPromises: true, features.GroupContacts: true, features.GroupAccount: true}
	valid := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	tb := features.NewTable()
	for _, f := range tb.ArrowSchema().Fields()[:len(tb.ArrowSchema().Fields())-features.NumFeatures] {
		seen[f.Name] = true // key and label columns
	}
	for i, s := range cat {
		switch {
		case !valid.MatchString(s.Name):
			t.Errorf("spec %d: name %q is not snake_case", i, s.Name)
		case seen[s.Name]:
			t.Errorf("spec %d: name %q repeats a feature or key column", i, s.Name)
		case !groups[s.Group]:
			t.Errorf("%s: unknown group %q", s.Name, s.Group)
		case s.Unit == "" || len(s.Definition) < 15:
			t.Errorf("%s: unit or definition missing", s.Name)
		}
		seen[s.Name] = true
	}
	cat[0].Name = "changed"
	if features.Catalog()[0].Name == "changed" {
		t.Fatal("Catalog returned shared storage")
	}
}

// TestSchemaHash recomputes the documented formula.
func TestSchemaHash(t *testing.T) {
	h := sha256.New()
	fmt.Fprintf(h, "duesight-features/v%d\n", features.SchemaVersion)
	for _, n := range features.Names() {
		fmt.Fprintf(h, "%s\n", n)
	}
	want := hex.EncodeToString(h.Sum(nil)[:16])
	if got := features.SchemaHash(); got != want || len(got) != 32 {
		t.Fatalf("SchemaHash() = %s, want %s", got, want)
	}
}

// TestVectorWritesEverySlot: Vector assigns every column, whatever dst held,
// and reuses dst's storage.
func TestVectorWritesEverySlot(t *testing.T) {
	const sentinel = 12345.678
	g := &gen{r: rand.New(rand.NewPCG(4, 4))}
	for k := range 50 {
		h := g.history(fmt.Sprintf("a%d", k))
		st, err := features.Replay(h, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float64, features.NumFeatures, features.NumFeatures+3)
		for j := range dst {
			dst[j] = sentinel
		}
		inv := data.Invoice{ID: "x", AccountID: h.Account.ID, IssueDate: data.NewDate(2025, 1, 1), DueDate: data.NewDate(2025, 1, 2),
			Amount: 10, Currency: "EUR"}
		v := st.Vector(data.MaxDate.Time(), inv, dst)
		if &v[0] != &dst[0] {
			t.Fatal("Vector did not reuse dst")
		}
		for j, x := range v {
			if x == sentinel {
				t.Fatalf("account %d: feature %s not written", k, features.Names()[j])
			}
		}
	}
}
