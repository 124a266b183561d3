// Command ratios reads raw `go test -bench` output and prints, as
// Markdown, the median of every metric per benchmark, the ratio of each
// saslkit sub-benchmark to each peer sub-benchmark in the same benchmark,
// and whether the goals of issue 6 are met.
//
// Usage:
//
//	go run ./cmd/ratios bench.txt [parallel.txt ...]
//
// A benchmark's name is split at its last "/" into the benchmark and the
// library; sub-benchmarks whose library starts with "saslkit" are compared
// with the others. The -N GOMAXPROCS suffix is kept as part of the
// benchmark, so that runs with -cpu=1,2 are compared within each CPU count.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// result holds every sample of every metric for one benchmark line name.
type result struct {
	bench, lib string // "BenchmarkPLAINServer", "saslkit"
	cpu        int    // GOMAXPROCS: the -N suffix, which go test leaves out for 1
	multiCPU   bool   // the benchmark was run at more than one CPU count
	samples    map[string][]float64
}

var cpuSuffix = regexp.MustCompile(`-(\d+)$`)

func parse(r io.Reader, into map[string]*result, order *[]string) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		res, ok := into[name]
		if !ok {
			base, cpu := name, 1
			if m := cpuSuffix.FindStringSubmatch(name); m != nil {
				cpu, _ = strconv.Atoi(m[1])
				base = strings.TrimSuffix(name, m[0])
			}
			bench, lib := base, ""
			if i := strings.LastIndex(base, "/"); i >= 0 {
				bench, lib = base[:i], base[i+1:]
			}
			res = &result{bench: bench, lib: lib, cpu: cpu, samples: map[string][]float64{}}
			into[name] = res
			*order = append(*order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			res.samples[f[i+1]] = append(res.samples[f[i+1]], v)
		}
	}
	return sc.Err()
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func (r *result) med(unit string) (float64, bool) { return median(r.samples[unit]) }

// min returns the smallest sample: on a machine shared with other work,
// the run least disturbed by it.
func (r *result) min(unit string) (float64, bool) {
	xs := r.samples[unit]
	if len(xs) == 0 {
		return 0, false
	}
	m := xs[0]
	for _, x := range xs[1:] {
		m = math.Min(m, x)
	}
	return m, true
}

func (r *result) key() string {
	if !r.multiCPU {
		return r.bench
	}
	return fmt.Sprintf("%s (-cpu=%d)", r.bench, r.cpu)
}

