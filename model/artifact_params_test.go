package model_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/logreg"
)

func TestMetaParamsMergeAndLink(t *testing.T) {
	d := &model.Dataset{Names: []string{"a"}, X: [][]float64{{0, 1, 2, 3, 4, 5}}, Y: []float64{0, 0, 1, 0, 1, 1}}
	m, err := logreg.Fit(t.Context(), d, logreg.Params{L2: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := model.Meta{SchemaVersion: "s/1", TrainFrom: "2024-01-01", TrainTo: "2024-02-01",
		CreatedAt: time.Unix(1e9, 0), Params: map[string]any{"timing_model": "timing-0123456789abcdef"}}
	a, err := model.NewArtifact(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := model.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var link string
	if ok, err := back.Header.Param("timing_model", &link); !ok || err != nil || link != "timing-0123456789abcdef" {
		t.Fatalf("Param(timing_model) = %q, %v, %v", link, ok, err)
	}
	var l2 float64
	if ok, _ := back.Header.Param("l2", &l2); !ok || l2 != 1 {
		t.Fatalf("the predictor's own params were lost: l2 = %v, %v", l2, ok)
	}
	// The link is part of the model's identity.
	meta.Params["timing_model"] = "timing-fedcba9876543210"
	other, err := model.NewArtifact(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	if other.Header.Version == a.Header.Version {
		t.Fatal("a different timing link gave the same version")
	}
	meta.Params = map[string]any{"l2": 5}
	if _, err := model.NewArtifact(m, meta); err == nil {
		t.Fatal("a Meta.Params key colliding with a predictor param was accepted")
	}
}
