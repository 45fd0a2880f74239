package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the CPU seconds used so far by the server under test
// (svahub or the baseline process; field svahub), by every postgres process
// on the machine and by this tool (load generator, simulator), at one
// instant.
type cpuSample struct {
	at                    time.Time
	svahub, postgres, own float64
	machine               float64 // busy CPU seconds of the whole machine (/proc/stat)
}

func takeCPU(svahubPID int) cpuSample {
	s := cpuSample{at: time.Now(), machine: machineBusy()}
	if svahubPID > 0 {
		s.svahub, _ = cpuTime(svahubPID)
	}
	s.own, _ = cpuTime(os.Getpid())
	s.postgres = commCPU("postgres")
	return s
}

// commCPU sums the CPU seconds used so far by the live processes named comm
// plus, for the root of their tree (the postmaster), its reaped children:
// a backend that exits between two samples still counts.
func commCPU(comm string) float64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total float64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open || s[open+1:close] != comm {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 15 {
			continue
		}
		fields := []int{11, 12} // utime, stime
		if parentComm(f[1]) != comm {
			// The root of the tree (postmaster): add its reaped children,
			// so backends that exit during a measurement still count.
			fields = append(fields, 13, 14) // cutime, cstime
		}
		var sum float64
		for _, i := range fields {
			v, _ := strconv.ParseFloat(f[i], 64)
			sum += v
		}
		total += sum / 100
	}
	return total
}

// parentComm returns the command name of process ppid.
func parentComm(ppid string) string {
	b, err := os.ReadFile("/proc/" + ppid + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// machineBusy returns the non-idle CPU seconds of all CPUs since boot.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 7 { // guest time is already in user
			break
		}
		x, _ := strconv.ParseFloat(v, 64)
		busy += x
	}
	return busy / 100
}

// loadAvg returns /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuUse is the CPU used between two samples.
type cpuUse struct {
	wall                  time.Duration
	svahub, postgres, own float64 // seconds
	other                 float64 // the rest of the machine: other programs running meanwhile
}

func (a cpuSample) to(b cpuSample) cpuUse {
	u := cpuUse{wall: b.at.Sub(a.at), svahub: b.svahub - a.svahub, postgres: b.postgres - a.postgres, own: b.own - a.own}
	u.other = max(0, (b.machine-a.machine)-u.svahub-u.postgres-u.own)
	return u
}

func (u cpuUse) add(v cpuUse) cpuUse {
	return cpuUse{wall: u.wall + v.wall, svahub: u.svahub + v.svahub, postgres: u.postgres + v.postgres, own: u.own + v.own, other: u.other + v.other}
}
