package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The storm's shape.
const (
	writers      = 16
	readers      = 4
	namesPerW    = 40               // each writer cycles through its own names, so names get many versions
	warmUp       = 6 * time.Second  // storm before the kills
	minLoss      = 12 * time.Second // the loss lasts at least this long (and until the scheduler moved)
	afterRestart = 6 * time.Second  // storm after both killed processes are back
	takeoverMax  = 60 * time.Second // the scheduler must move within this
)

// sample is one request of the storm.
type sample struct {
	start time.Time
	dur   time.Duration
	write bool
	ok    bool
	node  int
	err   string
}

// ack is an acknowledged write: HTTP 200 with the version's id.
type ack struct {
	name, version, value string
}

// nameState is what a writer knows of one of its names: the last
// acknowledged write and the values of the failed writes after it, whose
// outcome is unknown (they may have committed).
type nameState struct {
	last    *ack
	unknown []string
}

type storm struct {
	c     *cluster
	token string
	alive []atomic.Bool // the nodes the writers and readers use (a balancer's view)
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	samples []sample
	acks    []ack
	names   map[string]*nameState

	liveCorrupt, liveStale atomic.Int64 // reads during the storm of an acked version: wrong value, 404
}

func newStorm(c *cluster, token string) *storm {
	s := &storm{c: c, token: token, alive: make([]atomic.Bool, len(c.nodes)), done: make(chan struct{}), names: map[string]*nameState{}}
	for i := range s.alive {
		s.alive[i].Store(true)
	}
	return s
}

// pick is the k-th request's node among the alive ones (round robin).
func (s *storm) pick(k int) *node {
	for j := range s.c.nodes {
		if n := s.c.nodes[(k+j)%len(s.c.nodes)]; s.alive[n.i].Load() {
			return n
		}
	}
	return s.c.nodes[k%len(s.c.nodes)]
}

func (s *storm) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *storm) record(sm sample) {
	s.mu.Lock()
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
}

func (s *storm) start() {
	for w := range writers {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.writer(w) }()
	}
	for r := range readers {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.reader(r) }()
	}
}

func (s *storm) stop() {
	close(s.done)
	s.wg.Wait()
}

// secretAnswer is the part of a SecretBundle the storm checks.
type secretAnswer struct {
	Value string `json:"value"`
	ID    string `json:"id"`
}

// version is the last path segment of a secret id.
func version(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }

func (s *storm) writer(w int) {
	vault := s.c.vaultURL("arca")
	rnd := make([]byte, 12)
	for k := 0; !s.stopped(); k++ {
		name := fmt.Sprintf("ha-w%02d-%02d", w, k%namesPerW)
		rand.Read(rnd)
		value := fmt.Sprintf("w%02d-k%06d-%s", w, k, hex.EncodeToString(rnd))
		n := s.pick(w + k)
		body, _ := json.Marshal(map[string]string{"value": value})
		start := time.Now()
		code, b, err := n.do(context.Background(), "PUT", vault+"/secrets/"+name+"?api-version=7.4", s.token, string(body))
		sm := sample{start: start, dur: time.Since(start), write: true, node: n.i}
		var got secretAnswer
		switch {
		case err != nil:
			sm.err = "transport: " + shortErr(err)
		case code != 200:
			sm.err = fmt.Sprintf("HTTP %d %s", code, errCode(b))
		case json.Unmarshal(b, &got) != nil || got.Value != value || !strings.Contains(got.ID, "/secrets/"+name+"/"):
			sm.err = "bad answer: " + string(b)
		default:
			sm.ok = true
		}
		s.mu.Lock()
		st := s.names[name]
		if st == nil {
			st = &nameState{}
			s.names[name] = st
		}
		if sm.ok {
			a := ack{name: name, version: version(got.ID), value: value}
			s.acks = append(s.acks, a)
			st.last, st.unknown = &a, nil
		} else {
			st.unknown = append(st.unknown, value)
		}
		s.samples = append(s.samples, sm)
		s.mu.Unlock()
	}
}

