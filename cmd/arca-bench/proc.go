package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcakv/arca/loadgen"
)

// proc is a child process whose CPU time and peak RSS we read from /proc.
type proc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when it has exited
	port    int
	pprof   string // pprof address, if enabled
	metrics string // an etcd member's metrics URL
}

func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// peakRSS returns VmHWM in bytes.
func (p *proc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stop interrupts the process (by PID) and waits for it to exit, killing
// it after 10 s. It may be called more than once.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// running reports whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// freePort is a loopback port below the kernel's ephemeral range, so that
// the process started on it does not lose it to a ":0" listener.
func freePort() (int, error) { return etcdtest.PickPort() }

// waitHealthy polls the health endpoint until it answers (bounded).
func waitHealthy(ctx context.Context, c *http.Client, u string, p *proc) (time.Duration, error) {
	start := time.Now()
	for i := 0; i < 600; i++ {
		if !p.running() {
			return 0, errors.New("server exited")
		}
		resp, err := c.Get(u)
		if err == nil {
			loadgen.Drain(resp)
			if resp.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, errors.New("server did not become healthy")
}

// startChild starts bin with args, its output in logPath. The child is
// killed if arca-bench dies.
func startChild(ctx context.Context, bin, logPath string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); lf.Close(); close(p.exited) }()
	return p, nil
}

// cpuOf is the CPU time ps have used, together.
func cpuOf(ps []*proc) time.Duration {
	var d time.Duration
	for _, p := range ps {
		d += p.cpu()
	}
	return d
}

// waitFile waits (bounded) until path exists.
func waitFile(ctx context.Context, path string) error {
	for i := 0; i < 1000; i++ {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not appear", path)
}
