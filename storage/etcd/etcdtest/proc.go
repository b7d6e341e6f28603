package etcdtest

import (
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Proc is a child process of a test, stopped by PID: an etcd member here,
// an Arca node in the HA tests. The zero value runs nothing.
type Proc struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts cmd (killed with the test binary if that dies first);
// after it exits, done runs (to close its log), then Exited closes.
func (p *Proc) Start(cmd *exec.Cmd, done func()) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		if done != nil {
			done()
		}
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	return nil
}

// Exited is closed when the process started last has exited (nil before
// any start).
func (p *Proc) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Kill stops the process with SIGKILL and waits for it to exit.
func (p *Proc) Kill() { p.Stop(0) }

// Stop sends SIGTERM and waits up to grace for the process to exit, then
// SIGKILL (at once when grace is 0); it returns once the process is gone.
func (p *Proc) Stop(grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return // gone already: its PID may belong to another process by now
	default:
	}
	if grace > 0 {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
			return
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Running reports whether the process runs (started, neither stopped nor
// exited).
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// PID is the process id, 0 when it does not run.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