func (s *storm) reader(r int) {
	vault := s.c.vaultURL("arca")
	rng := mrand.New(mrand.NewPCG(uint64(r), uint64(time.Now().UnixNano())))
	for k := 0; !s.stopped(); k++ {
		s.mu.Lock()
		if len(s.acks) == 0 {
			s.mu.Unlock()
			time.Sleep(10 * time.Millisecond) // nothing to read yet
			continue
		}
		a := s.acks[rng.IntN(len(s.acks))]
		s.mu.Unlock()
		n := s.pick(r + k)
		start := time.Now()
		code, b, err := n.do(context.Background(), "GET", vault+"/secrets/"+a.name+"/"+a.version+"?api-version=7.4", s.token, "")
		sm := sample{start: start, dur: time.Since(start), node: n.i}
		var got secretAnswer
		switch {
		case err != nil:
			sm.err = "transport: " + shortErr(err)
		case code == 404:
			sm.err = "HTTP 404 for an acknowledged version"
			s.liveStale.Add(1)
		case code != 200:
			sm.err = fmt.Sprintf("HTTP %d %s", code, errCode(b))
		case json.Unmarshal(b, &got) != nil || got.Value != a.value || version(got.ID) != a.version:
			sm.err = "corrupted: " + string(b)
			s.liveCorrupt.Add(1)
		default:
			sm.ok = true
		}
		s.record(sm)
	}
}

func shortErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// errCode is the error code of an Azure error body, or its first bytes.
func errCode(b []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
		return e.Error.Code
	}
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}

// chaosResult is what the chaos run measured.
type chaosResult struct {
	acked, lost, corrupted int
	lines                  []string
}

// schedulerLeader is the node that last logged that it leads the
// background jobs, waiting (bounded) until one has.
func (c *cluster) schedulerLeader(since time.Time, among []*node, limit time.Duration) (*node, time.Time) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(limit)
	for {
		var best *node
		var bestAt time.Time
		for _, n := range among {
			n.mu.Lock()
			for _, at := range n.leading {
				if !at.Before(since) && at.After(bestAt) {
					best, bestAt = n, at
				}
			}
			n.mu.Unlock()
		}
		if best != nil {
			return best, bestAt
		}
		if time.Now().After(deadline) {
			return nil, time.Time{}
		}
		<-tick.C
	}
}

