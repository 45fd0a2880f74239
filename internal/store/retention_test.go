package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestPurgeTransmissions deletes transmissions older than the cut-off in
// batches of at most BatchSize rows, at most MaxBatches per call, oldest
// first, and keeps the younger ones.
func TestPurgeTransmissions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		clk := &testClock{now: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}
		db := storetest.Open(t, dialect, storetest.Options{Now: clk.Now})
		record := func(n int, msg string) {
			for i := 0; i < n; i++ {
				require.NoError(t, db.RecordTransmission(ctx, &svahub.Transmission{IntegrationID: 1, Operation: svahub.OpSuspend,
					Outcome: svahub.OutcomeSuccess, HTTPStatus: 200, Message: msg, Attempt: 1}))
			}
		}
		record(25, "velha") // 2026-01-10
		clk.Set(time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC))
		record(5, "nova")
		retention := 30 * 24 * time.Hour // cut-off 2026-03-21

		var batches []int64
		st, err := db.PurgeTransmissions(ctx, retention, store.PurgeOptions{BatchSize: 10, MaxBatches: 2,
			OnBatch: func(n int64) { batches = append(batches, n) }})
		require.NoError(t, err)
		require.EqualValues(t, 20, st.Rows)
		require.Equal(t, 2, st.Batches)
		require.EqualValues(t, 10, st.MaxBatchRows)
		require.True(t, st.More, "stopped at MaxBatches with expired rows left")
		require.Positive(t, st.Longest)
		require.Equal(t, []int64{10, 10}, batches, "OnBatch is told each DELETE")

		st, err = db.PurgeTransmissions(ctx, retention, store.PurgeOptions{BatchSize: 10, MaxBatches: 2})
		require.NoError(t, err)
		require.EqualValues(t, 5, st.Rows)
		require.False(t, st.More)

		st, err = db.PurgeTransmissions(ctx, retention, store.PurgeOptions{BatchSize: 10})
		require.NoError(t, err)
		require.Zero(t, st.Rows)

		left, total, err := db.FindTransmissions(ctx, svahub.TransmissionFilter{Page: svahub.Page{Size: 100}})
		require.NoError(t, err)
		require.Equal(t, 5, total)
		for _, tr := range left {
			require.Equal(t, "nova", tr.Message)
		}
	})
}

// TestPurgeUsesCreatedAtIndex: the batch query reads the created_at index,
// never the whole table.
func TestPurgeUsesCreatedAtIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t, store.DialectSQLite)
	plan, err := db.ExplainTransmissionPurge(ctx, time.Now(), 1000)
	require.NoError(t, err)
	require.Contains(t, plan, "transmissions_created_idx", plan)
	require.False(t, strings.Contains(plan, "SCAN transmissions\n") || strings.HasSuffix(plan, "SCAN transmissions"), plan)
}
