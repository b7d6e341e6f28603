package keys

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/arcakv/arca"
)

func TestParseDuration(t *testing.T) {
	ref := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"P30D":   ref.AddDate(0, 0, 30),
		"P1Y":    ref.AddDate(1, 0, 0),
		"P18M":   ref.AddDate(0, 18, 0),
		"P2W":    ref.AddDate(0, 0, 14),
		"PT36H":  ref.Add(36 * time.Hour),
		"P1DT1M": ref.AddDate(0, 0, 1).Add(time.Minute),
	} {
		d, err := ParseDuration(in)
		if err != nil || !d.AddTo(ref).Equal(want) {
			t.Errorf("%s: %v %v", in, d.AddTo(ref), err)
		}
	}
	for _, bad := range []string{"", "P", "PT", "30D", "P-1D", "P1.5D", "P999999D", "p30d", "P30DT"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidatePolicy(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ok := []arca.RotationPolicy{
		{ExpiryTime: "P90D", LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "rotate"}}},
		{ExpiryTime: "P1Y", LifetimeActions: []arca.LifetimeAction{{TimeBeforeExpiry: "P30D", Action: "Rotate"}, {TimeBeforeExpiry: "P7D", Action: "notify"}}},
		{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P18M", Action: "Rotate"}}},
	}
	for i, p := range ok {
		if err := ValidatePolicy(&p, now); err != nil {
			t.Errorf("ok[%d]: %v", i, err)
		}
	}
	bad := []arca.RotationPolicy{
		{ExpiryTime: "P27D"},
		{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P6D", Action: "Rotate"}}},
		{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", TimeBeforeExpiry: "P30D", Action: "Rotate"}}},
		{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Explode"}}},
		{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Rotate"}, {TimeAfterCreate: "P60D", Action: "Rotate"}}},
		{ExpiryTime: "P60D", LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P58D", Action: "Rotate"}}},
		{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Notify"}}},
	}
	for i, p := range bad {
		if err := ValidatePolicy(&p, now); arca.KindOf(err) != arca.KindInvalid {
			t.Errorf("bad[%d] accepted: %v", i, err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	f.Add("P1Y2M3W4DT5H6M7S")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d.AddTo(time.Unix(0, 0)).Before(time.Unix(0, 0)) {
			t.Fatalf("%q: negative duration", s)
		}
	})
}

func FuzzReleasePolicy(f *testing.F) {
	f.Add([]byte(`{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"x.y","equals":true}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rp := &arca.ReleasePolicy{Data: data}
		if checkReleasePolicy(rp) != nil {
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err == nil {
			evalPolicy(doc, "https://a", map[string]any{"x": map[string]any{"y": true}})
		}
	})
}
