package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMigrateLogsOnlyItsOwnLines checks that migrating logs one line per
// applied migration (svahub's own, durations included) and nothing from
// River's migrator: no "No migrations to apply" on an up-to-date database,
// which every one-off command would otherwise print.
func TestMigrateLogsOnlyItsOwnLines(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		var buf syncBuffer
		log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		db := storetest.Open(t, dialect, storetest.Options{Logger: log})
		first := buf.String()
		require.Contains(t, first, `"msg":"migration applied"`)
		require.Contains(t, first, `"msg":"river migration applied"`)
		require.NotContains(t, first, "rivermigrate", "River's migrator repeats svahub's lines")

		require.NoError(t, db.Migrate(context.Background()))
		require.Equal(t, first, buf.String(), "an up-to-date database logs nothing")
	})
}
