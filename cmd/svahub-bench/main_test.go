package main

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of no samples must be 0")
	}
}

func TestCPFIsValid(t *testing.T) {
	for _, n := range []int64{1, 2, 99999, 1234567} {
		d := cpf(n)
		if len(d) != 11 {
			t.Fatalf("cpf(%d) = %q", n, d)
		}
		for check := 9; check <= 10; check++ {
			sum := 0
			for i := 0; i < check; i++ {
				sum += int(d[i]-'0') * (check + 1 - i)
			}
			r := sum * 10 % 11 % 10
			if int(d[check]-'0') != r {
				t.Errorf("cpf(%d) = %s: check digit %d wrong", n, d, check+1)
			}
		}
	}
}

func TestRandIDInRange(t *testing.T) {
	seen := map[int64]bool{}
	for i := int64(0); i < 10000; i++ {
		id := randID(1, i, 100)
		if id < 1 || id > 100 {
			t.Fatalf("randID = %d", id)
		}
		seen[id] = true
	}
	if len(seen) != 100 {
		t.Errorf("randID covered %d of 100 ids", len(seen))
	}
}

func TestExpiryOf(t *testing.T) {
	loc := time.UTC
	if got := expiryOf(time.Date(2028, 2, 29, 12, 0, 0, 0, loc), loc); got != "2029-02-28" {
		t.Errorf("29 Feb: %s", got)
	}
	if got := expiryOf(time.Date(2026, 11, 27, 12, 0, 0, 0, loc), loc); got != "2027-11-27" {
		t.Errorf("27 Nov: %s", got)
	}
}

func TestNormalizeSQL(t *testing.T) {
	got := normalizeSQL("SELECT *\n  FROM t WHERE id IN ($1,$2, $3) AND x = $4")
	if got != "SELECT * FROM t WHERE id IN ($…) AND x = $4" {
		t.Errorf("normalizeSQL = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-smoke"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.services != 300 || o.apiServices != 300 || o.duration != 3*time.Second {
		t.Errorf("smoke sizes not applied: %+v", o)
	}
	for _, bad := range [][]string{{"-scenario", "x"}, {"-backend", "mysql"}, {"-batch-size", "1001"}, {"-clients", "0"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%v) accepted", bad)
		}
	}
	if err := checkLoopbackDSN("postgres://u@db.example.com/x"); err == nil {
		t.Error("a remote -pg was accepted")
	}
}

// msg builds one typed frontend message.
func msg(typ byte, body ...string) []byte {
	var b []byte
	for _, s := range body {
		b = append(b, s...)
		b = append(b, 0)
	}
	out := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)+4))
	return append(out, b...)
}

func TestSQLProxyCounts(t *testing.T) {
	server, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	received := make(chan int, 1)
	go func() {
		c, err := server.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		received <- len(b)
	}()
	px, err := startSQLProxy(server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer px.close()
	c, err := net.Dial("tcp", px.addr())
	if err != nil {
		t.Fatal(err)
	}
	// SSLRequest: the proxy answers 'N' itself.
	ssl := make([]byte, 8)
	binary.BigEndian.PutUint32(ssl, 8)
	binary.BigEndian.PutUint32(ssl[4:], sslRequestCode)
	c.Write(ssl)
	ans := make([]byte, 1)
	if _, err := io.ReadFull(c, ans); err != nil || ans[0] != 'N' {
		t.Fatalf("SSLRequest answer %q, %v", ans, err)
	}
	startup := make([]byte, 8)
	binary.BigEndian.PutUint32(startup, 8)
	binary.BigEndian.PutUint32(startup[4:], 196608)
	c.Write(startup)
	var stream []byte
	stream = append(stream, msg('P', "s1", "SELECT 1 WHERE x IN ($1,$2)", "\x00")...)
	stream = append(stream, msg('B', "", "s1")...)
	stream = append(stream, msg('E', "")...)
	stream = append(stream, msg('S')...)
	stream = append(stream, msg('B', "", "s1")...)
	stream = append(stream, msg('E', "")...)
	stream = append(stream, msg('S')...)
	stream = append(stream, msg('Q', "begin")...)
	stream = append(stream, msg('X')...)
	c.Write(stream)
	select {
	case n := <-received:
		if n != 8+len(stream) {
			t.Errorf("server received %d bytes, want %d", n, 8+len(stream))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server received nothing")
	}
	c.Close()
	got := px.snapshot()
	if got.statements != 3 || got.roundTrips != 3 {
		t.Errorf("statements %d, round trips %d; want 3 and 3", got.statements, got.roundTrips)
	}
	if got.byText["SELECT 1 WHERE x IN ($…)"] != 2 || got.byText["begin"] != 1 {
		t.Errorf("by text: %v", got.byText)
	}
}

func TestFleetFlags(t *testing.T) {
	o, err := parseFlags([]string{"-scenario", "fleet", "-services", "3000", "-sim-rate", "200", "-fleet-kill"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.fleetWorkers != 3 || !o.fleetKill || o.fleetRestartAfter != 5*time.Second || o.fleetMaxWorkers != 0 {
		t.Errorf("fleet defaults: %+v", o)
	}
	for _, bad := range [][]string{
		{"-scenario", "fleet", "-sim-rate", "0"},
		{"-scenario", "fleet", "-fleet-workers", "0"},
		{"-scenario", "fleet", "-fleet-restart-after", "-1s"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
