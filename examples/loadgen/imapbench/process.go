package imapbench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// stopTimeout is how long a server has to exit after SIGTERM before what
// is left of it is killed.
const stopTimeout = 10 * time.Second

// Process is a server process the benchmark started. It is stopped by its
// PID, and what is left of its tree by theirs.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
	err  error         // from cmd.Wait, set before done is closed
}

// startProcess starts cmd, which receives SIGTERM if this process dies
// first, with its output appended to logPath.
func startProcess(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("imapbench: starting %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// PID returns the process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// CPU returns the CPU time of the process and of its descendants, as
// [Tree.CPU].
func (p *Process) CPU() (time.Duration, error) {
	t, err := ReadTree("/proc", p.PID())
	if err != nil {
		return 0, err
	}
	return t.CPU(), nil
}

// Tree reads the process's tree.
func (p *Process) Tree() (Tree, error) { return ReadTree("/proc", p.PID()) }

// Stop sends SIGTERM to the process and waits for it to exit; after
// stopTimeout it sends SIGKILL. Descendants still running afterwards (a
// Dovecot master stops its own children) are killed by PID, each only if
// it is still the process that was read before the stop.
func (p *Process) Stop() error {
	if exited, _ := p.Exited(); exited {
		return nil
	}
	tree, _ := p.Tree()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("imapbench: stopping %s: %w", p.name, err)
	}
	var err error
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.done
		err = fmt.Errorf("imapbench: %s did not exit within %v of SIGTERM; killed", p.name, stopTimeout)
	}
	// Children may outlive the master for a moment (Dovecot's log process
	// drains its pipes).
	left := tree.Procs[min(1, len(tree.Procs)):]
	for deadline := time.Now().Add(stopTimeout); ; time.Sleep(50 * time.Millisecond) {
		left = slices.DeleteFunc(left, func(s Stat) bool {
			now, e := ReadStat("/proc", s.PID)
			return e != nil || now.StartTime != s.StartTime || now.State == 'Z'
		})
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, s := range left {
		syscall.Kill(s.PID, syscall.SIGKILL)
		if err == nil {
			err = fmt.Errorf("imapbench: %s left process %d (%s) running; killed", p.name, s.PID, s.Comm)
		}
	}
	return err
}
