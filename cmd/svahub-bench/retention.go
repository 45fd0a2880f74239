package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// retentionDefault is svahub's default SVAHUB_TRANSMISSION_RETENTION.
const retentionDefault = 90 * 24 * time.Hour

// debtDialect returns the store dialect and data source of the debt
// scenario's database URL.
func debtDialect(backend, dbURL string) (dialect, dsn string) {
	if backend == "sqlite" {
		return store.DialectSQLite, strings.TrimPrefix(dbURL, "sqlite://")
	}
	return store.DialectPostgres, dbURL
}

// fillExpired inserts n transmissions 91 to 150 days old (past svahub's
// default retention) with bulk SQL, and returns how long it took.
func fillExpired(ctx context.Context, backend, dbURL string, n int) (time.Duration, error) {
	dialect, dsn := debtDialect(backend, dbURL)
	db, err := store.OpenRaw(ctx, dialect, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	now, start := time.Now(), time.Now()
	err = storetest.FillTransmissions(ctx, db, dialect, storetest.Fill{Rows: n,
		From: now.Add(-150 * 24 * time.Hour), To: now.Add(-retentionDefault - 24*time.Hour)})
	return time.Since(start), err
}

// countExpired counts the transmissions older than svahub's default
// retention.
func countExpired(ctx context.Context, backend, dbURL string) (int64, error) {
	dialect, dsn := debtDialect(backend, dbURL)
	db, err := store.OpenRaw(ctx, dialect, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	q := "SELECT count(*) FROM transmissions WHERE created_at < $1"
	if dialect == store.DialectSQLite {
		q = "SELECT count(*) FROM transmissions WHERE created_at < ?"
	}
	var n int64
	err = db.QueryRowContext(ctx, q, time.Now().Add(-retentionDefault).UTC()).Scan(&n)
	return n, err
}

// scrapePurged reads svahub_transmissions_purged_total from the process's
// /metrics (-1 when the binary does not export it).
func scrapePurged(ctx context.Context, p *svahubProc) float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/metrics", nil)
	if err != nil {
		return -1
	}
	res, err := p.client.Do(req)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "svahub_transmissions_purged_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
