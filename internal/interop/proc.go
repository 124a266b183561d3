package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds the life of every peer process a test starts.
const DefaultTimeout = 20 * time.Second

// ErrExited means a peer process closed its output before writing what was
// expected.
var ErrExited = errors.New("interop: peer closed its output")

// Proc is a running peer program, driven through its stdin and stdout.
// Its life is bounded by a timeout: when the timeout passes, or the test
// ends, the process and everything in its process group are killed. A Proc
// is not safe for concurrent use, except that its output is collected in
// the background.
type Proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	ctx    context.Context
	cancel context.CancelFunc
	stdin  io.WriteCloser
	stdout *stream
	stderr *stream
	done   chan struct{} // closed when the process has been waited for
	err    error         // from cmd.Wait, valid once done is closed
}

// ProcOptions are optional settings for [Start].
type ProcOptions struct {
	// Env is added to the test's environment.
	Env []string
	// Dir is the working directory; empty means the test's.
	Dir string
	// Timeout bounds the process's life; zero means [DefaultTimeout].
	Timeout time.Duration
}

// Start runs name with args in a new session (setsid: no controlling
// terminal, so programs that prompt for a password read it from stdin, and
// a process group of its own to kill). The process is killed when the
// timeout passes and, at the latest, when the test ends. A nil opt means
// the zero ProcOptions.
func Start(t testing.TB, opt *ProcOptions, name string, args ...string) *Proc {
	t.Helper()
	if opt == nil {
		opt = &ProcOptions{}
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = opt.Dir
	cmd.Env = append(os.Environ(), opt.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error {
		// The whole process group: stdbuf and any children too.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 2 * time.Second
	p := &Proc{
		t:      t,
		name:   procName(name, args),
		cmd:    cmd,
		ctx:    ctx,
		cancel: cancel,
		stdout: newStream(),
		stderr: newStream(),
		done:   make(chan struct{}),
	}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", p.name, err)
	}
	p.stdin = stdin
	t.Logf("start: %s %s", name, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", p.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.stdout.close()
		p.stderr.close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.name, p.stderr.all())
		}
	})
	return p
}

// procName names a process in logs after its program, looking through
// stdbuf to the program it runs.
func procName(name string, args []string) string {
	if shortName(name) == "stdbuf" {
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				return shortName(a)
			}
		}
	}
	return shortName(name)
}

func shortName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// Name returns the program's base name.
func (p *Proc) Name() string { return p.name }

// Context returns a context that ends with the process's time limit, to
// bound work done on its behalf.
func (p *Proc) Context() context.Context { return p.ctx }

// WriteLine writes line and a newline to the process's stdin.
func (p *Proc) WriteLine(line string) error {
	p.t.Helper()
	p.t.Logf("%s <- %q", p.name, line)
	_, err := io.WriteString(p.stdin, line+"\n")
	if err != nil {
		return fmt.Errorf("%s: write: %w", p.name, err)
	}
	return nil
}

// CloseStdin closes the process's stdin.
func (p *Proc) CloseStdin() error { return p.stdin.Close() }

// ReadLine returns the next line the process writes to stdout, without the
// line end. It returns an error wrapping [ErrExited] if stdout closes first
// (with whatever partial line there was), or the context's error when the
// time limit passes.
func (p *Proc) ReadLine() (string, error) {
	p.t.Helper()
	b, err := p.stdout.until(p.ctx, func(b []byte) int {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return i + 1
		}
		return -1
	})
	line := strings.TrimRight(string(b), "\r\n")
	if err != nil {
		return line, fmt.Errorf("%s: reading stdout (have %q): %w", p.name, line, err)
	}
	p.t.Logf("%s -> %q", p.name, line)
	return line, nil
}

// ReadPrefixed skips lines until one that starts with prefix and returns
// the rest of it. Programs such as the Cyrus samples mix protocol lines
// with chatter.
func (p *Proc) ReadPrefixed(prefix string) (string, error) {
	p.t.Helper()
	for {
		line, err := p.ReadLine()
		if err != nil {
			return "", err
		}
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return rest, nil
		}
	}
}

// ReadUntil returns stdout up to and including the first occurrence of s,
// for prompts that do not end a line.
func (p *Proc) ReadUntil(s string) (string, error) {
	p.t.Helper()
	b, err := p.stdout.until(p.ctx, func(b []byte) int {
		if i := bytes.Index(b, []byte(s)); i >= 0 {
			return i + len(s)
		}
		return -1
	})
	if err != nil {
		return string(b), fmt.Errorf("%s: waiting for %q (have %q): %w", p.name, s, b, err)
	}
	p.t.Logf("%s -> %q", p.name, b)
	return string(b), nil
}

// StderrUntil waits until the process has written s to stderr.
func (p *Proc) StderrUntil(s string) error {
	_, err := p.stderr.until(p.ctx, func(b []byte) int {
		if i := bytes.Index(b, []byte(s)); i >= 0 {
			return i + len(s)
		}
		return -1
	})
	if err != nil {
		return fmt.Errorf("%s: waiting for %q on stderr: %w", p.name, s, err)
	}
	return nil
}

// Stderr returns everything the process has written to stderr so far.
func (p *Proc) Stderr() string { return string(p.stderr.all()) }

// Stdout returns everything the process has written to stdout so far,
// read or not.
func (p *Proc) Stdout() string { return string(p.stdout.all()) }

// Wait closes stdin, waits for the process to exit within its time limit
// and returns its exit code. An error means it did not exit by itself: it
// was killed at the time limit or by a signal.
func (p *Proc) Wait() (int, error) {
	p.t.Helper()
	p.stdin.Close()
	<-p.done
	code := p.cmd.ProcessState.ExitCode()
	p.t.Logf("%s exited: %v (code %d); stderr: %q", p.name, p.err, code, p.stderr.all())
	if p.ctx.Err() != nil {
		return code, fmt.Errorf("%s: killed at the time limit: %w", p.name, p.ctx.Err())
	}
	if code < 0 {
		return code, fmt.Errorf("%s: %v", p.name, p.err)
	}
	return code, nil
}

// Kill kills the process group and waits for it.
func (p *Proc) Kill() {
	p.cancel()
	<-p.done
}

// stream collects a process's output and lets a reader wait for a part of
// it.
type stream struct {
	mu     sync.Mutex // guards the fields below
	buf    []byte     // unread output
	log    []byte     // all output
	closed bool
	wake   chan struct{} // closed and replaced on each write and on close
}

func newStream() *stream { return &stream{wake: make(chan struct{})} }

func (s *stream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, b...)
	s.log = append(s.log, b...)
	close(s.wake)
	s.wake = make(chan struct{})
	return len(b), nil
}

func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *stream) all() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.log...)
}

// until waits until match reports n >= 0 for the unread output, then
// consumes and returns its first n bytes. If the stream closes first it
// returns what is left and ErrExited.
func (s *stream) until(ctx context.Context, match func([]byte) int) ([]byte, error) {
	for {
		s.mu.Lock()
		if n := match(s.buf); n >= 0 {
			out := append([]byte(nil), s.buf[:n]...)
			s.buf = s.buf[n:]
			s.mu.Unlock()
			return out, nil
		}
		if s.closed {
			out := append([]byte(nil), s.buf...)
			s.buf = s.buf[:0]
			s.mu.Unlock()
			return out, ErrExited
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			s.mu.Lock()
			out := append([]byte(nil), s.buf...)
			s.mu.Unlock()
			return out, ctx.Err()
		}
	}
}
