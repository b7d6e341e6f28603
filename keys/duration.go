package keys

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Duration is an ISO 8601 duration as rotation policies use them
// (PnYnMnWnD, with an optional time part TnHnMnS).
type Duration struct {
	Years, Months, Weeks, Days, Hours, Minutes, Seconds int
}

var durationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// ParseDuration parses an ISO 8601 duration; components are limited to
// 5 digits each and at least one component must be present.
func ParseDuration(s string) (Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return Duration{}, fmt.Errorf("%q is not an ISO 8601 duration", s)
	}
	var v [7]int
	for i := 1; i <= 7; i++ {
		if m[i] == "" {
			continue
		}
		if len(m[i]) > 5 {
			return Duration{}, fmt.Errorf("%q: component too large", s)
		}
		v[i-1], _ = strconv.Atoi(m[i])
	}
	return Duration{Years: v[0], Months: v[1], Weeks: v[2], Days: v[3], Hours: v[4], Minutes: v[5], Seconds: v[6]}, nil
}

// AddTo returns t plus d (calendar arithmetic for years, months and days).
func (d Duration) AddTo(t time.Time) time.Time {
	return t.AddDate(d.Years, d.Months, 7*d.Weeks+d.Days).
		Add(time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute + time.Duration(d.Seconds)*time.Second)
}

// SubFrom returns t minus d.
func (d Duration) SubFrom(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -7*d.Weeks-d.Days).
		Add(-(time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute + time.Duration(d.Seconds)*time.Second))
}

// AtLeast reports whether d is at least days long (measured from ref).
func (d Duration) AtLeast(days int, ref time.Time) bool {
	return !d.AddTo(ref).Before(ref.AddDate(0, 0, days))
}
