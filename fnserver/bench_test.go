package fnserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fnproject/fn_go/modelsv2"

	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

var benchBody = []byte(`{"hello":"world","n":42}`)

// latencies collects per-call durations and reports p50/p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	pct := func(p float64) float64 {
		return float64(l.d[int(float64(len(l.d)-1)*p)].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "calls/s")
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
}

func post(b *testing.B, c *http.Client, url string) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(benchBody))
	if err != nil {
		b.Fatalf("invoke: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, benchBody) {
		b.Fatalf("invoke = %d %q %v", resp.StatusCode, body, err)
	}
}

// BenchmarkInvoke measures POST /invoke on the echo function, hot.
func BenchmarkInvoke(b *testing.B) {
	for _, callers := range []int{1, 16} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			ts := start(b, fnserver.Config{MaxProcsPerFn: callers})
			app := ts.mkApp(b, "bench", nil)
			fn := ts.mkFn(b, app.ID, &modelsv2.Fn{Name: "echo", Image: fileImage(bins.echo)})
			url := invokeURL(b, fn)
			c := benchClient()
			// Warm every process the run will use.
			var wg sync.WaitGroup
			for range callers {
				wg.Add(1)
				go func() { defer wg.Done(); post(b, c, url) }()
			}
			wg.Wait()

			var lat latencies
			var next atomic.Int64
			b.ResetTimer()
			began := time.Now()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						t := time.Now()
						post(b, c, url)
						lat.add(time.Since(t))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			lat.report(b, time.Since(began))
		})
	}
}

// BenchmarkDirectSocket calls the echo function's socket directly, as the
// Fn agent does, without the server: the baseline for the server's overhead.
func BenchmarkDirectSocket(b *testing.B) {
	dir, err := os.MkdirTemp("", "fnb")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "lsnr.sock")
	cmd := exec.Command(bins.echo)
	cmd.Env = []string{"FN_LISTENER=unix:" + sock, "FN_FORMAT=http-stream"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 5000 {
			b.Fatal("echo did not create its socket")
		}
		time.Sleep(time.Millisecond)
	}
	c := &http.Client{Transport: fncontract.Transport(sock)}
	call := func() {
		req, _ := http.NewRequest("POST", "http://localhost/call", bytes.NewReader(benchBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Fn-Call-Id", "bench")
		req.Header.Set("Fn-Deadline", time.Now().Add(30*time.Second).UTC().Format(time.RFC3339))
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, benchBody) {
			b.Fatalf("direct call = %d %q", resp.StatusCode, body)
		}
	}
	call()
	var lat latencies
	b.ResetTimer()
	began := time.Now()
	for range b.N {
		t := time.Now()
		call()
		lat.add(time.Since(t))
	}
	b.StopTimer()
	lat.report(b, time.Since(began))
}

// BenchmarkColdStart measures the first call of a new fn: process start,
// socket handshake and the call.
func BenchmarkColdStart(b *testing.B) {
	ts := start(b, fnserver.Config{})
	app := ts.mkApp(b, "cold", nil)
	c := benchClient()
	var lat latencies
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		fn := ts.mkFn(b, app.ID, &modelsv2.Fn{Name: fmt.Sprintf("echo%d", i), Image: fileImage(bins.echo), IdleTimeout: ptrI32(1)})
		url := invokeURL(b, fn)
		b.StartTimer()
		t := time.Now()
		post(b, c, url)
		d := time.Since(t)
		lat.add(d)
		total += d
	}
	b.StopTimer()
	lat.report(b, total)
}

func ptrI32(v int32) *int32 { return &v }
