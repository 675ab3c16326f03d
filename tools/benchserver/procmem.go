package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memStatus is the memory of a process, from /proc/PID/status, in KiB.
type memStatus struct {
	RSSKiB int64 // VmRSS: resident now
	HWMKiB int64 // VmHWM: the peak resident set size since the process started or the peak was reset
}

// parseStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func parseStatus(r io.Reader) (memStatus, error) {
	var m memStatus
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("%s: want \"<number> kB\", got %q", key, strings.TrimSpace(val))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return m, fmt.Errorf("%s: %q is not a size", key, f[0])
		}
		if key == "VmRSS" {
			m.RSSKiB = n
		} else {
			m.HWMKiB = n
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if seen != 2 {
		return m, fmt.Errorf("VmRSS or VmHWM missing (is it a kernel thread, or a process that exited?)")
	}
	return m, nil
}

// readMem reads the memory of process pid.
func readMem(pid int) (memStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	defer f.Close()
	m, err := parseStatus(f)
	if err != nil {
		return m, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return m, nil
}

// resetPeak resets the VmHWM of process pid to its current RSS (writing 5
// to /proc/PID/clear_refs, Linux 4.0 and later), so that a later VmHWM is
// the peak of what happened since. It needs the same rights as ptrace.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// sampler reads a process's memory every interval and keeps the largest
// VmRSS it saw.
type sampler struct {
	pid      int
	interval time.Duration

	mu      sync.Mutex
	peakRSS int64
	samples int
	err     error
}

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *sampler) sample() {
	m, err := readMem(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.samples++
	s.peakRSS = max(s.peakRSS, m.RSSKiB)
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports (getconf CLK_TCK).
const clockTicks = 100

// parseStat returns the user + system CPU time in the text of
// /proc/PID/stat.
func parseStat(b []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after it are plain numbers. utime and stime are fields
	// 14 and 15, so the 12th and 13th after the name.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("CPU time %q is not a number of ticks", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// readCPU reads the CPU time process pid has used so far.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	d, err := parseStat(b)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return d, nil
}

// probe says which process is the server and how to watch it.
type probe struct {
	PID       int           // 0: the server is not watched
	Interval  time.Duration // between memory samples
	ResetPeak bool          // reset the server's VmHWM before each measurement
}

// serverUse is what the server process used during one measurement.
type serverUse struct {
	CPUSeconds float64 `json:"cpuSeconds"` // user + system
	RSSBefore  int64   `json:"rssBeforeKiB"`
	HWMBefore  int64   `json:"hwmBeforeKiB"`      // the peak since start (or the last reset), before
	PeakRSS    int64   `json:"peakRssSampledKiB"` // largest VmRSS sampled during the measurement
	HWMAfter   int64   `json:"hwmAfterKiB"`       // VmHWM right after it: the true peak when HWMReset
	HWMReset   bool    `json:"hwmReset"`          // VmHWM was reset just before the measurement
	Samples    int     `json:"samples"`
	IntervalMs int64   `json:"intervalMs"`
}

// Peak is the server's largest resident set size during the measurement,
// in KiB: VmHWM when it was reset before, else the largest sample.
func (u *serverUse) Peak() int64 {
	if u.HWMReset {
		return max(u.PeakRSS, u.HWMAfter)
	}
	return u.PeakRSS
}

// usage is what one measurement cost the client and the server.
type usage struct {
	// ClientCPUSeconds is this process's user + system CPU time: the load
	// generator shares the machine with the server when both run on it.
	ClientCPUSeconds float64    `json:"clientCpuSeconds"`
	Server           *serverUse `json:"server,omitempty"` // with a PID
}

// measure runs fn and records this process's CPU time and, with a PID, the
// server's CPU time and memory around it.
func (p probe) measure(fn func() error) (*usage, error) {
	self := os.Getpid()
	c0, err := readCPU(self)
	if err != nil {
		return nil, err
	}
	u := &usage{}
	if p.PID == 0 {
		err = fn()
	} else {
		u.Server, err = p.measureServer(fn)
	}
	if err != nil {
		return nil, err
	}
	c1, err := readCPU(self)
	if err != nil {
		return nil, err
	}
	u.ClientCPUSeconds = (c1 - c0).Seconds()
	return u, nil
}

// measureServer runs fn and records the server's CPU time and memory
// around it.
func (p probe) measureServer(fn func() error) (*serverUse, error) {
	interval := p.Interval
	if interval <= 0 {
		interval = 20 * time.Millisecond
	}
	before, err := readMem(p.PID)
	if err != nil {
		return nil, fmt.Errorf("server memory: %w", err)
	}
	u := &serverUse{RSSBefore: before.RSSKiB, HWMBefore: before.HWMKiB, IntervalMs: interval.Milliseconds()}
	if p.ResetPeak {
		u.HWMReset = resetPeak(p.PID) == nil
	}
	cpu0, err := readCPU(p.PID)
	if err != nil {
		return nil, err
	}
	peak, samples, err := sampleDuring(p.PID, interval, fn)
	if err != nil {
		return nil, err
	}
	cpu1, err := readCPU(p.PID)
	if err != nil {
		return nil, err
	}
	after, err := readMem(p.PID)
	if err != nil {
		return nil, fmt.Errorf("server memory: %w", err)
	}
	u.CPUSeconds = (cpu1 - cpu0).Seconds()
	u.PeakRSS, u.Samples, u.HWMAfter = peak, samples, after.HWMKiB
	return u, nil
}

// sampleDuring runs fn while sampling process pid every interval, and
// returns fn's error, the largest VmRSS sampled (KiB) and the number of
// samples. A sampling error is returned only when fn succeeded.
func sampleDuring(pid int, interval time.Duration, fn func() error) (peakRSS int64, samples int, err error) {
	s := &sampler{pid: pid, interval: interval}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	ferr := fn()
	cancel()
	<-done
	s.sample() // the state right after fn
	if ferr != nil {
		return s.peakRSS, s.samples, ferr
	}
	return s.peakRSS, s.samples, s.err
}
