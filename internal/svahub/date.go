package svahub

import (
	"fmt"
	"time"
)

// DateLayout is the wire and storage layout of calendar dates.
const DateLayout = "2006-01-02"

// Date is a calendar date without time zone, formatted YYYY-MM-DD.
type Date string

// ParseDate parses and normalises a YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return "", fmt.Errorf("data inválida %q: use o formato AAAA-MM-DD", s)
	}
	return Date(t.Format(DateLayout)), nil
}

// DateOf returns the calendar date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	return Date(t.In(loc).Format(DateLayout))
}

// Time returns midnight UTC of the date (zero time if the date is invalid).
func (d Date) Time() time.Time {
	t, _ := time.Parse(DateLayout, string(d))
	return t
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d < o }

// DefaultExpiry is the expiry date given to a subscription registered at now
// without an explicit date: the same day and month one year later, in the
// business time zone loc; 29 February becomes 28 February.
func DefaultExpiry(now time.Time, loc *time.Location) Date {
	y, m, d := now.In(loc).Date()
	if m == time.February && d == 29 {
		d = 28
	}
	return Date(time.Date(y+1, m, d, 0, 0, 0, 0, time.UTC).Format(DateLayout))
}

// DaysIn returns the number of days of the month of the competence "YYYY-MM".
func DaysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
