package imapbench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// statLine is a /proc/<pid>/stat line as Linux 6 writes it, with the
// fields that matter set.
func statLine(pid int, comm string, ppid int, utime, stime, cutime, cstime, start uint64) string {
	return fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194560 1064 0 0 0 %d %d %d %d 20 0 1 0 %d 8679424 1108 18446744073709551615 1 1 0 0 0 0 0 4096 16387 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		pid, comm, ppid, pid, pid, utime, stime, cutime, cstime, start)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stat
	}{
		{"dovecot master", statLine(4242, "dovecot", 1, 12, 5, 300, 40, 9999), Stat{PID: 4242, PPID: 1, Comm: "dovecot", State: 'S', UTime: 12, STime: 5, CUTime: 300, CSTime: 40, StartTime: 9999}},
		{"comm with a space", statLine(7, "imap-login x", 4242, 1, 2, 3, 4, 5), Stat{PID: 7, PPID: 4242, Comm: "imap-login x", State: 'S', UTime: 1, STime: 2, CUTime: 3, CSTime: 4, StartTime: 5}},
		{"comm with parentheses", statLine(8, "a) S 1 (b", 4242, 6, 7, 8, 9, 10), Stat{PID: 8, PPID: 4242, Comm: "a) S 1 (b", State: 'S', UTime: 6, STime: 7, CUTime: 8, CSTime: 9, StartTime: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseStat: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseStat (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := (Stat{UTime: 150, STime: 50, CUTime: 25, CSTime: 25}).CPU(), 2500*time.Millisecond; got != want {
		t.Errorf("CPU() = %v; want %v", got, want)
	}
}

func TestParseStatMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"empty":              "",
		"no parentheses":     "12 dovecot S 1 2 3",
		"no pid":             "(dovecot) S 1 2",
		"pid not a number":   "x1 (dovecot) S 1 2",
		"too few fields":     "12 (dovecot) S 1 2 3 4 5",
		"ppid not a number":  "12 (dovecot) S x 1 1 0 -1 0 0 0 0 0 1 1 1 1 20 0 1 0 1 0 0",
		"utime not a number": "12 (dovecot) S 1 1 1 0 -1 0 0 0 0 0 u 1 1 1 20 0 1 0 1 0 0",
		"long state":         "12 (dovecot) SS 1 1 1 0 -1 0 0 0 0 0 1 1 1 1 20 0 1 0 1 0 0",
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := ParseStat([]byte(in)); err == nil {
				t.Errorf("ParseStat(%q) = %+v, nil; want an error", in, s)
			}
		})
	}
}

// fakeProc writes a /proc with the given stat lines, and some entries that
// are not processes.
func fakeProc(t *testing.T, lines map[int]string) string {
	t.Helper()
	dir := t.TempDir()
	for pid, l := range lines {
		d := filepath.Join(dir, strconv.Itoa(pid))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "stat"), []byte(l), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Not processes: a file, a directory with a name that is no number,
	// and a process that exited between readdir and reading its stat.
	for _, p := range []string{"self", "sys", "999"} {
		if err := os.Mkdir(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte("cpu  1 2 3 4 5 6 7 8 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadTree(t *testing.T) {
	proc := fakeProc(t, map[int]string{
		1:   statLine(1, "init", 0, 1000, 1000, 0, 0, 1),
		100: statLine(100, "dovecot", 1, 10, 10, 50, 30, 50), // reaped children: 80 ticks
		101: statLine(101, "auth", 100, 100, 20, 0, 0, 60),
		102: statLine(102, "imap-login", 100, 30, 10, 0, 0, 61),
		103: statLine(103, "auth-worker", 101, 200, 0, 0, 0, 62), // a grandchild
		104: statLine(104, "imap", 100, 5, 5, 0, 0, 63),
		200: statLine(200, "unrelated", 1, 7000, 0, 0, 0, 70),
		201: statLine(201, "child of unrelated", 200, 70, 0, 0, 0, 71),
	})
	tree, err := ReadTree(proc, 100)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range tree.Procs {
		pids = append(pids, p.PID)
	}
	if diff := cmp.Diff([]int{100, 101, 102, 103, 104}, pids); diff != "" {
		t.Errorf("tree PIDs (-want +got):\n%s", diff)
	}
	// 20+80 + 120 + 40 + 200 + 10 ticks.
	if got, want := tree.CPU(), 4700*time.Millisecond; got != want {
		t.Errorf("tree CPU = %v; want %v", got, want)
	}
	want := map[string]int{"dovecot": 1, "auth": 1, "imap-login": 1, "auth-worker": 1, "imap": 1}
	if diff := cmp.Diff(want, tree.Counts()); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}

	// A lone process is a tree of one.
	if tree, err := ReadTree(proc, 104); err != nil || len(tree.Procs) != 1 || tree.CPU() != 100*time.Millisecond {
		t.Errorf("ReadTree(104) = %+v, %v; want the process alone, 100ms", tree, err)
	}
	if _, err := ReadTree(proc, 555); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadTree of a missing root: %v; want an error wrapping fs.ErrNotExist", err)
	}
}

func TestReadTreeSelf(t *testing.T) {
	// The real /proc: this test process is a tree of at least one.
	tree, err := ReadTree("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if tree.Procs[0].PID != os.Getpid() || tree.Procs[0].PPID != os.Getppid() {
		t.Errorf("root = %+v; want PID %d, PPID %d", tree.Procs[0], os.Getpid(), os.Getppid())
	}
}

func TestParseMachineCPU(t *testing.T) {
	in := "cpu  239223 5 74459 664431 2481 7 3022 233 11 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n"
	got, err := ParseMachineCPU([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// user+nice+system+irq+softirq+steal; irq+softirq.
	want := MachineCPU{Busy: ticks(239223 + 5 + 74459 + 7 + 3022 + 233), IRQ: ticks(7 + 3022)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseMachineCPU (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\n", "cpu 1 2 x 4 5 6 7 8\n"} {
		if m, err := ParseMachineCPU([]byte(bad)); err == nil {
			t.Errorf("ParseMachineCPU(%q) = %+v, nil; want an error", bad, m)
		}
	}
}
