package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/loadgen"
)

// bruteForce starts n clients that send wrong client secrets for the
// development client id to the token endpoint as fast as they are answered,
// each on its own connection, until stop is called. stop reports how many
// attempts were made and how many were refused by the throttle (429).
func (e *benchEnv) bruteForce(ctx context.Context, n int, clientID string) (stop func() (attempts, throttled int64)) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var attempts, throttled atomic.Int64
	u := fmt.Sprintf("https://localhost:%d/adfs/oauth2/token", e.arca.port)
	for w := range n {
		c := loadgen.Client(loadgen.Options{Port: e.arca.port, RootCAs: e.roots})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
					"client_secret": {"guess-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)}, "scope": {fmt.Sprintf("https://vault.localhost:%d/.default", e.arca.port)}}
				req, _ := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := c.Do(req)
				if err != nil {
					continue
				}
				loadgen.Drain(resp)
				attempts.Add(1)
				if resp.StatusCode == http.StatusTooManyRequests {
					throttled.Add(1)
				}
			}
		}()
	}
	return func() (int64, int64) {
		cancel()
		wg.Wait()
		return attempts.Load(), throttled.Load()
	}
}

// underBruteForce measures get secret while 8 clients guess client secrets,
// and reports its p50 against the quiet run's.
func (e *benchEnv) underBruteForce(ctx context.Context, p *proc, data string, op loadgen.Op) (row, error) {
	d, err := deployment.ReadFacts(data)
	if err != nil {
		return row{}, err
	}
	stop := e.bruteForce(ctx, 8, d.DevClientID)
	r, err := e.measure(ctx, target{nodes: []*proc{p}}, "get secret, 8 clients guessing secrets", op)
	attempts, throttled := stop()
	if err != nil {
		return row{}, err
	}
	fmt.Fprintf(e.out, "Token endpoint brute force during the run: %d wrong secrets sent, %d refused with 429 before any check.\n\n", attempts, throttled)
	return r, nil
}
