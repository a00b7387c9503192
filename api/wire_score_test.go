package api

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
)

func sampleScoreResponse(version, id, feature string, p, v float64, day int32, asOfNanos int64) *ScoreResponse {
	d := data.Date(day)
	return &ScoreResponse{ModelVersion: version, AsOf: time.Unix(0, asOfNanos).UTC(), Scores: []InvoiceScore{
		{InvoiceID: id, AccountID: "A" + id, PLate: p, ExpectedDaysLate: math.Abs(v),
			PaymentDate: Quantiles{P10: d, P50: d + 3, P90: d + 40}, RiskTier: "high",
			Reasons: []Reason{{Feature: feature, Value: v, Contribution: p - 0.5}, {Feature: "x", Value: math.NaN(), Contribution: -1e-9}}},
		{InvoiceID: "", AccountID: "a", Reasons: nil},
		{InvoiceID: "z", Reasons: []Reason{}},
	}}
}

func FuzzScoreResponseAppendJSON(f *testing.F) {
	f.Add("gbdt-0123456789abcdef", "inv-1", "hist_late_ratio", 0.42, 3.5, int32(20000), int64(1732521600e9))
	f.Add("<v&>", "a\u2028b\"c\\d\x01", "\xff\xfe", 1e-7, -2e21, int32(0), int64(-1))
	f.Add("", "", "", 0.0, math.Inf(1), int32(1), int64(123456789))
	f.Fuzz(func(t *testing.T, version, id, feature string, p, v float64, day int32, nanos int64) {
		if day < 0 || day > int32(data.MaxDate) {
			return
		}
		r := sampleScoreResponse(version, id, feature, p, v, day, nanos)
		want, err := json.Marshal(r)
		if err != nil {
			return // e.g. a year outside [0, 9999]: encoding/json refuses it
		}
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkScoreResponseEncode(b *testing.B) {
	r := &ScoreResponse{ModelVersion: "gbdt-0123456789abcdef", AsOf: time.Unix(1.7e9, 0).UTC()}
	for i := 0; i < 1000; i++ {
		r.Scores = append(r.Scores, sampleScoreResponse("", "inv-0000001", "hist_days_late_mean", 0.31, 4.25, 20400, 0).Scores[0])
	}
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = r.AppendJSON(buf[:0])
		}
	})
}