// runChaos runs the storm with kill -9 of the etcd leader and of the Arca
// node leading the background jobs, restarts both, then checks every
// acknowledged write on every node.
func runChaos(t *testing.T, c *cluster) chaosResult {
	var res chaosResult
	report := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		res.lines = append(res.lines, line)
		t.Log(line)
	}
	s := newStorm(c, c.nodes[0].token(c.resource("vault")))
	stormStart := time.Now()
	s.start()
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()
	warm := time.NewTimer(warmUp)
	<-warm.C

	sched, _ := c.schedulerLeader(time.Time{}, c.nodes, 30*time.Second)
	if sched == nil {
		t.Fatal("no node logged \"leading background jobs\" within 30s of the storm's start")
	}
	etcdLeader, err := c.etcd.Leader()
	if err != nil {
		t.Fatal(err)
	}
	tKill := time.Now()
	etcdLeader.Kill()
	s.alive[sched.i].Store(false)
	sched.kill()
	report("chaos: kill -9 of etcd %s (the raft leader) and of node%d (leading the background jobs) at +%v",
		etcdLeader.Name, sched.i, tKill.Sub(stormStart).Round(time.Millisecond))

	var survivors []*node
	for _, n := range c.nodes {
		if n != sched {
			survivors = append(survivors, n)
		}
	}
	next, at := c.schedulerLeader(tKill, survivors, takeoverMax)
	if next == nil {
		t.Errorf("the background jobs did not move to a surviving node within %v of the kill", takeoverMax)
	} else {
		report("chaos: scheduler moved from node%d to node%d %v after the kill (lease TTL bound)", sched.i, next.i, at.Sub(tKill).Round(time.Millisecond))
	}
	if rest := minLoss - time.Since(tKill); rest > 0 {
		<-time.After(rest)
	}
	tRestart := time.Now()
	c.etcd.Restart(etcdLeader)
	etcdBack := time.Since(tRestart)
	sched.start()
	nodeBack := sched.waitHealthy(90 * time.Second)
	s.alive[sched.i].Store(true)
	tRestored := time.Now()
	report("chaos: restarted etcd %s (healthy after %v) and node%d (healthy after %v); loss window %v",
		etcdLeader.Name, etcdBack.Round(time.Millisecond), sched.i, nodeBack.Round(time.Millisecond), tRestored.Sub(tKill).Round(time.Millisecond))
	after := time.NewTimer(afterRestart)
	<-after.C
	s.stop()
	stopped = true
	stormEnd := time.Now()

	// Figures of the storm. A request belongs to the phase in which it
	// completed: one in flight at the kill is part of the failover.
	type phase struct {
		name     string
		from, to time.Time
	}
	phases := []phase{{"before", stormStart, tKill}, {"loss", tKill, tRestored}, {"after", tRestored, stormEnd.Add(time.Minute)}}
	in := func(sm sample, p phase) bool {
		end := sm.start.Add(sm.dur)
		return !end.Before(p.from) && end.Before(p.to)
	}
	for _, p := range phases {
		var wr, rd []time.Duration
		var wok, werr, rok, rerr int
		kinds := map[string]int{}
		longest := map[string]time.Duration{}
		readsBy := map[int]int{}
		var okEnds []time.Time // completions of successful writes, for the longest pause
		for _, sm := range s.samples {
			if !in(sm, p) {
				continue
			}
			op, who := "read", fmt.Sprintf("node%d", sm.node)
			if sm.node == sched.i && p.name == "loss" {
				who += " (killed)"
			}
			if sm.write {
				op = "write"
				wr = append(wr, sm.dur)
				if sm.ok {
					wok++
					okEnds = append(okEnds, sm.start.Add(sm.dur))
				} else {
					werr++
				}
			} else {
				rd = append(rd, sm.dur)
				if sm.ok {
					rok++
					readsBy[sm.node]++
				} else {
					rerr++
				}
			}
			if !sm.ok {
				k := fmt.Sprintf("%s to %s: %s", op, who, sm.err)
				kinds[k]++
				longest[k] = max(longest[k], sm.dur)
			}
		}
		to := p.to
		if to.After(stormEnd) {
			to = stormEnd
		}
		secs := to.Sub(p.from).Seconds()
		report("chaos: %-6s %5.1fs  writes %5d ok %3d failed (%4.0f/s, p50 %v, p99 %v)  reads %5d ok %3d failed (%4.0f/s, p50 %v, p99 %v)",
			p.name, secs, wok, werr, float64(wok)/secs, pct(wr, 0.50), pct(wr, 0.99), rok, rerr, float64(rok)/secs, pct(rd, 0.50), pct(rd, 0.99))
		if len(kinds) > 0 {
			var kk []string
			for k, v := range kinds {
				kk = append(kk, fmt.Sprintf("%d× %s (longest %v)", v, k, longest[k].Round(time.Millisecond)))
			}
			slices.Sort(kk)
			report("chaos: %-6s errors: %s", p.name, strings.Join(kk, "; "))
		}
		if p.name != "loss" {
			continue
		}
		res.lines = append(res.lines, fmt.Sprintf("p99 during the loss: writes %v, reads %v (all requests, failed ones included)", pct(wr, 0.99), pct(rd, 0.99)))
		for _, n := range survivors {
			if readsBy[n.i] == 0 {
				t.Errorf("node%d served no read during the loss window", n.i)
			}
		}
		// The longest time no write was acknowledged, from the kill on.
		slices.SortFunc(okEnds, func(a, b time.Time) int { return a.Compare(b) })
		prev, pause := tKill, time.Duration(0)
		for _, e := range append(okEnds, tRestored) {
			pause, prev = max(pause, e.Sub(prev)), e
		}
		report("chaos: longest time without an acknowledged write during the loss: %v", pause.Round(time.Millisecond))
	}
	// When the survivors were serving again: the end of the last failed
	// request to a surviving node.
	var lastFail time.Time
	for _, sm := range s.samples {
		if end := sm.start.Add(sm.dur); !sm.ok && sm.node != sched.i && !end.Before(tKill) && end.Before(tRestored) && end.After(lastFail) {
			lastFail = end
		}
	}
	if lastFail.IsZero() {
		report("chaos: time to recover: 0 (no request to a surviving node failed after the kill)")
	} else {
		report("chaos: time to recover: %v (the last failed request to a surviving node ended then, after the kill)", lastFail.Sub(tKill).Round(time.Millisecond))
	}
	for _, n := range c.nodes {
		if k := n.errorsBetween(tKill, tRestored); k > 0 {
			report("chaos: node%d logged %d errors during the loss window (%s)", n.i, k, n.logPath())
		}
	}
	if k := s.liveCorrupt.Load(); k > 0 {
		t.Errorf("%d reads during the storm returned another value than the acknowledged one", k)
	}
	if k := s.liveStale.Load(); k > 0 {
		t.Errorf("%d reads during the storm answered 404 for an acknowledged version", k)
	}

	res.acked = len(s.acks)
	res.lost, res.corrupted = verify(t, c, s, report)
	return res
}

