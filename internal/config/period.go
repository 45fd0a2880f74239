package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Period is a length of time set as a Go duration ("36h", "90m") or in
// whole days ("90d"); "0" means none. Durations longer than about 290
// years do not fit.
type Period time.Duration

// errPeriodSyntax is the message of an unreadable Period.
var errPeriodSyntax = errors.New("must be 0 or a duration such as 90d or 36h")

// UnmarshalText implements encoding.TextUnmarshaler (the env parser).
func (p *Period) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > int64(1<<63-1)/int64(24*time.Hour) || n < -int64(1<<63-1)/int64(24*time.Hour) {
			return errPeriodSyntax
		}
		*p = Period(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	if s == "0" {
		*p = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errPeriodSyntax
	}
	*p = Period(d)
	return nil
}

// Duration returns the period as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) }

// String writes whole days as "90d", zero as "0" and anything else as a
// Go duration.
func (p Period) String() string {
	d := time.Duration(p)
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
