package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples bounds the latency samples kept by one load (memory bound).
const maxSamples = 20_000_000

// errExhausted stops a closed-loop worker: there is no more work.
var errExhausted = errors.New("no more work")

// requestFunc sends one request; seq numbers requests from 0.
type requestFunc func(ctx context.Context, seq int64) error

// loadResult is the outcome of one load.
type loadResult struct {
	name       string
	clients    int     // closed loop
	targetRate float64 // open loop, req/s
	elapsed    time.Duration
	ok, failed int64
	dropped    int64 // open loop: sends skipped because maxInFlight was reached
	throughput float64
	p50, p90   time.Duration
	p99, max   time.Duration
	firstErr   string
}

type sampler struct {
	mu       sync.Mutex
	lat      []time.Duration
	failed   int64
	firstErr string
}

func (s *sampler) add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
		return
	}
	if len(s.lat) < maxSamples {
		s.lat = append(s.lat, d)
	}
}

func (s *sampler) result(name string, elapsed time.Duration) loadResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := loadResult{name: name, elapsed: elapsed, ok: int64(len(s.lat)), failed: s.failed, firstErr: s.firstErr}
	if elapsed > 0 {
		r.throughput = float64(r.ok) / elapsed.Seconds()
	}
	slices.Sort(s.lat)
	r.p50, r.p90, r.p99 = percentile(s.lat, 0.50), percentile(s.lat, 0.90), percentile(s.lat, 0.99)
	if n := len(s.lat); n > 0 {
		r.max = s.lat[n-1]
	}
	return r
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// closedLoop runs clients workers back to back for warmup+dur; only requests
// started after the warm-up are measured. A worker stops early on
// errExhausted.
func closedLoop(ctx context.Context, name string, clients int, warmup, dur time.Duration, fn requestFunc) loadResult {
	var seq atomic.Int64
	if warmup > 0 {
		closedLoopInto(ctx, &sampler{}, clients, warmup, &seq, fn)
	}
	s := &sampler{}
	elapsed := closedLoopInto(ctx, s, clients, dur, &seq, fn)
	r := s.result(name, elapsed)
	r.clients = clients
	return r
}

// closedLoopInto runs clients workers back to back for dur, adding every
// answer to s; request numbers come from seq. It returns the time from the
// start to the last answer.
func closedLoopInto(ctx context.Context, s *sampler, clients int, dur time.Duration, seq *atomic.Int64, fn requestFunc) time.Duration {
	start := time.Now()
	end := start.Add(dur)
	ctx, cancel := context.WithDeadline(ctx, end.Add(30*time.Second)) // a request in flight at the end may finish
	defer cancel()
	var lastDone atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				err := fn(ctx, seq.Add(1)-1)
				if errors.Is(err, errExhausted) {
					return
				}
				t1 := time.Now()
				s.add(t1.Sub(t0), err)
				for {
					old := lastDone.Load()
					if t1.UnixNano() <= old || lastDone.CompareAndSwap(old, t1.UnixNano()) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if ld := lastDone.Load(); ld > 0 {
		return time.Unix(0, ld).Sub(start)
	}
	return dur
}

// openLoop sends requests at a fixed rate for dur, whatever the answers'
// latency (no coordinated omission: latency is measured from the scheduled
// send time). At most maxInFlight requests are outstanding; a send that
// would exceed it is counted as dropped.
func openLoop(ctx context.Context, name string, rate float64, dur time.Duration, maxInFlight int, fn requestFunc) loadResult {
	s := &sampler{}
	var seq atomic.Int64
	dropped := openLoopInto(ctx, s, rate, dur, maxInFlight, &seq, fn)
	r := s.result(name, dur)
	r.targetRate, r.dropped = rate, dropped
	return r
}

// openLoopInto is openLoop adding to s; it returns the number of sends
// dropped.
func openLoopInto(ctx context.Context, s *sampler, rate float64, dur time.Duration, maxInFlight int, seq *atomic.Int64, fn requestFunc) int64 {
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = time.Nanosecond
	}
	total := int64(dur / interval)
	sem := make(chan struct{}, maxInFlight)
	ctx, cancel := context.WithTimeout(ctx, dur+60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var dropped int64
	start := time.Now()
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case sem <- struct{}{}:
		default:
			dropped++
			continue
		}
		wg.Add(1)
		go func(n int64, due time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			err := fn(ctx, n)
			s.add(time.Since(due), err)
		}(seq.Add(1)-1, due)
	}
	wg.Wait()
	return dropped
}

// waitQuiet waits until the whole machine has been less than threshold
// busy (0..1) for three consecutive seconds, at most maxWait; it returns
// the last busy share seen and whether it was quiet.
func waitQuiet(ctx context.Context, maxWait time.Duration, threshold float64) (float64, bool) {
	if maxWait <= 0 {
		return 0, true
	}
	deadline := time.Now().Add(maxWait)
	ncpu := float64(runtime.NumCPU())
	prev, prevAt := machineBusy(), time.Now()
	calm := 0
	busy := 1.0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
		cur, at := machineBusy(), time.Now()
		busy = (cur - prev) / (at.Sub(prevAt).Seconds() * ncpu)
		prev, prevAt = cur, at
		if busy < threshold {
			calm++
			if calm >= 3 {
				return busy, true
			}
		} else {
			calm = 0
		}
	}
	return busy, false
}

// getter returns a requestFunc that GETs url(seq) and expects 200.
func getter(client *http.Client, key string, url func(seq int64) string) requestFunc {
	return func(ctx context.Context, seq int64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url(seq), nil)
		if err != nil {
			return err
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", req.URL.Path, res.StatusCode)
		}
		return nil
	}
}