// verify reads every acknowledged version from every node, and every
// name's current version, once the cluster is whole again.
func verify(t *testing.T, c *cluster, s *storm, report func(string, ...any)) (lost, corrupted int) {
	start := time.Now()
	vault := c.vaultURL("arca")
	type job struct {
		a ack
		n *node
	}
	jobs := make(chan job)
	var mu sync.Mutex
	lostSet, corruptSet := map[ack]bool{}, map[ack]bool{}
	var unreadable int
	var examples []string
	note := func(set map[ack]bool, a ack, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if set != nil {
			set[a] = true
		} else {
			unreadable++
		}
		if len(examples) < 10 {
			examples = append(examples, msg)
		}
	}
	// get retries transport errors and 5xx for up to 30 s (the cluster was
	// just restored); 200 and 4xx answers are final.
	get := func(n *node, u string) (int, []byte, error) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, b, err := n.do(context.Background(), "GET", u, s.token, "")
			if (err == nil && code < 500) || time.Now().After(deadline) {
				return code, b, err
			}
			<-time.After(100 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				code, b, err := get(j.n, vault+"/secrets/"+j.a.name+"/"+j.a.version+"?api-version=7.4")
				var got secretAnswer
				switch {
				case err != nil || code >= 500:
					note(nil, j.a, fmt.Sprintf("node%d %s/%s: unreadable: %d %v", j.n.i, j.a.name, j.a.version, code, err))
				case code == 404:
					note(lostSet, j.a, fmt.Sprintf("node%d %s/%s: lost (404)", j.n.i, j.a.name, j.a.version))
				case code != 200 || json.Unmarshal(b, &got) != nil:
					note(nil, j.a, fmt.Sprintf("node%d %s/%s: %d %s", j.n.i, j.a.name, j.a.version, code, b))
				case got.Value != j.a.value || version(got.ID) != j.a.version:
					note(corruptSet, j.a, fmt.Sprintf("node%d %s/%s: corrupted: got %q (%s), acknowledged %q", j.n.i, j.a.name, j.a.version, got.Value, got.ID, j.a.value))
				}
			}
		}()
	}
	for _, a := range s.acks {
		for _, n := range c.nodes {
			jobs <- job{a, n}
		}
	}
	close(jobs)
	wg.Wait()

	// The current version of every name is its last acknowledged write,
	// unless a later write failed with an unknown outcome.
	var current int
	for name, st := range s.names {
		for _, n := range c.nodes {
			code, b, err := get(n, vault+"/secrets/"+url.PathEscape(name)+"?api-version=7.4")
			var got secretAnswer
			ok := false
			switch {
			case err != nil || code >= 500:
			case code == 404:
				ok = st.last == nil
			case code == 200 && json.Unmarshal(b, &got) == nil:
				ok = (st.last != nil && got.Value == st.last.value && version(got.ID) == st.last.version) ||
					slices.Contains(st.unknown, got.Value)
			}
			if !ok {
				current++
				if len(examples) < 10 {
					examples = append(examples, fmt.Sprintf("node%d %s: current version %d %.120s, last acknowledged %+v", n.i, name, code, b, st.last))
				}
			}
		}
	}
	report("verify: %d acknowledged versions × %d nodes and %d names' current versions read in %v: %d lost, %d corrupted, %d unreadable, %d wrong current versions",
		len(s.acks), len(c.nodes), len(s.names), time.Since(start).Round(time.Millisecond), len(lostSet), len(corruptSet), unreadable, current)
	for _, e := range examples {
		t.Error(e)
	}
	if unreadable > 0 || current > 0 {
		t.Errorf("%d reads unreadable, %d wrong current versions", unreadable, current)
	}
	return len(lostSet), len(corruptSet)
}

// pct is the p-quantile of ds (nearest rank), rounded for reading.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	i = max(0, min(i, len(s)-1))
	d := s[i]
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
