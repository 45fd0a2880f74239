package svahub_test

import (
	"testing"
	"time"
	_ "time/tzdata" // America/Sao_Paulo even where the system has no zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func saoPaulo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	return loc
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    svahub.Date
		wantErr bool
	}{
		{in: "2026-11-27", want: "2026-11-27"},
		{in: "2026-01-01", want: "2026-01-01"},
		{in: "2026-12-31", want: "2026-12-31"},
		{in: "2028-02-29", want: "2028-02-29"},
		{in: "2026-02-28", want: "2026-02-28"},

		{in: "", wantErr: true},
		{in: "2026-02-29", wantErr: true}, // 2026 is not a leap year
		{in: "2026-02-30", wantErr: true},
		{in: "2026-04-31", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "2026-00-10", wantErr: true},
		{in: "2026-01-00", wantErr: true},
		{in: "2026-01-32", wantErr: true},
		{in: "27/11/2026", wantErr: true},
		{in: "2026/11/27", wantErr: true},
		{in: "2026-1-5", wantErr: true},
		{in: "26-11-27", wantErr: true},
		{in: "2026-11-27T00:00:00Z", wantErr: true},
		{in: " 2026-11-27", wantErr: true},
		{in: "2026-11-27 ", wantErr: true},
		{in: "hoje", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := svahub.ParseDate(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				require.Contains(t, err.Error(), "AAAA-MM-DD")
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDefaultExpiry(t *testing.T) {
	t.Parallel()
	sp := saoPaulo(t)
	tests := []struct {
		name string
		now  time.Time
		want svahub.Date
	}{
		{
			name: "normal day",
			now:  time.Date(2026, time.November, 27, 15, 0, 0, 0, time.UTC),
			want: "2027-11-27",
		},
		{
			name: "early UTC hours are still the previous day in Sao Paulo",
			now:  time.Date(2026, time.November, 28, 2, 30, 0, 0, time.UTC), // 23:30 of the 27th in São Paulo
			want: "2027-11-27",
		},
		{
			name: "just after midnight in Sao Paulo is the new day",
			now:  time.Date(2026, time.November, 28, 3, 0, 0, 0, time.UTC), // 00:00 of the 28th in São Paulo
			want: "2027-11-28",
		},
		{
			name: "new year's eve late evening in Sao Paulo",
			now:  time.Date(2027, time.January, 1, 2, 59, 59, 0, time.UTC), // 23:59:59 of 31 Dec 2026
			want: "2027-12-31",
		},
		{
			name: "instant given in another zone is converted",
			now:  time.Date(2026, time.November, 28, 9, 0, 0, 0, time.FixedZone("JST", 9*3600)), // 21:00 of the 27th in São Paulo
			want: "2027-11-27",
		},
		{
			name: "29 February becomes 28 February",
			now:  time.Date(2028, time.February, 29, 12, 0, 0, 0, time.UTC),
			want: "2029-02-28",
		},
		{
			name: "29 February in Sao Paulo while already 1 March in UTC",
			now:  time.Date(2028, time.March, 1, 1, 0, 0, 0, time.UTC), // 22:00 of 29 Feb in São Paulo
			want: "2029-02-28",
		},
		{
			name: "28 February of a year before a leap year stays 28 February",
			now:  time.Date(2027, time.February, 28, 12, 0, 0, 0, time.UTC),
			want: "2028-02-28",
		},
		{
			name: "1 March stays 1 March",
			now:  time.Date(2028, time.March, 1, 12, 0, 0, 0, time.UTC),
			want: "2029-03-01",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := svahub.DefaultExpiry(tt.now, sp)
			require.Equal(t, tt.want, got)
			_, err := svahub.ParseDate(string(got))
			require.NoError(t, err, "DefaultExpiry must produce a valid date")
		})
	}

	t.Run("time zone matters", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2026, time.November, 28, 2, 30, 0, 0, time.UTC)
		require.Equal(t, svahub.Date("2027-11-28"), svahub.DefaultExpiry(now, time.UTC))
		require.Equal(t, svahub.Date("2027-11-27"), svahub.DefaultExpiry(now, sp))
	})
}

func TestDateOf(t *testing.T) {
	t.Parallel()
	sp := saoPaulo(t)
	tests := []struct {
		name string
		now  time.Time
		loc  *time.Location
		want svahub.Date
	}{
		{"late evening in Sao Paulo", time.Date(2026, time.November, 28, 2, 30, 0, 0, time.UTC), sp, "2026-11-27"},
		{"same instant in UTC", time.Date(2026, time.November, 28, 2, 30, 0, 0, time.UTC), time.UTC, "2026-11-28"},
		{"midday", time.Date(2026, time.November, 27, 15, 0, 0, 0, time.UTC), sp, "2026-11-27"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, svahub.DateOf(tt.now, tt.loc))
		})
	}
}

func TestDateBeforeAndTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b svahub.Date
		want bool
	}{
		{"2026-11-26", "2026-11-27", true},
		{"2026-11-27", "2026-11-27", false},
		{"2026-11-28", "2026-11-27", false},
		{"2026-09-30", "2026-10-01", true},
		{"2025-12-31", "2026-01-01", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.a)+"<"+string(tt.b), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.a.Before(tt.b))
		})
	}

	t.Run("Time is midnight UTC", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, time.Date(2026, time.November, 27, 0, 0, 0, 0, time.UTC), svahub.Date("2026-11-27").Time())
		require.True(t, svahub.Date("2026-02-30").Time().IsZero())
	})
}

func TestDaysIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		year  int
		month time.Month
		want  int
	}{
		{2026, time.January, 31},
		{2026, time.February, 28},
		{2028, time.February, 29},
		{2100, time.February, 28}, // divisible by 100, not by 400
		{2000, time.February, 29}, // divisible by 400
		{2026, time.March, 31},
		{2026, time.April, 30},
		{2026, time.June, 30},
		{2026, time.September, 30},
		{2026, time.November, 30},
		{2026, time.December, 31},
	}
	for _, tt := range tests {
		t.Run(time.Date(tt.year, tt.month, 1, 0, 0, 0, 0, time.UTC).Format("2006-01"), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, svahub.DaysIn(tt.year, tt.month))
		})
	}
}

func TestExpirySendable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expiry, today svahub.Date
		want          bool
	}{
		{"2026-11-21", "2026-11-20", true},
		{"2026-11-20", "2026-11-20", true}, // today is still usable
		{"2026-11-19", "2026-11-20", false},
		{"", "2026-11-20", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.expiry)+"@"+string(tt.today), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, svahub.ExpirySendable(tt.expiry, tt.today))
		})
	}
}