func fmtVal(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratio(a, b *result, unit string) string { return ratioOf(a.med, b.med, unit) }

func ratioMin(a, b *result, unit string) string { return ratioOf(a.min, b.min, unit) }

func ratioOf(fa, fb func(string) (float64, bool), unit string) string {
	x, ok1 := fa(unit)
	y, ok2 := fb(unit)
	switch {
	case !ok1 || !ok2:
		return "–"
	case y == 0 && x == 0:
		return "1.00"
	case y == 0:
		return "∞"
	}
	return strconv.FormatFloat(x/y, 'f', 2, 64)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ratios bench.txt [more.txt ...]")
		os.Exit(2)
	}
	results := map[string]*result{}
	var order []string
	for _, path := range os.Args[1:] {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = parse(f, results, &order)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	cpus := map[string]map[int]bool{}
	for _, r := range results {
		if cpus[r.bench] == nil {
			cpus[r.bench] = map[int]bool{}
		}
		cpus[r.bench][r.cpu] = true
	}
	for _, r := range results {
		r.multiCPU = len(cpus[r.bench]) > 1
	}

	// Group by benchmark (with CPU count), in first-seen order.
	groups := map[string][]*result{}
	var keys []string
	for _, name := range order {
		r := results[name]
		k := r.key()
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}

	w := os.Stdout
	fmt.Fprintln(w, "### Medians")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| benchmark | library | ns/op | cpu-ns/op | B/op | allocs/op | B/session | samples |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, k := range keys {
		for _, r := range groups[k] {
			ns, ok1 := r.med("ns/op")
			bop, ok2 := r.med("B/op")
			al, ok3 := r.med("allocs/op")
			bs, ok4 := r.med("B/session")
			cpu, ok5 := r.med("cpu-ns/op")
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %d |\n", k, r.lib,
				fmtVal(ns, ok1), fmtVal(cpu, ok5), fmtVal(bop, ok2), fmtVal(al, ok3), fmtVal(bs, ok4), len(r.samples["ns/op"]))
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Ratios saslkit/peer")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Below 1 means saslkit is faster or smaller. Ratios of medians, and for time also the")
	fmt.Fprintln(w, "ratio of the fastest samples (min), the runs least disturbed by other load.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| benchmark | saslkit | peer | ns/op | ns/op (min) | cpu-ns/op | cpu-ns/op (min) | allocs/op | B/op | B/session |")
	fmt.Fprintln(w, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, k := range keys {
		var ours, peers []*result
		for _, r := range groups[k] {
			if strings.HasPrefix(r.lib, "saslkit") {
				ours = append(ours, r)
			} else {
				peers = append(peers, r)
			}
		}
		for _, o := range ours {
			for _, p := range peers {
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k, o.lib, p.lib,
					ratio(o, p, "ns/op"), ratioMin(o, p, "ns/op"), ratio(o, p, "cpu-ns/op"), ratioMin(o, p, "cpu-ns/op"),
					ratio(o, p, "allocs/op"), ratio(o, p, "B/op"), ratio(o, p, "B/session"))
			}
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Goals of issue 6")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Time goals are judged twice: on ns/op (wall clock, what the issue states) and on cpu-ns/op")
	fmt.Fprintln(w, "(CPU time of the process per op), which does not count time spent waiting for a CPU.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| goal | measured | met (ns/op) | met (cpu-ns/op) |")
	fmt.Fprintln(w, "|---|---|---|---|")
	find := func(bench, lib string, cpu int) *result {
		for _, r := range results {
			if r.bench == bench && r.lib == lib && (cpu == 0 || r.cpu == cpu) {
				return r
			}
		}
		return nil
	}
	maxCPU := 0
	for _, r := range results {
		if r.cpu > maxCPU {
			maxCPU = r.cpu
		}
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "**no**"
	}
	// goal prints one row; cond returns the description, whether the goal
	// is met on wall-clock and on CPU time, and false if not measured.
	goal := func(name string, cond func() (desc string, wall, cpu, ok bool)) {
		desc, wall, cpu, ok := cond()
		if !ok {
			fmt.Fprintf(w, "| %s | not measured | – | – |\n", name)
			return
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, desc, yes(wall), yes(cpu))
	}
	med := func(r *result, unit string) float64 { v, _ := r.med(unit); return v }
	// both compares saslkit with a peer on time and allocs/op against a
	// maximum ratio; strict asks for strictly less.
	both := func(bench, ours, peer string, max float64, strict bool) func() (string, bool, bool, bool) {
		return func() (string, bool, bool, bool) {
			o, p := find(bench, ours, 0), find(bench, peer, 0)
			if o == nil || p == nil {
				return "", false, false, false
			}
			within := func(r float64) bool {
				if strict {
					return r < max
				}
				return r <= max
			}
			rn := med(o, "ns/op") / med(p, "ns/op")
			rc := med(o, "cpu-ns/op") / med(p, "cpu-ns/op")
			ra := 1.0
			if pa := med(p, "allocs/op"); pa > 0 {
				ra = med(o, "allocs/op") / pa
			}
			desc := fmt.Sprintf("%s/%s: ns/op ×%.2f (%s vs %s), cpu-ns/op ×%.2f, allocs/op ×%.2f (%s vs %s)",
				ours, peer, rn, fmtVal(med(o, "ns/op"), true), fmtVal(med(p, "ns/op"), true), rc,
				ra, fmtVal(med(o, "allocs/op"), true), fmtVal(med(p, "allocs/op"), true))
			return desc, within(rn) && within(ra), within(rc) && within(ra), true
		}
	}
	goal("PLAIN server ≤ emersion (time and allocs/op)", both("BenchmarkPLAINServer", "saslkit", "emersion", 1, false))
	goal("PLAIN server with the identity store ≤ emersion", both("BenchmarkPLAINServer", "saslkit-store", "emersion", 1, false))
	goal("SCRAM-SHA-256 server side ≤ 0.5× xdg-go (time and allocs/op)", both("BenchmarkSCRAMSHA256Server", "saslkit", "xdg-go", 0.5, false))
	goal("SCRAM-SHA-1 server side ≤ 0.5× xdg-go (time and allocs/op)", both("BenchmarkSCRAMSHA1Server", "saslkit", "xdg-go", 0.5, false))
	goal("full SCRAM-SHA-256 exchange ≤ 1.03× the PBKDF2 floor", func() (string, bool, bool, bool) {
		o, f := find("BenchmarkSCRAMExchange", "saslkit", 0), find("BenchmarkSCRAMExchange", "pbkdf2-floor", 0)
		if o == nil || f == nil {
			return "", false, false, false
		}
		rn := med(o, "ns/op") / med(f, "ns/op")
		rc := med(o, "cpu-ns/op") / med(f, "cpu-ns/op")
		return fmt.Sprintf("ns/op ×%.3f (%s vs %s), cpu-ns/op ×%.3f", rn, fmtVal(med(o, "ns/op"), true), fmtVal(med(f, "ns/op"), true), rc),
			rn <= 1.03, rc <= 1.03, true
	})
	goal("cached-key client exchange below xdg-go (time and allocs/op)", both("BenchmarkSCRAMExchangeCached", "saslkit", "xdg-go", 1, true))
	for _, bench := range []string{"BenchmarkParallelPLAIN", "BenchmarkParallelSCRAM"} {
		name := fmt.Sprintf("%s scales with cores: speedup ≥ %.1f at -cpu=%d (CPU time per op grows ≤ 25%%)",
			strings.TrimPrefix(bench, "Benchmark"), 0.8*float64(maxCPU), maxCPU)
		goal(name, func() (string, bool, bool, bool) {
			one, many := find(bench, "saslkit", 1), find(bench, "saslkit", maxCPU)
			if one == nil || many == nil || maxCPU < 2 {
				return "", false, false, false
			}
			s := med(one, "ns/op") / med(many, "ns/op")
			g := med(many, "cpu-ns/op") / med(one, "cpu-ns/op")
			desc := fmt.Sprintf("saslkit speedup ×%.2f (%s → %s ns/op), CPU per op ×%.2f", s,
				fmtVal(med(one, "ns/op"), true), fmtVal(med(many, "ns/op"), true), g)
			libs := []string{}
			for _, r := range results {
				if r.bench == bench && r.cpu == 1 && !strings.HasPrefix(r.lib, "saslkit") {
					libs = append(libs, r.lib)
				}
			}
			sort.Strings(libs)
			for _, lib := range libs {
				if p1, pm := find(bench, lib, 1), find(bench, lib, maxCPU); p1 != nil && pm != nil {
					desc += fmt.Sprintf("; %s speedup ×%.2f, CPU per op ×%.2f", lib,
						med(p1, "ns/op")/med(pm, "ns/op"), med(pm, "cpu-ns/op")/med(p1, "cpu-ns/op"))
				}
			}
			return desc, s >= 0.8*float64(maxCPU), g <= 1.25, true
		})
	}
	mem := func(bench string, limit float64) func() (string, bool, bool, bool) {
		return func() (string, bool, bool, bool) {
			o := find(bench, "saslkit", 0)
			if o == nil {
				return "", false, false, false
			}
			v, ok := o.med("B/session")
			if !ok {
				return "", false, false, false
			}
			return fmt.Sprintf("%s B/session", fmtVal(v, true)), v < limit, v < limit, true
		}
	}
	goal("PLAIN session memory < 1 KiB", mem("BenchmarkSessionMemoryPLAIN", 1024))
	goal("SCRAM session memory < 2 KiB", mem("BenchmarkSessionMemorySCRAM", 2048))
}
