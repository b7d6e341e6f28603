package keyvault

import (
	"regexp"
	"strconv"

	"github.com/arcakv/arca"
)

// LatestAPIVersion is the newest data-plane api-version Arca implements.
const LatestAPIVersion = "2026-04-01"

// apiLevel orders api-versions by the behaviour they select. Unknown but
// well-formed newer versions get the latest level (clients must not break
// when their SDK moves ahead of Arca).
type apiLevel int

const (
	level2015 apiLevel = iota + 1
	level2016
	level70
	level71
	level72
	level73
	level74
	level75
	level76
	level2025
	level2026
)

var apiLevels = map[string]apiLevel{
	"2015-06-01": level2015, "2016-10-01": level2016,
	"7.0": level70, "7.0-preview": level70,
	"7.1": level71, "7.1-preview": level71,
	"7.2": level72, "7.2-preview": level72,
	"7.3": level73, "7.3-preview": level73,
	"7.4": level74, "7.4-preview.1": level74,
	"7.5": level75, "7.5-preview.1": level75,
	"7.6": level76, "7.6-preview.1": level76, "7.6-preview.2": level76,
	"2025-06-01-preview": level2025, "2025-07-01": level2025,
	"2026-01-01-preview": level2026, "2026-03-01-preview": level2026, "2026-04-01": level2026,
}

var (
	dateVersionRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(-preview(\.\d+)?)?$`)
	sevenRE       = regexp.MustCompile(`^7\.(\d+)(-preview(\.\d+)?)?$`)
)

// parseAPIVersion validates an api-version query value.
func parseAPIVersion(v string) (apiLevel, error) {
	if v == "" {
		return 0, arca.Errorf(arca.KindInvalid, "BadParameter",
			"The api-version query parameter is required. Consider using the latest supported version (%s).", LatestAPIVersion)
	}
	if l, ok := apiLevels[v]; ok {
		return l, nil
	}
	if m := dateVersionRE.FindStringSubmatch(v); m != nil && v > LatestAPIVersion {
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		if mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			return level2026, nil
		}
	}
	if m := sevenRE.FindStringSubmatch(v); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 6 && n < 100 {
			return level2026, nil
		}
	}
	return 0, arca.Errorf(arca.KindInvalid, "BadParameter",
		"The specified version (%s) is not recognized. Consider using the latest supported version (%s).", v, LatestAPIVersion)
}
