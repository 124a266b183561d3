// Package testproc holds what the real-server harnesses of the tests
// (internal/pgtest, internal/redistest, internal/dovecottest) share: a free
// loopback port, a server process in a process group of its own that dies
// with the test binary and is stopped by its PID, and a buffer for its
// output. It uses the standard library only.
package testproc

import (
	"bytes"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Proc is a server process, in a process group of its own.
type Proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
}

// Start starts cmd with its output in log, in a process group of its own,
// which the kernel signals with deathSig if the test binary dies first.
func Start(cmd *exec.Cmd, log *Buffer, deathSig syscall.Signal) (*Proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = deathSig
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return Watch(cmd), nil
}

// Watch returns the Proc of cmd, which its caller started, and waits for
// it in the background.
func Watch(cmd *exec.Cmd) *Proc {
	p := &Proc{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	return p
}

// Pid returns the process's ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited and been waited for.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Stop sends sig to the process by its PID and waits for it to exit; after
// d it kills its process group. A nil p, or one that has exited, is left
// alone: its PID may be another's by then.
func (p *Proc) Stop(sig syscall.Signal, d time.Duration) {
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	syscall.Kill(p.cmd.Process.Pid, sig)
	select {
	case <-p.exited:
	case <-time.After(d):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// Buffer collects a process's output; it is safe for concurrent use.
type Buffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
