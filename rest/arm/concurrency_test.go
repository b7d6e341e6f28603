package arm_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// armPolicyIDs returns the objectIds of the access policies of a vault
// answer, in order.
func armPolicyIDs(v map[string]any) []string {
	var out []string
	ps, _ := armProp(v, "properties", "accessPolicies").([]any)
	for _, p := range ps {
		m, _ := p.(map[string]any)
		id, _ := m["objectId"].(string)
		out = append(out, id)
	}
	return out
}

// armFailures summarises failures collected by goroutines: how many, and
// the first few (sorted, shortened).
func armFailures(failures []string) string {
	sort.Strings(failures)
	out := fmt.Sprintf("%d failures", len(failures))
	for i, f := range failures {
		if i == 5 {
			out += "\n\t…"
			break
		}
		if len(f) > 300 {
			f = f[:300] + "…"
		}
		out += "\n\t" + f
	}
	return out
}

// TestARMConcurrentAccessPolicies: accessPolicies/add, accessPolicies/remove
// and PATCH of the same vault, all at once, end in the state some serial
// order of them gives: every added policy is there once, every removed one
// is gone, the tags are one PATCH's. A policy whose removal has been
// answered never shows again, not in the final state and not in any read
// made after the answer (a write from an older read must not bring it back).
func TestARMConcurrentAccessPolicies(t *testing.T) {
	e := newARMEnv(t)
	const n = 12
	policy := func(oid string) string {
		return `{"tenantId":"` + e.tenant + `","objectId":"` + oid + `","permissions":{"secrets":["get","list"]}}`
	}
	for round := 0; round < 4; round++ {
		name := fmt.Sprintf("race%d", round)
		path := "resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name
		var initial []string
		for i := 0; i < n; i++ {
			initial = append(initial, policy(fmt.Sprintf("old-%d", i)))
		}
		e.call("PUT", path, `{"location":"westus","properties":{"tenantId":"`+e.tenant+`","sku":{"family":"A","name":"standard"},"accessPolicies":[`+
			strings.Join(initial, ",")+`]}}`, 200)

		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			removed  = map[string]bool{} // removals answered 200
			failures []string
			done     atomic.Bool
		)
		fail := func(format string, args ...any) {
			mu.Lock()
			failures = append(failures, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(3)
			go func() {
				defer wg.Done()
				<-start
				oid := fmt.Sprintf("old-%d", i)
				if code, _, raw := e.send("PUT", path+"/accessPolicies/remove", `{"properties":{"accessPolicies":[`+policy(oid)+`]}}`); code != 200 {
					fail("remove %s: %d %s", oid, code, raw)
					return
				}
				mu.Lock()
				removed[oid] = true
				mu.Unlock()
			}()
			go func() {
				defer wg.Done()
				<-start
				oid := fmt.Sprintf("new-%d", i)
				if code, _, raw := e.send("PUT", path+"/accessPolicies/add", `{"properties":{"accessPolicies":[`+policy(oid)+`]}}`); code != 200 {
					fail("add %s: %d %s", oid, code, raw)
				}
			}()
			go func() {
				defer wg.Done()
				<-start
				if code, _, raw := e.send("PATCH", path, fmt.Sprintf(`{"tags":{"writer":"%d"},"properties":{"enabledForDeployment":true}}`, i)); code != 200 {
					fail("patch %d: %d %s", i, code, raw)
				}
			}()
		}
		// A reader: whatever removal was answered before a GET began is
		// absent from that GET's answer.
		reads := make(chan struct{})
		go func() {
			defer close(reads)
			for !done.Load() {
				mu.Lock()
				gone := make([]string, 0, len(removed))
				for oid := range removed {
					gone = append(gone, oid)
				}
				mu.Unlock()
				code, v, raw := e.send("GET", path, "")
				if code != 200 {
					fail("GET: %d %s", code, raw)
					return
				}
				have := map[string]bool{}
				for _, id := range armPolicyIDs(v) {
					have[id] = true
				}
				for _, oid := range gone {
					if have[oid] {
						fail("the removed policy %s is back in a later read", oid)
					}
				}
			}
		}()
		close(start)
		wg.Wait()
		done.Store(true)
		<-reads
		if len(failures) > 0 {
			t.Fatalf("round %d: %s", round, armFailures(failures))
		}

		final := e.call("GET", path, "", 200)
		ids := armPolicyIDs(final)
		sort.Strings(ids)
		var want []string
		for i := 0; i < n; i++ {
			want = append(want, fmt.Sprintf("new-%d", i))
		}
		sort.Strings(want)
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Fatalf("round %d: final policies %v, want exactly %v (no serial order of the calls gives it)", round, ids, want)
		}
		if w, _ := armProp(final, "tags", "writer").(string); w == "" || armProp(final, "properties", "enabledForDeployment") != true {
			t.Fatalf("round %d: final tags %v, enabledForDeployment %v", round, final["tags"], armProp(final, "properties", "enabledForDeployment"))
		}
		// The data plane's view (the service's cache) is the same.
		v, err := e.srv.Vaults.Vault(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.AccessPolicies) != n {
			t.Fatalf("round %d: the service has %d policies: %+v", round, len(v.AccessPolicies), v.AccessPolicies)
		}
	}
}

// TestARMConcurrentPurgeProtection: purge protection, once enabled, stays
// enabled whatever PATCHes run at the same time: a PATCH that asks for
// enablePurgeProtection false, or changes only tags from an older read,
// never switches it off. Every PATCH that asks for false after the enabling
// one was answered is refused with Azure's 400.
func TestARMConcurrentPurgeProtection(t *testing.T) {
	e := newARMEnv(t)
	for round := 0; round < 6; round++ {
		name := fmt.Sprintf("pp%d", round)
		path := "resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name
		e.putVault(name, "90")

		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
			enabled  atomic.Bool // the enabling PATCH was answered
		)
		fail := func(format string, args ...any) {
			mu.Lock()
			failures = append(failures, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		start := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if code, _, raw := e.send("PATCH", path, `{"properties":{"enablePurgeProtection":true}}`); code != 200 {
				fail("enable: %d %s", code, raw)
				return
			}
			enabled.Store(true)
		}()
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for j := 0; j < 3; j++ {
					body := fmt.Sprintf(`{"tags":{"w":"%d-%d"},"properties":{"enablePurgeProtection":false}}`, i, j)
					if i%2 == 1 {
						body = fmt.Sprintf(`{"tags":{"w":"%d-%d"}}`, i, j)
					}
					after := enabled.Load()
					code, got, raw := e.send("PATCH", path, body)
					switch {
					case i%2 == 1 && code != 200:
						fail("tags PATCH: %d %s", code, raw)
					case i%2 == 0 && after && (code != 400 || armCode(got) != "BadRequest"):
						fail("disabling PATCH after the enabling one: %d %s", code, raw)
					case i%2 == 0 && code != 200 && code != 400:
						fail("disabling PATCH: %d %s", code, raw)
					}
					if code == 200 && after && armProp(got, "properties", "enablePurgeProtection") != true {
						fail("PATCH answered after enabling shows purge protection off: %s", raw)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("round %d: %s", round, armFailures(failures))
		}
		if got := e.call("GET", path, "", 200); armProp(got, "properties", "enablePurgeProtection") != true {
			t.Fatalf("round %d: purge protection is off again: %v", round, got["properties"])
		}
		if v, err := e.srv.Vaults.Vault(t.Context(), name); err != nil || !v.PurgeProtection {
			t.Fatalf("round %d: stored vault %+v %v", round, v, err)
		}
	}
}
