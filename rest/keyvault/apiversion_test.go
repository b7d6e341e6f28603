package keyvault

import "testing"

func FuzzParseAPIVersion(f *testing.F) {
	for v := range apiLevels {
		f.Add(v)
	}
	f.Add("2027-02-30-preview.3")
	f.Fuzz(func(t *testing.T, v string) {
		l, err := parseAPIVersion(v)
		if err == nil && (l < level2015 || l > level2026) {
			t.Fatalf("%q: level %d", v, l)
		}
		if err != nil && l != 0 {
			t.Fatalf("%q: level with error", v)
		}
	})
}
