package imapbench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// ClockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat. Linux
// reports them in USER_HZ whatever its internal tick rate, and USER_HZ is
// 100 on every architecture Go supports (sysconf(_SC_CLK_TCK)).
const ClockTicks = 100

// Stat is what the benchmark reads of one process from /proc/<pid>/stat
// (proc(5)).
type Stat struct {
	// PID and PPID are the process and its parent.
	PID, PPID int
	// Comm is the command name, without the parentheses.
	Comm string
	// State is the state letter: R, S, Z and so on.
	State byte
	// UTime and STime are the user and system CPU time of the process, in
	// clock ticks ([ClockTicks] a second).
	UTime, STime uint64
	// CUTime and CSTime are the user and system CPU time of the children
	// it has waited for (and of theirs), in clock ticks.
	CUTime, CSTime uint64
	// StartTime is when the process started, in clock ticks after boot;
	// with PID, it tells a process from a later one given the same PID.
	StartTime uint64
}

// CPU returns the process's CPU time, user and system, with that of the
// children it has waited for.
func (s Stat) CPU() time.Duration {
	return ticks(s.UTime + s.STime + s.CUTime + s.CSTime)
}

func ticks(n uint64) time.Duration { return time.Duration(n) * (time.Second / ClockTicks) }

// ParseStat parses the contents of /proc/<pid>/stat. The command name may
// hold spaces and parentheses, so it is taken as everything between the
// first "(" and the last ")". A malformed line gives an error.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return s, errors.New("imapbench: /proc stat: no (comm)")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return s, fmt.Errorf("imapbench: /proc stat: pid: %w", err)
	}
	s.PID = pid
	s.Comm = string(b[open+1 : closing])
	// Fields from the third (state) on; f[i] is field i+3 of proc(5).
	f := bytes.Fields(b[closing+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return s, errors.New("imapbench: /proc stat: too few fields")
	}
	s.State = f[0][0]
	if s.PPID, err = strconv.Atoi(string(f[1])); err != nil {
		return s, fmt.Errorf("imapbench: /proc stat: ppid: %w", err)
	}
	for _, v := range []struct {
		field int // as numbered in proc(5)
		dst   *uint64
	}{{14, &s.UTime}, {15, &s.STime}, {16, &s.CUTime}, {17, &s.CSTime}, {22, &s.StartTime}} {
		n, err := strconv.ParseUint(string(f[v.field-3]), 10, 64)
		if err != nil {
			return s, fmt.Errorf("imapbench: /proc stat: field %d: %w", v.field, err)
		}
		*v.dst = n
	}
	return s, nil
}

// ReadStat reads the stat of pid under proc, normally "/proc".
func ReadStat(proc string, pid int) (Stat, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// Tree is a process and its descendants, as read at one moment.
type Tree struct {
	// Procs holds the root first, then its descendants in PID order.
	Procs []Stat
}

// CPU returns the CPU time of the whole tree: each process's own and that
// of the children it has waited for. A process that exited during a run
// and was waited for by its parent is counted in the parent's children's
// time, so the difference between two readings is what the tree spent
// between them, including the processes that came and went.
func (t Tree) CPU() time.Duration {
	var d time.Duration
	for _, p := range t.Procs {
		d += p.CPU()
	}
	return d
}

// Counts returns how many processes of the tree have each command name.
func (t Tree) Counts() map[string]int {
	m := make(map[string]int)
	for _, p := range t.Procs {
		m[p.Comm]++
	}
	return m
}

// ReadTree reads, under proc (normally "/proc"), the process root and every
// process whose parent chain leads to it. Processes that exit while it
// reads are left out. It returns an error if root itself cannot be read.
func ReadTree(proc string, root int) (Tree, error) {
	top, err := ReadStat(proc, root)
	if err != nil {
		return Tree{}, fmt.Errorf("imapbench: process %d: %w", root, err)
	}
	entries, err := os.ReadDir(proc)
	if err != nil {
		return Tree{}, fmt.Errorf("imapbench: %w", err)
	}
	children := make(map[int][]Stat)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		s, err := ReadStat(proc, pid)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ESRCH):
			continue // gone since the directory was read
		case err != nil:
			return Tree{}, fmt.Errorf("imapbench: process %d: %w", pid, err)
		}
		children[s.PPID] = append(children[s.PPID], s)
	}
	t := Tree{Procs: []Stat{top}}
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if seen[c.PID] {
				continue
			}
			seen[c.PID] = true
			t.Procs = append(t.Procs, c)
			queue = append(queue, c.PID)
		}
	}
	slices.SortFunc(t.Procs[1:], func(a, b Stat) int { return a.PID - b.PID })
	return t, nil
}

// MachineCPU is the busy time of all the machine's CPUs together since
// boot, from the first ("cpu") line of /proc/stat.
type MachineCPU struct {
	// Busy is user, nice, system, irq, softirq and steal time; idle and
	// iowait are left out, and guest time is already in user.
	Busy time.Duration
	// IRQ is the irq and softirq part of Busy: kernel work, such as
	// loopback networking, that no process is charged for.
	IRQ time.Duration
}

// ParseMachineCPU parses the contents of /proc/stat.
func ParseMachineCPU(b []byte) (MachineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return MachineCPU{}, errors.New("imapbench: /proc/stat: no cpu line")
	}
	var n [9]uint64
	for i := 1; i < 9; i++ { // user nice system idle iowait irq softirq steal
		v, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("imapbench: /proc/stat: %w", err)
		}
		n[i] = v
	}
	irq := n[6] + n[7]
	return MachineCPU{Busy: ticks(n[1] + n[2] + n[3] + irq + n[8]), IRQ: ticks(irq)}, nil
}

// ReadMachineCPU reads proc/stat (proc is normally "/proc") with
// [ParseMachineCPU].
func ReadMachineCPU(proc string) (MachineCPU, error) {
	b, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return MachineCPU{}, err
	}
	return ParseMachineCPU(b)
}
