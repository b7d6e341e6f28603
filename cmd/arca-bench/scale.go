package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/loadgen"
)

// scale compares a vault of n secrets with one of 1,000: get p99, list page
// p99, restart time and RSS.
func (e *benchEnv) scale(ctx context.Context, tmp string, n int) error {
	fmt.Fprintf(e.out, "## Scale: %d secrets vs 1,000\n\nLatency is measured with one connection (no queueing), random names and random list positions.\n\n", n)
	fmt.Fprintln(e.out, "| secrets | seed s | restart ms | get p99 ms | list page p99 ms | RSS MiB |")
	fmt.Fprintln(e.out, "|---:|---:|---:|---:|---:|---:|")
	var p99 = map[int][2]time.Duration{}
	for _, count := range []int{1000, n} {
		data := filepath.Join(tmp, fmt.Sprintf("scale-%d", count))
		t0 := time.Now()
		if err := seed(ctx, data, count); err != nil {
			return err
		}
		seedTime := time.Since(t0)
		port, _ := freePort()
		p, err := startChild(ctx, e.o.Arca, filepath.Join(tmp, fmt.Sprintf("scale-%d.log", count)), "serve", "--data", data, "--port", strconv.Itoa(port), "--listen", "127.0.0.1", "--log-level", "warn")
		if err != nil {
			return err
		}
		p.port = port
		t1 := time.Now()
		if err := e.connect(ctx, data, p, port); err != nil {
			p.stop()
			return err
		}
		restart := time.Since(t1)
		names := func(i int) string { return fmt.Sprintf("s%08d", i%count) }
		lat := e.lg(port)
		lat.Conns = 1
		get, err := loadgen.Run(ctx, lat, func(ctx context.Context, c *http.Client, w, seq int) error {
			_, err := e.request(ctx, c, "GET", "/secrets/"+names((w*7919+seq*104729)%count)+"/?api-version=2026-04-01", "", 200)
			return err
		})
		if err != nil {
			p.stop()
			return err
		}
		list, err := loadgen.Run(ctx, lat, func(ctx context.Context, c *http.Client, w, seq int) error {
			tok := base64.RawURLEncoding.EncodeToString([]byte(names((w*31 + seq*7877) % count)))
			_, err := e.request(ctx, c, "GET", "/secrets?api-version=2026-04-01&maxresults=25&$skiptoken="+tok, "", 200)
			return err
		})
		if err != nil {
			p.stop()
			return err
		}
		rss := p.peakRSS()
		p.stop()
		p99[count] = [2]time.Duration{get.Percentile(99), list.Percentile(99)}
		fmt.Fprintf(e.out, "| %d | %.1f | %d | %s | %s | %.0f |\n", count, seedTime.Seconds(), restart.Milliseconds(),
			ms(get.Percentile(99)), ms(list.Percentile(99)), float64(rss)/(1<<20))
		if count == n {
			small := p99[1000]
			fmt.Fprintf(e.out, "\nget p99 ratio %d/1000: %.2f (target ≤ 1.2: %s); list page p99 %s ms (target < 5: %s); restart %d ms (target < 2000: %s); RSS %.0f MiB (target < 1024: %s)\n\n",
				n, float64(get.Percentile(99))/math.Max(1, float64(small[0])), yes(float64(get.Percentile(99)) <= 1.2*float64(small[0])),
				ms(list.Percentile(99)), yes(list.Percentile(99) < 5*time.Millisecond), restart.Milliseconds(), yes(restart < 2*time.Second),
				float64(rss)/(1<<20), yes(rss < 1<<30))
		}
	}
	return nil
}

// seed initialises a data directory and loads count secrets directly into
// its default vault (not over HTTP), in batches.
func seed(ctx context.Context, data string, count int) error {
	a, err := deployment.Open(ctx, data, deployment.Options{Clock: arca.SystemClock{}})
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Vaults.Vault(ctx, a.Facts.DefaultVault)
	if err != nil {
		return err
	}
	const batch = 10000
	names := make([]string, 0, batch)
	for i := 0; i < count; i++ {
		names = append(names, fmt.Sprintf("s%08d", i))
		if len(names) == batch || i == count-1 {
			if err := a.Secrets.Seed(ctx, v, names, strings.Repeat("v", 64)); err != nil {
				return err
			}
			names = names[:0]
		}
	}
	return nil
}
