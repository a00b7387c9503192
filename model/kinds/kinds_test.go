package kinds_test

import (
	"slices"
	"testing"

	"github.com/duesight/duesight/model"
	_ "github.com/duesight/duesight/model/kinds"
)

// Importing the package registers exactly the kinds its doc lists.
func TestRegistersEveryKind(t *testing.T) {
	want := []string{"gbdt", "golearn-forest-baseline", "logreg", "weekly-hazard", "weekly-hazard-buckets"}
	if got := model.Kinds(); !slices.Equal(got, want) {
		t.Errorf("registered kinds %v, want %v", got, want)
	}
}
